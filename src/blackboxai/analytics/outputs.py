"""Where a run's recorded events go: the audit log, the dry-run printer, the spool buffer.

Which of them are active is the whole "mode" of an Analytics object, chosen in one place
(`Outputs.select`, from the consent verdict). An output that fails is contained, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from blackboxai.analytics.contain import Containment
from blackboxai.analytics.pending import Pending
from blackboxai.analytics.pipeline import DebugPrinter, Event, Output

if TYPE_CHECKING:
    from blackboxai.analytics.auditlog import AuditLog
    from blackboxai.analytics.backends import Backend

__all__ = ["Outputs"]


class Outputs:
    """The outputs events are written to, and the choice of them. The audit log is opened
    here, once; `log_error` says why it could not be (None: it was, or none was asked for)."""

    def __init__(
        self,
        logfile: str | None,
        pending: Pending,
        contained: Containment,
        debug_stream: TextIO | None = None,
    ) -> None:
        self._pending, self._contained, self._debug_stream = pending, contained, debug_stream
        self.log_error: str | None = None
        self._log: AuditLog | None = None
        if logfile is not None:
            self._open_log(logfile)
        self._active: list[Output] = []

    def _open_log(self, path: str) -> None:
        from blackboxai.analytics.auditlog import LogError, open_log

        try:
            self._log = open_log(path)
        except LogError as exc:
            self.log_error = str(exc)

    def select(
        self, report: bool, debug: bool, destinations: Sequence[Backend], generation: int
    ) -> bool:
        """Set the mode; returns whether events are queued to be sent. The audit log always;
        the dry-run printer with the debug setting; the spool buffer (events of consent
        `generation`) only when `report` holds, there are `destinations`, and no debug.
        Anything buffered under a verdict that no longer allows reporting is dropped."""
        self._active = [self._log] if self._log is not None else []
        reporting = not debug and report and bool(destinations)
        if debug:  # "would send" only where there is somewhere to send it
            would_send = report and bool(destinations)
            self._active.append(DebugPrinter(would_send, self._debug_stream))
        elif reporting:
            self._active.append(self._pending.buffer(generation, destinations))
        self._pending.set_active(reporting, discard=not (debug or reporting))
        return reporting

    def write(self, event: Event) -> None:
        for output in self._active:
            with self._contained.guard(type(output).__name__):
                output.write(event)

    def close(self) -> None:
        for output in self._active:
            with self._contained.guard("close"):
                output.close()
