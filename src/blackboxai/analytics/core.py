"""The Analytics façade: the one gate between a program's events and the network.

Whatever code calls it, it reports only with stored consent and a run whose inputs allow it,
and it checks both again whenever events move towards the network. The work is elsewhere: the
consent gate (state file, choices, inputs, the pure rules), the pipeline (scrub, stamp), the
outputs (the mode) and what is pending (the hand-off: spool, detached uploader).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from blackboxai.analytics.backends import destinations
from blackboxai.analytics.consent import Decision
from blackboxai.analytics.contain import Containment
from blackboxai.analytics.gate import CatalogueSource, Gate
from blackboxai.analytics.outputs import Outputs
from blackboxai.analytics.pending import Pending
from blackboxai.analytics.pipeline import stamp
from blackboxai.analytics.state import State, StateStore
from blackboxai.analytics.system import system_properties

if TYPE_CHECKING:
    from blackboxai.analytics.catalogue import Item
    from blackboxai.analytics.handoff import Handoff, Launcher
    from blackboxai.analytics.spool import Spool

__all__ = ["Analytics"]

_KEEP = object()  # decide(): keep the run's analytics flag as it is


class Analytics:
    """Opt-in, anonymous analytics. No public method raises into the host.

    Run inputs (`env`, `tty`) default to the process's own; the seams (`spool`, `launcher`,
    `clock`) default to the real ones, for embedding and for tests. `catalogue` (a mapping, or
    the path of a JSON file, in catalogue.json's format) is what consent covers: blackboxai's
    own by default; a program that embeds this class passes its own.
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
        catalogue: CatalogueSource | None = None,
    ) -> None:
        self.debug = debug
        self.contained = Containment(verbose=debug, stream=debug_stream)
        self._clock = clock
        self._wanted = False  # the caller asked to report (enable()) and has not disabled it
        self._pending = Pending(
            lambda: self.data_dir, self.contained, spool=spool, launcher=launcher
        )
        self._reporting = self._closed = False
        self.destinations = destinations(
            posthog_host, posthog_project_api_key, mixpanel_token, mixpanel_host
        )
        self._logfile = os.path.expanduser(os.fspath(logfile)) if logfile is not None else None
        self._outputs = Outputs(self._logfile, self._pending, self.contained, debug_stream)
        self.log_error = self._outputs.log_error  # why the audit log could not be opened
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self.gate = Gate(
            lambda: self.data_dir, self.contained, env=env, tty=tty, catalogue=catalogue
        )
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

    # -- where things are, and what went wrong -------------------------------------------------
    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            from blackboxai.analytics.paths import default_data_dir

            self._data_dir = default_data_dir()
        return self._data_dir

    @property
    def state(self) -> State:
        return self.gate.state

    @property
    def store(self) -> StateStore:
        return self.gate.store

    @property
    def state_path(self) -> Path:
        return self.store.path

    @property
    def catalogue(self) -> dict[str, Any]:
        """What consent covers: every event and property, with the version that added it."""
        return self.gate.catalogue

    @property
    def last_error(self) -> str | None:
        """Why the last choice could not be stored, in one line (None when it was). After an
        opt-out held by the marker alone: what could not be written."""
        return self.gate.last_error

    @property
    def failures(self) -> int:
        """How many internal failures were contained (shown only with the debug setting)."""
        return self.contained.failures

    # -- consent ---------------------------------------------------------------------------------
    @property
    def decision(self) -> Decision | None:
        """The consent rules' latest verdict for this run (None before any was asked for)."""
        return self.gate.decision

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
        """The consent rules for the stored state (read afresh) and this run's inputs.
        `args_analytics`, the run's analytics flag (None: not given), is remembered."""
        if args_analytics is not _KEEP:
            self.gate.flag = args_analytics if isinstance(args_analytics, bool) else None
        self.gate.flag_source = flag_source or self.gate.flag_source
        self.gate.tty = self.gate.tty if tty is None else tty
        self.gate.load()
        return self._apply(self.gate.decide())

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
        return self._applied(self.gate.opt_in())

    def disable(self, permanently: bool) -> bool:
        """Stop reporting in this run; permanently also stores the opt-out and deletes every
        waiting event (a running uploader stops after the request in flight, retrying nothing).

        Permanently, it lands whatever else is broken: False only when nothing at all could be
        written (then only this run is off). True with `last_error` set: analytics.json could
        not be written, and the marker analytics.disabled keeps the opt-out until it can be."""
        self._wanted = False
        self._apply(self.gate.decision)
        if not permanently:
            return True
        stored = self.gate.opt_out(self._pending.clear)
        if stored:
            self.gate.last_error = self._pending.explained(self.gate.last_error)
        self._apply(self.gate.decide())
        return stored

    def reset_id(self) -> bool:
        """A new anonymous id (if there was one); events waiting under the old one are dropped."""
        stored = self.gate.reset_id()
        if stored is None:
            return True  # nothing stored, nothing to reset: no file is written before consent
        return self._applied(stored) and self._pending.clear() >= 0

    def unseen_items(self) -> list[Item]:
        """Catalogue entries newer than what the user agreed to (and not declined): recorded
        in the audit log, but not sent until the user has seen them."""
        return self.gate.unseen()

    def review_catalogue(self, accept: bool) -> bool:
        """The answer to what the catalogue added: Yes agrees to the current version; No
        remembers those entries as declined (never sent), and the rest carries on."""
        return self._applied(self.gate.review(accept))

    def _applied(self, stored: bool) -> bool:
        """After a choice was stored: the rules again, for the state just written."""
        if stored:
            self._apply(self.gate.decide())
        return stored

    # -- events ----------------------------------------------------------------------------------
    def event(self, event_name: str, main_model: object = None, **kwargs: object) -> None:
        """Record one event: scrub, stamp, and hand it to each output. Local work only.

        `main_model` (a name, or an object with a `.name`) is reported redacted like any model."""
        if self._closed:
            return
        with self.contained.guard("event"):
            properties = kwargs if main_model is None else {"main_model": main_model, **kwargs}
            user, withhold = self.state.uuid, self.gate.withholder()
            event = stamp(
                event_name, properties, user_id=user, clock=self._clock, withhold=withhold
            )
            self._outputs.write(event)

    def _apply(self, decision: Decision | None) -> Decision:
        """The one place that sets the mode (Outputs.select): events are queued to be sent
        only when the caller enabled reporting and the rules allow it."""
        report = decision is not None and decision.report and self._wanted
        generation = self.state.generation
        self._reporting = self._outputs.select(report, self.debug, self.destinations, generation)
        return decision  # type: ignore[return-value]  # None only from the constructor

    # -- the hand-off ----------------------------------------------------------------------------
    @property
    def handoff(self) -> Handoff:
        return self._pending.handoff

    @property
    def spool(self) -> Spool:
        return self._pending.spool

    def flush(self) -> None:
        """Move buffered events to the spool now, if consent still holds; no network."""
        handoff = self._pending.started
        if handoff is None:
            return
        with self.contained.guard("flush"):
            self.decide()
            if self._reporting:
                handoff.flush()

    def pending_count(self) -> int:
        return self._pending.count()

    def clear_pending(self) -> int:
        """Delete every waiting event. A running uploader stops after the request in flight, and
        nothing it deleted ever comes back: the consent generation moves on. If it cannot move
        on (the state file cannot be written), `last_error` says so."""
        self._applied(self.gate.new_generation())
        deleted = self._pending.clear()
        self.gate.last_error = self._pending.explained(self.gate.last_error)
        return deleted

    def close(self) -> None:
        """Hand buffered events to the spool and start a detached uploader; never waits on the
        network. Again (or when collected, or at exit, for a caller that forgot), a no-op."""
        if self._closed:
            return
        self._closed = True
        handoff = self._pending.started
        if handoff is not None and not self.debug:
            self.flush()
            with self.contained.guard("close"):
                handoff.finish()
        self._outputs.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
