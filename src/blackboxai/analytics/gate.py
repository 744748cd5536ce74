"""The consent gate: the stored state, this run's inputs, and the rules' verdict on them.

It reads and writes the state file (through StateStore and State's pure transitions; the
user's choices are stored here), gathers the run's inputs (its analytics flag, the environment,
the terminal) and asks the pure `consent.decide`. It never raises: what fails is contained and
said in `last_error`.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blackboxai.analytics.consent import Decision, Stored, decide, do_not_track, in_ci
from blackboxai.analytics.contain import Containment
from blackboxai.analytics.state import State, StateError, StateStore

if TYPE_CHECKING:
    from blackboxai.analytics.catalogue import Item
    from blackboxai.analytics.pipeline import Withhold

__all__ = ["CatalogueSource", "Gate"]

CatalogueSource = Mapping[str, Any] | str | os.PathLike[str]


class Gate:
    """Whether this run may report, from the stored consent and the run's own inputs."""

    def __init__(
        self,
        data_dir: Callable[[], Path],
        contained: Containment,
        *,
        env: Mapping[str, str] | None,
        tty: bool | None,
        catalogue: CatalogueSource | None,
    ) -> None:
        self._data_dir = data_dir
        self._contained = contained
        self._store: StateStore | None = None
        self.env = env  # None: the process's own environment, read when deciding
        self.tty = tty  # None: whether stdin and stdout are terminals, checked when deciding
        self.flag: bool | None = None  # the run's --analytics (True) or --no-analytics (False)
        self.flag_source = "--analytics"
        self.decision: Decision | None = None
        self.last_error: str | None = None
        self._catalogue = None if catalogue is None else self._read(catalogue)
        self._withholders: dict[tuple[int, tuple[str, ...]], Withhold] = {}
        self.state = self.load()

    # -- the state file ---------------------------------------------------------------------------
    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore(self._data_dir())
        return self._store

    def load(self) -> State:
        """The stored state, read afresh; never raises (no home directory at all is odd)."""
        try:
            self.state = self.store.load()
        except Exception as exc:
            self._contained.record("state", exc)
            self.state = State(problem=f"it cannot be located ({type(exc).__name__})")
        return self.state

    def change(
        self, transition: Callable[[State], State], *, lock_wait: float | None = None
    ) -> bool:
        """Store one of State's transitions: an explicit choice, so an unusable file is
        replaced. False, with `last_error` saying why, when it cannot be stored."""
        try:
            self.state = self.store.update(transition, overwrite_odd=True, lock_wait=lock_wait)
        except StateError as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:
            self._contained.record("state", exc)
            why = str(exc) if isinstance(exc, LookupError) else type(exc).__name__
            self.last_error = f"cannot store analytics settings: {why}"
            return False
        self.last_error = None
        return True

    # -- the user's choices: State's transitions, stored -------------------------------------------
    def opt_in(self) -> bool:
        """Store consent to the current catalogue; an id is made now if there is none."""
        version = self.version()
        return self.change(lambda s: s.consented(version, str(uuid.uuid4())))

    def reset_id(self) -> bool | None:
        """Store a new anonymous id (if there was one) and a new generation: whether it was
        stored; None when nothing is stored to reset (no file is written before consent)."""
        state = self.load()  # another process may have changed it since
        if state.problem is not None:  # it might hold an opt-out we cannot read: keep it
            self.last_error = (
                f"{self.store.path} is unusable ({state.problem}); "
                "run `blackboxai analytics off` to replace it with an opt-out"
            )
            return False
        if state.stored is Stored.FRESH:
            return None
        new = str(uuid.uuid4())
        return self.change(lambda s: s.id_reset(new))

    def review(self, accept: bool) -> bool:
        """Store the answer to what the catalogue added: Yes agrees to the current version; No
        remembers the unseen entries as declined. Only over stored consent."""
        if self.load().stored is not Stored.CONSENTED:  # nothing is written before consent
            self.last_error = "there is no consent to extend: opt in first"
            return False
        version = self.version()
        declined = () if accept else tuple(item.name for item in self.unseen())
        return self.change(lambda s: s.reviewed(version, declined))

    def new_generation(self) -> bool:
        """Before waiting events are deleted: store a new generation, so none of them can come
        back; whether it was. Without consent there is none; an unusable file is said in
        `last_error` (it may hold consent we cannot read)."""
        self.last_error = None
        state = self.load()
        if state.stored is Stored.CONSENTED:
            return self.change(State.cleared)
        if state.stored is Stored.ODD:
            self.last_error = f"{self.store.path} is unusable ({state.problem})"
        return False

    def opt_out(self, clear: Callable[[], object]) -> bool:
        """Store a permanent opt-out so that it lands whatever else is broken. The marker
        first (no lock, no space): every reader takes it as an opt-out at once. Then the
        queue is deleted (`clear`: that needs no space and frees some), and the opt-out
        stored, tried again once without waiting for the lock. Stored, it replaces the marker;
        if not, the marker keeps it, and `last_error` says what could not be written. False
        only when neither could be written: then only this run is off."""
        state, marked = self.load(), None
        if state.stored is not Stored.DISABLED:  # else the file or the marker holds it already
            marked = self._hold_off()
        clear()
        if state.stored is Stored.DISABLED and not state.marker:  # stored: nothing to write
            self.last_error = None
            return True
        if self.change(State.opted_out) or self.change(State.opted_out, lock_wait=0):
            return True
        if self.load().stored is not Stored.DISABLED:  # the marker could not be written either
            self.last_error = "; ".join(filter(None, (self.last_error, marked)))
            return False
        if not self.state.marker:  # the file held it already: nothing needed writing
            self.last_error = None
        return True

    def _hold_off(self) -> str | None:
        try:
            self.store.hold_off()
        except StateError as exc:
            return str(exc)
        except Exception as exc:
            self._contained.record("state", exc)
            return f"cannot write {self.store.marker_path}: {type(exc).__name__}"
        return None

    # -- the verdict ------------------------------------------------------------------------------
    def decide(self) -> Decision:
        """The rules for the state as last read and this run's inputs."""
        env = os.environ if self.env is None else self.env
        tty = self.tty if self.tty is not None else _isatty(sys.stdin) and _isatty(sys.stdout)
        self.decision = decide(
            self.state.stored,
            self.flag,
            flag_source=self.flag_source,
            dnt=do_not_track(env),
            ci=in_ci(env),
            tty=tty,
            unseen=bool(self.unseen()),
        )
        return self.decision

    # -- the catalogue consent covers ----------------------------------------------------------
    @property
    def catalogue(self) -> dict[str, Any]:
        if self._catalogue is None:
            from blackboxai.analytics.catalogue import load_catalogue

            self._catalogue = load_catalogue()
        return self._catalogue

    def _read(self, source: CatalogueSource) -> dict[str, Any]:
        from blackboxai.analytics.catalogue import EMPTY, read_catalogue

        try:
            return read_catalogue(source)
        except Exception as exc:  # fail closed: with nothing described, nothing is sent
            self._contained.record("catalogue", exc)
            return EMPTY

    def version(self) -> int:
        from blackboxai.analytics.catalogue import catalogue_version

        return catalogue_version(self.catalogue)

    def unseen(self) -> list[Item]:
        """Entries newer than what the user agreed to, and not declined (consent only)."""
        if self.state.stored is not Stored.CONSENTED:
            return []
        from blackboxai.analytics.catalogue import new_items

        return new_items(self.state.catalogue_version, self.state.declined, self.catalogue)

    def withholder(self) -> Withhold | None:
        """What of an event may not be sent. Without consent nothing is sent anyway."""
        if self.state.stored is not Stored.CONSENTED:
            return None
        key = (self.state.catalogue_version, self.state.declined)
        if key not in self._withholders:
            from blackboxai.analytics.catalogue import withholder

            self._withholders[key] = withholder(self.catalogue, *key)
        return self._withholders[key]


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:
        return False
