"""The hand-off: buffered events → the on-disk spool (consent re-checked under its lock) → a
detached uploader process, started without waiting for it and reaped when it is done."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from blackboxai.analytics.backends import Backend
from blackboxai.analytics.consent import may_send
from blackboxai.analytics.defaults import BUFFER_EVENTS, SESSION_LOCK_WAIT
from blackboxai.analytics.fileops import LockTimeout
from blackboxai.analytics.pipeline import Event
from blackboxai.analytics.spool import Spool
from blackboxai.analytics.state import StateStore

if TYPE_CHECKING:
    from blackboxai.analytics.upload import UploadConfig

__all__ = ["LAUNCH_AFTER", "Handoff", "Launched", "Launcher", "SpoolBuffer", "spawn_uploader"]

# Start the uploader mid-session once this many events were spooled by this process.
LAUNCH_AFTER = 2_000


class Launched(Protocol):
    """A started uploader: `poll()` is None while it runs (subprocess.Popen has it)."""

    def poll(self) -> int | None: ...


Launcher = Callable[["UploadConfig"], "Launched | None"]


class Handoff:
    """Holds this process's events until they are appended to the spool, then has them sent.

    Nothing here touches the network: the launcher starts a detached process that does."""

    def __init__(
        self,
        data_dir: Path,
        *,
        spool: Spool | None = None,
        launcher: Launcher | None = None,
        limit: int = BUFFER_EVENTS,
        launch_after: int = LAUNCH_AFTER,
        lock_wait: float = SESSION_LOCK_WAIT,
        lost: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.spool = spool if spool is not None else Spool(data_dir)
        self._store = StateStore(data_dir)
        self._launcher = launcher if launcher is not None else _spawn
        self._limit = limit
        self._launch_after = launch_after
        self._lines: dict[tuple[str | None, int], list[str]] = {}
        self._buffered = 0
        self._spooled = 0
        self._launched = False
        self._finished = False
        self._pid = os.getpid()
        self._children: list[Launched] = []
        self.active = False  # the session reports: set by the façade, from its decision
        # The spool lock held by another process (a stopped one, a hung network disk): wait
        # `lock_wait` at most, then drop the events and tell `lost`. Once it timed out, later
        # appends try once without waiting, until one gets the lock again.
        self._lock_wait = self._wait = lock_wait
        self._lost = lost
        self.dropped = 0  # events dropped because the spool lock stayed busy

    @property
    def buffered(self) -> int:
        return self._buffered

    def add(self, line: str, user_id: str | None, generation: int) -> None:
        self._lines.setdefault((user_id, generation), []).append(line)
        self._buffered += 1
        if self._buffered >= self._limit:
            self.flush()

    def discard(self) -> None:
        """Forget what is buffered: consent ended, so none of it may leave."""
        self._lines.clear()
        self._buffered = 0

    def allowed(self, user_id: str | None, generation: int) -> bool:
        """Consent is stored now, for this id, and has been since this generation began."""
        state = self._store.load()
        record = {"user_id": user_id, "gen": generation}
        return may_send(state.stored, state.uuid, state.generation, record)

    def flush(self) -> None:
        """Append buffered events to the spool. Each group is appended only if its consent
        still holds while the spool lock is held, so an opt-out racing us always wins."""
        groups, self._lines, self._buffered = self._lines, {}, 0
        busy: LockTimeout | None = None
        for (user_id, generation), lines in groups.items():
            if busy is not None:  # the lock is busy: don't wait again for the next group
                self.dropped += len(lines)
                continue
            wanted = functools.partial(self.allowed, user_id, generation)
            try:
                if self.spool.append(lines, still_wanted=wanted, wait=self._wait):
                    self._spooled += len(lines)  # (not appended: consent ended)
                self._wait = self._lock_wait
            except LockTimeout as exc:
                busy, self._wait = exc, 0
                self.dropped += len(lines)
        if busy is not None:
            self._report(LockTimeout(f"{self.spool.lock_path} is held by another process"))
        self.reap()
        if self._spooled >= self._launch_after and not self._launched:
            self.launch()

    def finish(self) -> None:
        """At the end of a session (close(), or interpreter exit for a caller that forgot it):
        flush, then start an uploader if anything is waiting. Once, in the process that made
        it (a forked child never hands over its parent's events), and only while reporting."""
        if self._finished or self._pid != os.getpid() or not self.active:
            return
        self._finished = True
        self.flush()
        if self.spool.count() > 0:
            self.launch()

    def clear(self) -> int:
        """Delete every waiting event, buffered or spooled; returns how many were spooled.
        Raises LockTimeout when the spool lock stays busy (what waits is never sent anyway:
        clearing follows an end of consent)."""
        self.discard()
        return self.spool.clear(wait=self._lock_wait)

    def _report(self, exc: BaseException) -> None:
        if self._lost is None:
            raise exc
        self._lost("spool", exc)

    def launch(self) -> None:
        from blackboxai.analytics.upload import UploadConfig

        self._launched = True
        child = self._launcher(UploadConfig(str(self.data_dir)))
        if child is not None:
            self._children.append(child)

    def reap(self) -> None:
        """Collect uploaders that have finished; never waits for one that has not."""
        self._children = [c for c in self._children if c.poll() is None]


class SpoolBuffer:
    """The output that queues events for sending: generation and destinations fixed now."""

    def __init__(self, handoff: Handoff, generation: int, destinations: Sequence[Backend]) -> None:
        self._handoff = handoff
        self._generation = generation
        self._destinations = tuple(destinations)

    def write(self, event: Event) -> None:
        line = event.spool_line(self._generation, self._destinations)
        if line is not None:
            self._handoff.add(line, event.user_id, self._generation)

    def close(self) -> None:
        pass


def _spawn(config: UploadConfig) -> Launched:
    return spawn_uploader(config.to_json())


def spawn_uploader(config_json: str) -> Launched:
    """Start the uploader detached: its own session (process group on Windows), stdio on the
    null device, the delivery settings in its environment. Nothing waits for it."""
    import subprocess

    from blackboxai.analytics.upload import BOOTSTRAP, CONFIG_ENV

    env = {**os.environ, CONFIG_ENV: config_json}
    flags = 0
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI job
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    return subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=sys.platform != "win32",
        creationflags=flags,
    )
