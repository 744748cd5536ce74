"""The Analytics façade: the one gate between a program's events and the network.

Whatever code calls it, it reports only with stored consent and a run whose inputs allow it,
and it checks both again whenever events move towards the network. The work is elsewhere: the
consent gate (the state file, the user's choices, the pure rules), the routes (where each
event goes) and the recorder (scrub and stamp, the audit log, the outbox: the spool and the
detached uploader), which follows the mode this façade sets.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from blackboxai.analytics.consent.gate import CatalogueSource, Gate
from blackboxai.analytics.consent.rules import Decision
from blackboxai.analytics.consent.state import State, StateStore
from blackboxai.analytics.contain import Containment, one_line
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.destinations.routes import plan
from blackboxai.analytics.paths import locate_data_dir
from blackboxai.analytics.record.auditlog import opened
from blackboxai.analytics.record.system import system_properties
from blackboxai.analytics.recorder import Recorder
from blackboxai.policy import Policy, resolve_policy, still_requires

if TYPE_CHECKING:
    from blackboxai.analytics.consent.catalogue import Item
    from blackboxai.analytics.queue.launch import Launcher, UploadConfig
    from blackboxai.analytics.queue.spool import Spool

__all__ = ["Analytics"]

_KEEP = object()  # decide(): keep the run's analytics flag as it is


class Analytics:
    """Opt-in, anonymous analytics. No public method raises into the host.

    Destinations: PostHog (`posthog_*`), Mixpanel (`mixpanel_*`), a team's OpenTelemetry
    collector (`otlp_*`, filled in by the standard OTEL_EXPORTER_OTLP_* variables of `env`).
    Run inputs (`env`, `tty`) default to the process's own; the seams (`spool`, `launcher`,
    `clock`) to the real ones. `catalogue` (a mapping, or a JSON file in catalogue.json's format)
    is what consent covers: blackboxai's own by default; an embedding program passes its own.
    `policy` is what the machine's organisation decided (docs/policy.md): this machine's policy
    file by default, or another file's path, or a `Policy` (`Policy()`: none)."""

    def __init__(
        self,
        *,
        logfile: str | os.PathLike[str] | None = None,
        permanently_disable: bool = False,
        posthog_host: str | None = None,
        posthog_project_api_key: str | None = None,
        mixpanel_token: str | None = None,
        mixpanel_host: str | None = None,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
        otlp_headers: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        debug: bool = False,
        debug_stream: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        tty: bool | None = None,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
        clock: Callable[[], float] = time.time,
        catalogue: CatalogueSource | None = None,
        policy: Policy | str | os.PathLike[str] | None = None,
    ) -> None:
        self.debug = debug
        self._policy = resolve_policy(policy)
        self.contained = Containment(verbose=debug, stream=debug_stream)
        # The run's inputs to the rules, and what the caller asked for (enable(), not disabled).
        self._flag: bool | None = None
        self._flag_source, self._tty, self._wanted = "--analytics", tty, False
        self._last_error: str | None = None
        self._unclear: str | None = None  # what the last clearing left waiting, and why
        self.replaced: State | None = None  # what the last opt_in() changed (see there)
        self.routes, self.warnings = plan(
            self._policy,
            (posthog_host, posthog_project_api_key),
            (mixpanel_token, mixpanel_host),
            (otlp_endpoint, otlp_protocol, otlp_headers),
            os.environ if env is None else env,
        )
        self._logfile = os.path.expanduser(os.fspath(logfile)) if logfile is not None else None
        # log_error: why the user's log could not be opened; the policy's may be written beside
        log, self.log_error = opened(self._logfile, self._policy.log, self._policy.where)
        self._data_dir = locate_data_dir(data_dir)  # a Path, or why there is none
        self.gate = Gate(
            self._data_dir, self.contained, env=env, catalogue=catalogue, policy=self._policy.off
        )
        self._recorder = Recorder(
            self.routes,
            log,
            self.contained,
            data_dir=self._data_dir,
            # Neither refers back to this object: the recorder's finalizer runs when it goes.
            upload=functools.partial(_upload_config, self._data_dir, self._policy),
            required=functools.partial(still_requires, self._policy),
            clock=clock,
            debug=debug,
            debug_stream=debug_stream,
            spool=spool,
            launcher=launcher,
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

    @property
    def policy(self) -> Policy:
        """The machine's policy this object honours (`policy.problem`: why it could not be read,
        one line worth showing; analytics are then off)."""
        return self._policy

    def get_system_info(self) -> dict[str, str]:
        """The facts about this machine that every event carries."""
        return dict(system_properties())

    # -- where things are, and what went wrong -------------------------------------------------
    @property
    def destinations(self) -> tuple[Destination, ...]:
        return self.routes.destinations

    @property
    def data_dir(self) -> Path:
        """Where consent and the queue live. LookupError when there is none: data_dir="" (or
        no home directory to put the default in); every use inside this class contains it."""
        if isinstance(self._data_dir, str):
            raise LookupError(self._data_dir)
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
        return self._last_error

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
        """Whether events recorded now are queued to be sent by the user's consent."""
        return self._recorder.reporting

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
            self._flag = args_analytics if isinstance(args_analytics, bool) else None
        self._flag_source = flag_source or self._flag_source
        self._tty = self._tty if tty is None else tty
        self.gate.load()
        return self._decide_again()

    def need_to_ask(self, args_analytics: bool | None) -> bool:
        """Whether to ask the opt-in question now (never on a pipe, in CI, or once answered)."""
        return self.decide(args_analytics).ask

    def enable(self) -> bool:
        """Report from now on if the consent rules allow it. They are applied again at every
        change of the stored state, and before events move towards the network."""
        self._wanted = True
        self.decide()
        return self._recorder.reporting

    def opt_in(self) -> bool:
        """Store consent (the question's Yes, or `analytics on`) to the current catalogue; an id
        is made now if there is none. Reporting starts if enable() was called. `replaced` is
        then the stored state it changed, as read under the state file's lock."""
        self.replaced, error = self.gate.opt_in()
        return self._stored(error)

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
        landed, error = self.gate.opt_out(self._clear)
        self._last_error = one_line(error, self._unclear) if landed else error
        self._decide_again()
        return landed

    def reset_id(self) -> bool:
        """A new anonymous id (if there was one); events waiting under the old one are dropped."""
        if not self._stored(self.gate.reset_id()):
            return False
        self._clear()
        return True

    def unseen_items(self) -> list[Item]:
        """Catalogue entries newer than what the user agreed to (and not declined): recorded
        in the audit log, but not sent until the user has seen them."""
        return self.gate.unseen()

    def review_catalogue(self, accept: bool) -> bool:
        """The answer to what the catalogue added: Yes agrees to the current version; No
        remembers those entries as declined (never sent), and the rest carries on."""
        return self._stored(self.gate.review(accept))

    def _stored(self, error: str | None) -> bool:
        """After a choice: say why it was not stored; the rules again, for the state as read."""
        self._last_error = error
        self._decide_again()
        return error is None

    def _decide_again(self) -> Decision:
        return self._apply(self.gate.decide(self._flag, self._flag_source, self._tty))

    def _apply(self, decision: Decision | None) -> Decision:
        """The one place that sets the mode: events are queued to be sent only when the caller
        enabled reporting, the rules allow it, there is somewhere to send them, and this is no
        dry run. What is buffered under a verdict that no longer allows it is dropped."""
        state = self.state
        report = decision is not None and decision.report and self._wanted
        self._recorder.set_mode(report, state.generation, state.uuid, self.gate.withholder)
        return decision  # type: ignore[return-value]  # None only from the constructor

    # -- events ----------------------------------------------------------------------------------
    def event(self, event_name: str, main_model: object = None, **kwargs: object) -> None:
        """Record one event: scrubbed, stamped, written to the audit log, and queued where the
        mode says (recorder.py). Local work only; never raises.

        `main_model` (a name, or an object with a `.name`) is reported redacted like any model."""
        if main_model is not None:  # (kwargs is a dict of this call's own)
            kwargs["main_model"] = main_model
        self._recorder.record(event_name, kwargs)

    # -- the hand-off ----------------------------------------------------------------------------
    @property
    def spool(self) -> Spool:
        return self._recorder.spool

    def upload_config(self, **bounds: float) -> UploadConfig:
        """What an uploader run needs for this object's events (`bounds`: UploadConfig's
        timeouts). LookupError when there is no data directory."""
        return _upload_config(self._data_dir, self._policy, **bounds)

    def flush(self) -> None:
        """Move buffered events to the spool now, if consent still holds; no network."""
        self._recorder.flush(self.decide)

    def pending_count(self, *, by_policy: bool = True) -> int:
        """How many events wait to be sent; without `by_policy`, only those the user's consent
        sends (what an opt-out deletes), not those the machine's policy alone sends."""
        with self.contained.guard("pending"):
            count = self.spool.count()
            if by_policy or not count:
                return count
            return count - sum(r.get("by") == "policy" for r in self.spool.records())
        return 0

    def clear_pending(self) -> int:
        """Delete every waiting event. A running uploader stops after the request in flight, and
        nothing it deleted ever comes back: the consent generation moves on. If it cannot move
        on (the state file cannot be written), `last_error` says so."""
        error = self.gate.new_generation()
        self._decide_again()
        deleted = self._clear()
        self._last_error = one_line(error, self._unclear)
        return deleted

    def _clear(self) -> int:
        """Delete every waiting event the user's consent sends; `_unclear` says what a lock that
        another process holds left waiting (never sent: its consent has ended)."""
        deleted, self._unclear = self._recorder.clear()
        return deleted

    def close(self) -> None:
        """Hand buffered events to the spool and start a detached uploader; never waits on the
        network. Again (or when collected, or at exit, for a caller that forgot), a no-op."""
        self._recorder.close(self.decide)

    def __enter__(self) -> Analytics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _upload_config(data_dir: Path | str, policy: Policy, **bounds: float) -> UploadConfig:
    from blackboxai.analytics.queue.launch import UploadConfig  # what starts it: not at start-up

    return UploadConfig.under(data_dir, policy, **bounds)
