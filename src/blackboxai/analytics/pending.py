"""What waits to be sent, as the façade reaches it: the hand-off (made when first needed), the
spool buffer that feeds it, how many events wait, and deleting them without waiting on a lock."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from blackboxai.analytics.contain import Containment

if TYPE_CHECKING:
    from blackboxai.analytics.backends import Backend
    from blackboxai.analytics.handoff import Handoff, Launcher, SpoolBuffer
    from blackboxai.analytics.spool import Spool

__all__ = ["Pending"]


class Pending:
    """The façade's one way to the hand-off and the spool. Nothing is imported, read or written
    until it is needed: a run that never reports never touches them.

    The seams (`spool`, `launcher`) are passed on to the hand-off; None means the real ones."""

    def __init__(
        self,
        data_dir: Callable[[], Path],
        contained: Containment,
        *,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
    ) -> None:
        self._data_dir, self._contained = data_dir, contained
        self._spool, self._launcher = spool, launcher
        self._handoff: Handoff | None = None
        self.unclear: str | None = None  # why the last clearing left events waiting

    @property
    def handoff(self) -> Handoff:
        if self._handoff is None:
            from blackboxai.analytics.handoff import Handoff

            self._handoff = Handoff(
                self._data_dir(),
                spool=self._spool,
                launcher=self._launcher,
                lost=self._contained.record,
            )
            # A caller that forgets close() (or drops the façade, whose parts alone hold this
            # object) still has its buffered events handed over, when it is collected or at
            # interpreter exit at the latest.
            weakref.finalize(self, self._handoff.finish)
        return self._handoff

    @property
    def started(self) -> Handoff | None:
        """The hand-off if one was made (else nothing is buffered, to flush or to discard)."""
        return self._handoff

    @property
    def spool(self) -> Spool:
        return self.handoff.spool

    def buffer(self, generation: int, destinations: Sequence[Backend]) -> SpoolBuffer:
        """The output that queues this run's events, under this consent generation."""
        from blackboxai.analytics.handoff import SpoolBuffer

        return SpoolBuffer(self.handoff, generation, destinations)

    def set_active(self, reporting: bool, *, discard: bool) -> None:
        """Tell a made hand-off whether the session reports; `discard` drops what it buffered
        (consent no longer allows it to leave)."""
        if self._handoff is None:
            return
        if discard:
            self._handoff.discard()
        self._handoff.active = reporting

    def count(self) -> int:
        with self._contained.guard("pending"):
            return self.spool.count()
        return 0

    def clear(self) -> int:
        """Delete every waiting event, buffered or spooled; returns how many were spooled. When
        another process holds the spool lock, nothing is waited for: `unclear` says what is left."""
        from blackboxai.analytics.fileops import LockTimeout

        self.unclear = None
        with self._contained.guard("spool"):
            try:
                return self.handoff.clear()
            except LockTimeout:  # a stopped session, a hung disk: say so, never wait
                left = self.spool.count()
                self.unclear = (
                    f"{self.spool.lock_path.name} is held by another process: {left} "
                    f"event{'' if left == 1 else 's'} could not be deleted, and will never be sent"
                )
        return 0

    def explained(self, error: str | None) -> str | None:
        """`error`, followed by what the last clearing left waiting: those events' consent has
        ended (or its generation moved on), so they are never sent, but they are there."""
        return "; ".join(filter(None, (error, self.unclear))) if self.unclear else error
