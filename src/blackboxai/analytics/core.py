"""The Analytics façade: the one gate between a program's events and the network.

Whatever code calls it, it reports only with stored consent and a session decision that allows
it, and re-checks both whenever events move towards the network. The work is elsewhere: the
pipeline (scrub, stamp, outputs), the hand-off (spool, uploader), the state file and its
transitions, and the pure consent rules.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from blackboxai.analytics.consent import Decision, Stored, decide, do_not_track, in_ci
from blackboxai.analytics.contain import Containment
from blackboxai.analytics.defaults import (
    MIXPANEL_DEFAULT_HOST,
    POSTHOG_DEFAULT_HOST,
    POSTHOG_PROJECT_API_KEY,
)
from blackboxai.analytics.pipeline import DebugPrinter, Output, Withhold, stamp
from blackboxai.analytics.state import State, StateError, StateStore
from blackboxai.analytics.system import system_properties

if TYPE_CHECKING:
    from blackboxai.analytics.auditlog import AuditLog
    from blackboxai.analytics.backends import Backend
    from blackboxai.analytics.catalogue import Item
    from blackboxai.analytics.handoff import Handoff, Launcher
    from blackboxai.analytics.spool import Spool

__all__ = ["Analytics"]

_KEEP = object()  # decide(): keep the session's analytics flag as it is


class Analytics:
    """Opt-in, anonymous analytics. No public method raises into the host.

    Session inputs (`env`, `tty`) default to the process's own; the seams (`spool`,
    `launcher`, `clock`) default to the real ones, for embedding and for tests. `catalogue`
    (a mapping, or the path of a JSON file, in catalogue.json's format) is what consent covers:
    blackboxai's own by default; a program embedding this class passes its own.
    """

    def __init__(
        self,
        *,
        logfile: str | os.PathLike[str] | None = None,
        permanently_disable: bool = False,
        posthog_host: str | None = None,
        posthog_project_api_key: str | None = None,
        mixpanel_token: str | None = None,
        mixpanel_host: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        debug: bool = False,
        debug_stream: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        tty: bool | None = None,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
        clock: Callable[[], float] = time.time,
        catalogue: Mapping[str, Any] | str | os.PathLike[str] | None = None,
    ) -> None:
        self.debug = debug
        self.contained = Containment(verbose=debug, stream=debug_stream)
        self.last_error: str | None = None
        self.log_error: str | None = None
        self._debug_stream = debug_stream
        self._env, self._tty, self._clock = env, tty, clock
        self._catalogue = None if catalogue is None else self._read_catalogue(catalogue)
        self._withholders: dict[tuple[int, tuple[str, ...]], Withhold] = {}
        self._spool, self._launcher = spool, launcher
        self._flag: bool | None = None  # the session's --analytics / --no-analytics
        self._flag_source = "--analytics"
        self._wanted = False  # the caller asked to report (enable()) and has not disabled it
        self._decision: Decision | None = None
        self._handoff: Handoff | None = None
        self._outputs: list[Output] = []
        self._reporting = self._closed = False
        self._pid = os.getpid()
        # PostHog is a destination only with a project key: the edge files a made-up one nowhere.
        key = posthog_project_api_key or POSTHOG_PROJECT_API_KEY
        self.posthog = (posthog_host or POSTHOG_DEFAULT_HOST, key) if key else None
        self.mixpanel = (
            (mixpanel_host or MIXPANEL_DEFAULT_HOST, mixpanel_token) if mixpanel_token else None
        )
        self._log: AuditLog | None = None
        self._logfile = os.path.expanduser(os.fspath(logfile)) if logfile is not None else None
        if self._logfile is not None:
            self._open_log(self._logfile)
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._store: StateStore | None = None
        self.state = self._load_state()
        self._apply(None)
        if permanently_disable:
            self.disable(permanently=True)

    # -- what aider's Analytics exposes (read-only: store choices with the methods) -----------
    @property
    def user_id(self) -> str | None:
        """The anonymous id: none until the user consents (and nothing is written before)."""
        return self.state.uuid

    @property
    def asked_opt_in(self) -> bool:
        return self.state.asked_opt_in

    @property
    def permanently_disable(self) -> bool:
        return self.state.permanently_disable

    @property
    def logfile(self) -> str | None:
        return self._logfile

    def get_system_info(self) -> dict[str, str]:
        """The facts about this machine that every event carries."""
        return dict(system_properties())

    @property
    def failures(self) -> int:
        """How many internal failures were contained (shown only with the debug setting)."""
        return self.contained.failures

    # -- state -----------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            from blackboxai.analytics.paths import default_data_dir

            self._data_dir = default_data_dir()
        return self._data_dir

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore(self.data_dir)
        return self._store

    @property
    def state_path(self) -> Path:
        return self.store.path

    def _load_state(self) -> State:
        try:
            return self.store.load()
        except Exception as exc:  # e.g. no home directory at all
            self.contained.record("state", exc)
            return State(problem=f"it cannot be located ({type(exc).__name__})")

    def _store_change(self, change: Callable[[State], State]) -> bool:
        """Apply one of State's transitions to the stored state (an explicit choice: an
        unusable file is replaced), then apply the consent rules to the result."""
        try:
            self.state = self.store.update(change, overwrite_odd=True)
        except StateError as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:
            self.contained.record("state", exc)
            self.last_error = f"cannot store analytics settings: {type(exc).__name__}"
            return False
        self.last_error = None
        self._decide()
        return True

    # -- consent ---------------------------------------------------------------------------------
    @property
    def decision(self) -> Decision | None:
        """The consent rules' latest verdict for this session (None before any was asked for)."""
        return self._decision

    @property
    def reporting(self) -> bool:
        """Whether events recorded now are queued to be sent."""
        return self._reporting

    def decide(
        self,
        args_analytics: bool | object | None = _KEEP,
        *,
        tty: bool | None = None,
        flag_source: str | None = None,
    ) -> Decision:
        """The consent rules for the stored state (read afresh) and this session's inputs.
        `args_analytics`, the session's analytics flag (None: not given), is remembered."""
        if args_analytics is not _KEEP:
            self._flag = args_analytics if isinstance(args_analytics, bool) else None
        self._flag_source = flag_source or self._flag_source
        self._tty = self._tty if tty is None else tty
        self.state = self._load_state()
        return self._decide()

    def _decide(self) -> Decision:
        env = os.environ if self._env is None else self._env
        tty = self._tty if self._tty is not None else _isatty(sys.stdin) and _isatty(sys.stdout)
        self._decision = decide(
            self.state.stored,
            self._flag,
            flag_source=self._flag_source,
            dnt=do_not_track(env),
            ci=in_ci(env),
            tty=tty,
            unseen=bool(self.unseen_items()),
        )
        self._apply(self._decision)  # the mode always follows the latest decision
        return self._decision

    def need_to_ask(self, args_analytics: bool | None) -> bool:
        """Whether to ask the opt-in question now (never on a pipe, in CI, or once answered)."""
        return self.decide(args_analytics).ask

    def enable(self) -> bool:
        """Report from now on if the consent rules allow it. They are applied again at every
        change of the stored state, and before events move towards the network."""
        self._wanted = True
        self.decide()
        return self._reporting

    def opt_in(self) -> bool:
        """Store consent (the question's Yes, or `analytics on`) to the current catalogue; an id
        is made now if there is none. Reporting starts if enable() was called."""
        from blackboxai.analytics.catalogue import catalogue_version

        version = catalogue_version(self.catalogue)
        return self._store_change(lambda s: s.consented(version, str(uuid.uuid4())))

    def disable(self, permanently: bool) -> bool:
        """Stop reporting in this session; permanently also stores the opt-out and deletes
        every waiting event (a running uploader stops after the batch in flight)."""
        self._wanted = False
        self._apply(self._decision)
        if not permanently:
            return True
        if not self._store_change(State.opted_out):
            return False
        self._clear()
        return True

    def reset_id(self) -> bool:
        """A new anonymous id (if there was one); events waiting under the old one are dropped."""
        self.state = self._load_state()  # another process may have changed it since
        if self.state.problem is not None:  # it might hold an opt-out we cannot read: keep it
            self.last_error = (
                f"{self.state_path} is unusable ({self.state.problem}); "
                "run `blackboxai analytics off` to replace it with an opt-out"
            )
            return False
        if self.state.stored is Stored.FRESH:
            return True  # nothing stored, nothing to reset: no file is written before consent
        new = str(uuid.uuid4())
        if not self._store_change(lambda s: s.id_reset(new)):
            return False
        self._clear()
        return True

    def unseen_items(self) -> list[Item]:
        """Catalogue entries newer than what the user agreed to (and not declined): recorded
        in the audit log, but not sent until the user has seen them."""
        if self.state.stored is not Stored.CONSENTED:
            return []
        from blackboxai.analytics.catalogue import new_items

        return new_items(self.state.catalogue_version, self.state.declined, self.catalogue)

    def review_catalogue(self, accept: bool) -> bool:
        """The answer to what the catalogue added: Yes agrees to the current version; No
        remembers those entries as declined (never sent), and the rest carries on."""
        from blackboxai.analytics.catalogue import catalogue_version

        self.state = self._load_state()
        if self.state.stored is not Stored.CONSENTED:  # nothing is written before consent
            self.last_error = "there is no consent to extend: opt in first"
            return False
        version = catalogue_version(self.catalogue)
        declined = () if accept else tuple(item.name for item in self.unseen_items())
        return self._store_change(lambda s: s.reviewed(version, declined))

    # -- events ----------------------------------------------------------------------------------
    def event(self, event_name: str, main_model: object = None, **kwargs: object) -> None:
        """Record one event: scrub, stamp, and hand it to each output. Local work only.

        `main_model` (a name, or an object with a `.name`) is reported redacted like any model."""
        if self._closed:
            return
        with self.contained.guard("event"):
            properties = kwargs if main_model is None else {"main_model": main_model, **kwargs}
            event = stamp(
                event_name,
                properties,
                user_id=self.state.uuid,
                clock=self._clock,
                withhold=self._withholder(),
            )
            for output in self._outputs:
                with self.contained.guard(type(output).__name__):
                    output.write(event)

    @property
    def catalogue(self) -> dict[str, Any]:
        """What consent covers: the events and properties, each with the version that added it."""
        if self._catalogue is None:
            from blackboxai.analytics.catalogue import load_catalogue

            self._catalogue = load_catalogue()
        return self._catalogue

    def _read_catalogue(self, source: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        from blackboxai.analytics.catalogue import EMPTY, read_catalogue

        try:
            return read_catalogue(source)
        except Exception as exc:  # fail closed: with nothing described, nothing is sent
            self.contained.record("catalogue", exc)
            return EMPTY

    def _withholder(self) -> Withhold | None:
        """Withholding applies to consent: without it nothing is sent anyway."""
        if self.state.stored is not Stored.CONSENTED:
            return None
        key = (self.state.catalogue_version, self.state.declined)
        if key not in self._withholders:
            from blackboxai.analytics.catalogue import withholder

            self._withholders[key] = withholder(self.catalogue, *key)
        return self._withholders[key]

    def _open_log(self, path: str) -> None:
        from blackboxai.analytics.auditlog import LogError, open_log

        try:
            self._log = open_log(path)
        except LogError as exc:
            self.log_error = str(exc)

    def _apply(self, decision: Decision | None) -> None:
        """The one place that sets the mode, as the outputs events go to: the audit log always;
        the dry-run printer with the debug setting; the spool buffer only when the caller
        enabled reporting and the rules allow it. Anything buffered under a decision that no
        longer allows reporting is dropped."""
        report = decision is not None and decision.report and self._wanted
        self._outputs = [self._log] if self._log is not None else []
        self._reporting = not self.debug and report and bool(self.destinations)
        if self.debug:
            self._outputs.append(DebugPrinter(report, self._debug_stream))
        elif self._reporting:
            from blackboxai.analytics.handoff import SpoolBuffer

            buffer = SpoolBuffer(self.handoff, self.state.generation, self.destinations)
            self._outputs.append(buffer)
        elif self._handoff is not None:
            self._handoff.discard()
        if self._handoff is not None:
            self._handoff.active = self._reporting

    @property
    def destinations(self) -> tuple[Backend, ...]:
        """Where this session's events go: PostHog when a project key is known, Mixpanel when
        a token is set. Fixed into each event as it is recorded."""
        from blackboxai.analytics.backends import Backend

        found = []
        if self.posthog:
            found.append(Backend("posthog", *self.posthog))
        if self.mixpanel:
            found.append(Backend("mixpanel", *self.mixpanel))
        return tuple(found)

    # -- the hand-off ----------------------------------------------------------------------------
    @property
    def handoff(self) -> Handoff:
        if self._handoff is None:
            from blackboxai.analytics.handoff import Handoff

            self._handoff = Handoff(self.data_dir, spool=self._spool, launcher=self._launcher)
            # A caller that forgets close() (or drops this object) still has its buffered
            # events handed over, when it is collected or at interpreter exit at the latest.
            weakref.finalize(self, self._handoff.finish)
        return self._handoff

    @property
    def spool(self) -> Spool:
        return self.handoff.spool

    def flush(self) -> None:
        """Move buffered events to the spool now, if consent still holds; no network."""
        if self._handoff is None:
            return
        with self.contained.guard("flush"):
            self.decide()
            if self._reporting:
                self._handoff.flush()

    def pending_count(self) -> int:
        with self.contained.guard("pending"):
            return self.spool.count()
        return 0

    def clear_pending(self) -> int:
        """Delete every waiting event. A running uploader stops after the batch in flight, and
        nothing it deleted ever comes back: the consent generation moves on."""
        self.state = self._load_state()
        if self.state.stored is Stored.CONSENTED:
            self._store_change(State.cleared)
        return self._clear()

    def _clear(self) -> int:
        with self.contained.guard("spool"):
            return self.handoff.clear()
        return 0

    def close(self) -> None:
        """Hand buffered events to the spool and start a detached uploader; never waits on the
        network. Again (or at interpreter exit, for a caller that forgot it), it does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._handoff is not None and not self.debug:
            self.flush()
            with self.contained.guard("close"):
                self._handoff.finish()
        for output in self._outputs:
            with self.contained.guard("close"):
                output.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:
        return False
