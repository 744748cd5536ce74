"""The consent gate: the stored state, this run's inputs, and the rules' verdict on them.

It reads and writes the state file (through StateStore and State's pure transitions; the
user's choices are stored here), takes the run's inputs (its analytics flag, the environment,
the terminal) and asks the pure `rules.decide`. It never raises: what fails is contained, and a
choice that could not be stored comes back as one line saying why.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blackboxai.analytics.consent.rules import Decision, Stored, decide, do_not_track, in_ci
from blackboxai.analytics.consent.state import (
    MARKER_FILE,
    STATE_FILE,
    State,
    StateError,
    StateStore,
)
from blackboxai.analytics.contain import Containment, one_line

if TYPE_CHECKING:
    from blackboxai.analytics.consent.catalogue import Item, Withhold

__all__ = ["CatalogueSource", "Gate"]

CatalogueSource = Mapping[str, Any] | str | os.PathLike[str]


class Gate:
    """Whether this run may report, from the stored consent and the run's own inputs.

    Its methods take the run's inputs and return results: a choice returns None when it was
    stored, or one line saying why not. It keeps only what it read last (`state`, `decision`)."""

    def __init__(
        self,
        data_dir: Path | str,
        contained: Containment,
        *,
        env: Mapping[str, str] | None,
        catalogue: CatalogueSource | None,
        policy: str | None = None,
    ) -> None:
        self._data_dir = data_dir  # or why there is none (no HOME, data_dir=""): nothing stored
        self._contained = contained
        self._policy = policy  # why the machine's policy turns analytics off, if it does
        self._store: StateStore | None = None
        self._env = env  # None: the process's own environment, read when deciding
        self.decision: Decision | None = None
        self._catalogue = None if catalogue is None else self._read(catalogue)
        self._withholders: dict[tuple[bool, int, tuple[str, ...]], Withhold] = {}
        self.state = self.load()

    # -- the state file ---------------------------------------------------------------------------
    @property
    def store(self) -> StateStore:
        """The state file's store; LookupError when the data directory is unknown."""
        if self._store is None:
            if isinstance(self._data_dir, str):
                raise LookupError(self._data_dir)
            self._store = StateStore(self._data_dir)
        return self._store

    def load(self) -> State:
        """The stored state, read afresh; never raises (no home directory at all is odd)."""
        try:
            self.state = self.store.load()
        except Exception as exc:
            self._contained.record("state", exc)
            why = str(exc) if isinstance(exc, LookupError) else type(exc).__name__
            self.state = State(problem=f"it cannot be located ({why})")
        return self.state

    def _named(self, file: str) -> str:
        """A file of the data dir for a message: its path, or its name alone when the
        directory cannot be located (data_dir="", no home directory)."""
        return file if isinstance(self._data_dir, str) else str(self._data_dir / file)

    def change(
        self, transition: Callable[[State], State], *, lock_wait: float | None = None
    ) -> str | None:
        """Store one of State's transitions: an explicit choice, so an unusable file is
        replaced. None when stored; else one line saying why it could not be."""
        try:
            self.state = self.store.update(transition, overwrite_odd=True, lock_wait=lock_wait)
        except StateError as exc:
            return str(exc)
        except Exception as exc:
            self._contained.record("state", exc)
            why = str(exc) if isinstance(exc, LookupError) else type(exc).__name__
            return f"cannot store analytics settings: {why}"
        return None

    # -- the user's choices: State's transitions, stored -------------------------------------------
    def opt_in(self) -> tuple[State | None, str | None]:
        """Store consent to the current catalogue; an id is made now if there is none. Returns
        the state it replaced, as read under the lock (another process may have opted in since
        this one last read it: a message about the change must be about that one), and why it
        could not be stored. Refused while the machine's policy turns analytics off: nothing can
        turn them on, and a consent stored anyway would start reporting the day that policy
        goes, long after the user was told it had no effect."""
        if self._policy is not None:
            return None, f"analytics are {self._policy}"
        version, new, found = self.version(), str(uuid.uuid4()), []

        def consent(state: State) -> State:
            found.append(state)
            return state.consented(version, new)

        error = self.change(consent)
        return (found[-1] if found and error is None else None), error

    def reset_id(self) -> str | None:
        """Store a new anonymous id (if there was one) and a new generation. Nothing is written
        when nothing is stored (no file is written before consent)."""
        state = self.load()  # another process may have changed it since
        if state.problem is not None:  # it might hold an opt-out we cannot read: keep it
            return (
                f"{self._named(STATE_FILE)} is unusable ({state.problem}); "
                "run `blackboxai analytics off` to replace it with an opt-out"
            )
        if state.stored is Stored.FRESH:
            return None
        new = str(uuid.uuid4())
        return self.change(lambda s: s.id_reset(new))

    def review(self, accept: bool) -> str | None:
        """Store the answer to what the catalogue added: Yes agrees to the current version; No
        remembers the unseen entries as declined. Only over stored consent."""
        if self.load().stored is not Stored.CONSENTED:  # nothing is written before consent
            return "there is no consent to extend: opt in first"
        version = self.version()
        declined = () if accept else tuple(item.name for item in self.unseen())
        return self.change(lambda s: s.reviewed(version, declined))

    def new_generation(self) -> str | None:
        """Before waiting events are deleted: store a new generation, so none of them can come
        back. Without consent there is none to move on; an unusable file is said (it may hold
        consent we cannot read)."""
        state = self.load()
        if state.stored is Stored.CONSENTED:
            return self.change(State.cleared)
        if state.stored is Stored.ODD:
            return f"{self._named(STATE_FILE)} is unusable ({state.problem})"
        return None

    def opt_out(self, clear: Callable[[], object]) -> tuple[bool, str | None]:
        """Store a permanent opt-out so that it lands whatever else is broken; returns whether
        it landed, and what could not be written. The marker first (no lock, no space): every
        reader takes it as an opt-out at once. Then the queue is deleted (`clear`: that needs
        no space and frees some), and the opt-out stored, tried again once without waiting for
        the lock. Stored, it replaces the marker; if not, the marker keeps it (landed, with the
        reason). Not landed only when neither could be written: then only this run is off."""
        state, marked = self.load(), None
        if state.stored is not Stored.DISABLED:  # else the file or the marker holds it already
            marked = self._hold_off()
        clear()
        if state.stored is Stored.DISABLED and not state.marker:  # stored: nothing to write
            return True, None
        error = self.change(State.opted_out)
        if error is not None:
            error = self.change(State.opted_out, lock_wait=0)
        if error is None:
            return True, None
        if self.load().stored is not Stored.DISABLED:  # the marker could not be written either
            return False, one_line(error, marked)
        if not self.state.marker:  # the file held it already: nothing needed writing
            return True, None
        return True, error

    def _hold_off(self) -> str | None:
        try:
            self.store.hold_off()
        except StateError as exc:
            return str(exc)
        except Exception as exc:
            self._contained.record("state", exc)
            why = str(exc) if isinstance(exc, LookupError) else type(exc).__name__
            return f"cannot write {self._named(MARKER_FILE)}: {why}"
        return None

    # -- the verdict ------------------------------------------------------------------------------
    def decide(self, flag: bool | None, flag_source: str, tty: bool | None) -> Decision:
        """The rules for the state as last read and this run's inputs: its analytics flag (None:
        not given), where the flag came from, and whether a terminal is there to ask on (None:
        whether stdin and stdout are terminals)."""
        env = os.environ if self._env is None else self._env
        if tty is None:
            tty = _isatty(sys.stdin) and _isatty(sys.stdout)
        self.decision = decide(
            self.state.stored,
            flag,
            flag_source=flag_source,
            dnt=do_not_track(env),
            ci=in_ci(env),
            tty=tty,
            unseen=bool(self.unseen()),
            policy=self._policy,
        )
        return self.decision

    # -- the catalogue consent covers ----------------------------------------------------------
    @property
    def catalogue(self) -> dict[str, Any]:
        if self._catalogue is None:
            from blackboxai.analytics.consent.catalogue import load_catalogue

            self._catalogue = load_catalogue()
        return self._catalogue

    def _read(self, source: CatalogueSource) -> dict[str, Any]:
        from blackboxai.analytics.consent.catalogue import EMPTY, read_catalogue

        try:
            return read_catalogue(source)
        except Exception as exc:  # fail closed: with nothing described, nothing is sent
            self._contained.record("catalogue", exc)
            return EMPTY

    def version(self) -> int:
        from blackboxai.analytics.consent.catalogue import catalogue_version

        return catalogue_version(self.catalogue)

    def unseen(self) -> list[Item]:
        """Entries newer than what the user agreed to, and not declined (consent only)."""
        if self.state.stored is not Stored.CONSENTED:
            return []
        from blackboxai.analytics.consent.catalogue import new_items

        return new_items(self.state.catalogue_version, self.state.declined, self.catalogue)

    def withholder(self, policy_alone: bool = False) -> Withhold | None:
        """What of an event may not be sent: what the user has not agreed to. Without consent,
        nothing is sent, except what the machine's policy alone sends (`policy_alone`). The
        organisation decided that for blackboxai's own catalogue, the one its docs publish,
        whatever catalogue an embedding program passes: what that one does not describe may
        not be sent."""
        from blackboxai.analytics.consent.catalogue import (
            catalogue_version,
            load_catalogue,
            withholder,
        )

        consented = self.state.stored is Stored.CONSENTED
        if not consented and not policy_alone:
            return None
        key = (consented, self.state.catalogue_version, self.state.declined)
        if key not in self._withholders:
            if consented:  # the catalogue this object was given, as far as the user agreed
                made = withholder(self.catalogue, self.state.catalogue_version, self.state.declined)
            else:
                ours = load_catalogue()
                made = withholder(ours, catalogue_version(ours), ())
            self._withholders[key] = made
        return self._withholders[key]


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:
        return False
