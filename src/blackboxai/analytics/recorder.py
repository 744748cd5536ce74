"""A run's recording: each event scrubbed and stamped, written to the audit log, and what may
leave queued in the outbox (or, in a dry run, printed). The façade (core.py) decides; this
module only follows the mode it sets with `set_mode`, and never raises into the host.

What may leave: everything, to every route, while the user's consent holds (`reporting`); only
what the machine's policy requires (its collector, without an id) while it does not.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from blackboxai.analytics.contain import Containment
from blackboxai.analytics.destinations.routes import Routes
from blackboxai.analytics.record.event import Stamper, print_debug
from blackboxai.analytics.record.ids import event_id
from blackboxai.analytics.record.system import run_facts

if TYPE_CHECKING:
    from blackboxai.analytics.consent.catalogue import Withhold
    from blackboxai.analytics.queue.launch import Launcher, UploadConfig
    from blackboxai.analytics.queue.outbox import Outbox
    from blackboxai.analytics.queue.spool import Spool
    from blackboxai.analytics.record.auditlog import AuditLog, BothLogs

__all__ = ["Recorder"]


class _Mode(NamedTuple):
    """What record() follows, set whole by set_mode."""

    stamp: Stamper  # with the id events carry and what the user has not agreed to send
    alone: bool  # sent by the machine's policy alone: to its collector, without an id
    generation: int  # the consent generation events are queued under
    going: bool  # queued to be sent at all (the user's consent, or the policy alone)


class Recorder:
    """Records one run's events. `data_dir` is a Path, or why there is none (then nothing is
    queued); `upload` makes the uploader's config; `required` asks afresh whether the policy
    still requires its collector (what it alone sends is handed over only while it does)."""

    def __init__(
        self,
        routes: Routes,
        log: AuditLog | BothLogs | None,
        contained: Containment,
        *,
        data_dir: Path | str,
        upload: Callable[[], UploadConfig],
        required: Callable[[], bool],
        clock: Callable[[], float],
        debug: bool = False,
        debug_stream: TextIO | None = None,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
    ) -> None:
        self.routes, self.contained, self._log = routes, contained, log
        self.debug, self._debug_stream, self._clock = debug, debug_stream, clock
        self._data_dir, self._upload, self._still_required = data_dir, upload, required
        self._spool, self._launcher = spool, launcher
        self._facts = run_facts(event_id())  # this run's session id, on every event
        self._outbox: Outbox | None = None  # made when the run first queues
        # The mode (set_mode): what is queued, under which consent generation and id.
        self.reporting = self.would_send = self.closed = False
        # Events go to the policy's collector alone when the user has not consented.
        self.required = routes.required_by_policy and isinstance(data_dir, Path)
        self._mode = _Mode(Stamper(self._facts, clock), self.required, 0, self.required)

    def set_mode(
        self,
        report: bool,
        generation: int,
        user: str | None,
        withholder: Callable[[bool], Withhold | None],
    ) -> None:
        """Queue everything while `report` (the user's consent, for this id and generation),
        else only what the policy requires; what is buffered under consent that ended is
        dropped (and, without a requirement, nothing is handed over). `withholder` gives what of
        an event may not be sent, told whether the policy alone sends it (consent.gate)."""
        self.would_send = report and bool(self.routes.destinations)
        self.reporting = self.would_send and not self.debug
        # What the policy alone sends (the user has not consented) goes to its collector alone,
        # and carries no id. One assignment: a record() in another thread sees one whole mode.
        alone = self.required and not self.reporting
        withhold = withholder(alone)  # (what the policy alone sends: its own catalogue's rule)
        stamp = Stamper(self._facts, self._clock, None if alone else user, withhold)
        self._mode = _Mode(stamp, alone, generation, self.reporting or alone)
        if self.reporting or (self.required and not self.debug):
            self.outbox().resume()
        if self._outbox is not None and not self.reporting:
            self._outbox.stop(keep_required=self.required)

    def record(self, name: str, properties: dict[str, object]) -> None:
        """Scrub, stamp, then the audit log, and the dry-run printer or the outbox. Local work
        only; each place's failure is contained on its own."""
        if self.closed:
            return
        mode = self._mode  # read once (see set_mode)
        alone = mode.alone
        try:
            event = mode.stamp(name, properties)
            line = event.log_line()
            spooled = way = None
            if mode.going:
                way = self.routes.way(event.name, mode.generation, alone)
                spooled = event.spool_line(way)
        except Exception as exc:
            self.contained.record("event", exc)
            return
        try:
            if self._log is not None:  # naming where the event goes, if it goes anywhere
                self._log.write(line[:-1] + way.tail if spooled and way else line)
        except Exception as exc:
            self.contained.record("audit log", exc)
        try:
            if self.debug:
                print_debug(event, self.would_send or alone, self._debug_stream)
            elif spooled is not None and self._outbox is not None:
                self._outbox.add(spooled, event.user_id, mode.generation, alone)
        except Exception as exc:
            self.contained.record("debug" if self.debug else "outbox", exc)

    # -- the hand-off ----------------------------------------------------------------------------
    @property
    def spool(self) -> Spool:
        if self._outbox is not None:
            return self._outbox.spool
        if self._spool is None:
            from blackboxai.analytics.queue.spool import Spool

            if isinstance(self._data_dir, str):
                raise LookupError(self._data_dir)
            self._spool = Spool(self._data_dir)
        return self._spool

    def outbox(self) -> Outbox:
        """The outbox, made on first use. LookupError when there is no data directory."""
        if self._outbox is None:
            from blackboxai.analytics.queue.outbox import Outbox

            if isinstance(self._data_dir, str):
                raise LookupError(self._data_dir)
            self._outbox = Outbox(
                self._data_dir,
                self.contained.record,
                spool=self._spool,
                launcher=self._launcher,
                upload=self._upload(),
                required=self._still_required,
            )
            # A caller that forgets close() still has its buffered events handed over: when
            # this object is collected (nothing here refers back to it, so that is as soon as
            # its last reference goes), or at interpreter exit at the latest.
            weakref.finalize(self, self._outbox.finish)
        return self._outbox

    def flush(self, decide: Callable[[], object]) -> None:
        """Move buffered events to the spool, once `decide` has set the mode afresh."""
        if self._outbox is None:
            return
        with self.contained.guard("flush"):
            decide()
            if self.reporting or self.required:
                self._outbox.flush()

    def clear(self) -> tuple[int, str | None]:
        """Delete every waiting event the user's consent sends, buffered or spooled: how many,
        and what a lock that another process holds left waiting (never sent: consent ended)."""
        with self.contained.guard("spool"):
            outbox = self.outbox()
            return outbox.clear(), outbox.unclear
        return 0, None

    def close(self, decide: Callable[[], object]) -> None:
        """Hand buffered events to the spool and start a detached uploader; never waits on the
        network. Again, a no-op."""
        if self.closed:
            return
        self.closed = True
        if self._outbox is not None and not self.debug:
            self.flush(decide)
            with self.contained.guard("close"):
                self._outbox.finish()
        if self._log is not None:
            with self.contained.guard("close"):
                self._log.close()
