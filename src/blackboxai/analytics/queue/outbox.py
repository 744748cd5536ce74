"""A session's outbox: the one object between `Analytics.event()` and the spool file.

It holds this process's spool lines in memory, appends them to the spool (consent re-checked
under the spool's lock), and starts the detached uploader, mid-session past a count and at the
end. It never touches the network, never waits long on a lock, and never raises into the host:
what fails is handed to `lost` (the façade's containment, which counts it).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from blackboxai.analytics.consent.rules import may_send
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.defaults import BUFFER_EVENTS, SESSION_LOCK_WAIT
from blackboxai.analytics.fileops import LockTimeout
from blackboxai.analytics.queue.launch import Launched, Launcher, UploadConfig, spawn_uploader
from blackboxai.analytics.queue.spool import Spool

__all__ = ["LAUNCH_AFTER", "Lost", "Outbox"]

# Start the uploader mid-session once this many events were spooled by this process.
LAUNCH_AFTER = 2_000

# Where a contained failure goes: (what failed, the exception).
Lost = Callable[[str, BaseException], None]


class Outbox:
    """Holds this process's events until they are appended to the spool, then has them sent.

    `add` buffers one spool line under its anonymous id and consent generation; `flush` appends
    what is buffered, each group only while its consent still holds; `finish` (close(), a
    collected façade, or interpreter exit) flushes and launches an uploader, once. `stop`
    forgets what is buffered, when consent no longer lets it leave; `resume` starts again."""

    def __init__(
        self,
        data_dir: Path,
        lost: Lost,
        *,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
        limit: int = BUFFER_EVENTS,
        launch_after: int = LAUNCH_AFTER,
        lock_wait: float = SESSION_LOCK_WAIT,
        upload: UploadConfig | None = None,
        required: Callable[[], bool] = lambda: False,
    ) -> None:
        self.data_dir = data_dir
        self._upload = upload if upload is not None else UploadConfig(str(data_dir))
        self.spool = spool if spool is not None else Spool(data_dir)
        self._store = StateStore(data_dir)
        self._launcher: Launcher = launcher if launcher is not None else spawn_uploader
        self._lost = lost
        self._limit = limit
        self._launch_after = launch_after
        # Lines by (anonymous id, consent generation, sent by the policy alone).
        self._lines: dict[tuple[str | None, int, bool], list[str]] = {}
        self._required = required  # the machine's policy still requires its collector
        self._buffered = self._spooled = 0
        self._handing_over = self._launched = self._finished = False
        self._pid = os.getpid()
        self._children: list[Launched] = []
        # The spool lock held by another process (a stopped one, a hung network disk): wait
        # `lock_wait` at most, then drop the events and tell `lost`. Once it timed out, later
        # appends try once without waiting, until one gets the lock again.
        self._lock_wait = self._wait = lock_wait
        self.dropped = 0  # events dropped because the spool lock stayed busy
        self.unclear: str | None = None  # why the last clear() left events waiting

    # -- the session's events --------------------------------------------------------------------
    def add(self, line: str, user_id: str | None, generation: int, by_policy: bool = False) -> None:
        """Buffer one spool line, under the user's consent (its id and generation), or under the
        machine's policy alone (`by_policy`: its collector's, whatever the user chose)."""
        self._lines.setdefault((user_id, generation, by_policy), []).append(line)
        self._buffered += 1
        if self._buffered >= self._limit:
            self.flush()

    def resume(self) -> None:
        """The session reports: what it buffers is handed over at the end."""
        self._handing_over = True

    def stop(self, keep_required: bool = False) -> None:
        """The user's consent no longer holds: forget what it buffered (it may not leave), and,
        unless the policy's collector still gets events (`keep_required`), hand nothing over."""
        self._lines = {k: v for k, v in self._lines.items() if keep_required and k[2]}
        self._buffered = sum(map(len, self._lines.values()))
        self._handing_over = self._handing_over and keep_required

    def _allowed(self, user_id: str | None, generation: int, by_policy: bool) -> bool:
        """Consent is stored now, for this id, and has been since this generation began; or,
        for what the policy alone sends, the policy still requires its collector."""
        if by_policy:
            return self._required()
        state = self._store.load()
        record = {"user_id": user_id, "gen": generation}
        return may_send(state.stored, state.uuid, state.generation, record)

    def flush(self) -> None:
        """Append buffered events to the spool. Each group is appended only if its consent
        still holds while the spool lock is held, so an opt-out racing us always wins."""
        groups, self._lines, self._buffered = self._lines, {}, 0
        busy = False
        for (user_id, generation, by_policy), lines in groups.items():
            if busy:  # the lock is busy: don't wait again for the next group
                self.dropped += len(lines)
                continue
            wanted = functools.partial(self._allowed, user_id, generation, by_policy)
            try:
                if self.spool.append(lines, still_wanted=wanted, wait=self._wait):
                    self._spooled += len(lines)  # (not appended: consent ended)
                self._wait = self._lock_wait
            except LockTimeout:
                busy, self._wait = True, 0
                self.dropped += len(lines)
        if busy:
            self._lost("spool", LockTimeout(f"{self.spool.lock_path} is held by another process"))
        self._reap()
        if self._spooled >= self._launch_after and not self._launched:
            self._launch()

    def finish(self) -> None:
        """At the end of a session: flush, then start an uploader if anything is waiting. Once,
        in the process that made it (a forked child never hands over its parent's events), and
        only while handing over. Never raises: it may run from a finalizer or at exit."""
        if self._finished or self._pid != os.getpid() or not self._handing_over:
            return
        self._finished = True
        try:
            self.flush()
            if self.spool.count() > 0:
                self._launch()
        except Exception as exc:
            self._lost("close", exc)

    # -- what waits ----------------------------------------------------------------------------
    def count(self) -> int:
        return self.spool.count()

    def clear(self) -> int:
        """Delete every waiting event the user's consent sends, buffered or spooled; returns how
        many were spooled. What the machine's policy alone sends is the organisation's, and
        stays. When another process holds the spool lock, nothing is waited for: `unclear` says
        what is left (those events are never sent anyway: clearing follows an end of consent)."""
        self.stop(keep_required=True)
        self.unclear = None
        try:
            return self.spool.clear(wait=self._lock_wait, keep=_by_policy)
        except LockTimeout:  # a stopped session, a hung disk: say so, never wait
            left = self.spool.count()
            self.unclear = (
                f"{self.spool.lock_path.name} is held by another process: {left} "
                f"event{'' if left == 1 else 's'} could not be deleted, and will never be sent"
            )
        return 0

    # -- the uploader --------------------------------------------------------------------------
    def _launch(self) -> None:
        self._launched = True
        child = self._launcher(self._upload)
        if child is not None:
            self._children.append(child)

    def _reap(self) -> None:
        """Collect uploaders that have finished; never waits for one that has not."""
        self._children = [c for c in self._children if c.poll() is None]


def _by_policy(line: bytes) -> bool:
    """A spooled line the machine's policy alone sends (as event.spool_line writes it)."""
    return line.startswith(b'{"gen":') and b',"by":"policy",' in line[:40]
