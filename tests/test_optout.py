"""No lock held by another process keeps the host waiting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from blackboxai.analytics import Analytics
from blackboxai.analytics.spool import Spool

HOST = "http://127.0.0.1:9"  # nothing listens there; nothing may reach beyond 127.0.0.1


def reporting(data_dir: Path, **seams: Any) -> Analytics:
    """A session that reports once enabled (with consent), its uploader replaced by `launcher`."""
    return Analytics(
        data_dir=data_dir,
        posthog_host=HOST,
        posthog_project_api_key="k",
        tty=False,
        env={},
        **seams,
    )


class Holder:
    """Another process holding one of our locks (through the project's own lock helper)
    until told to let go: a stopped session, a hung network disk."""

    def __init__(self, lock: Path) -> None:
        code = (
            "import sys; from pathlib import Path\n"
            "from blackboxai.analytics.fileops import locked\n"
            "with locked(Path(sys.argv[1])):\n"
            "    print('held', flush=True); sys.stdin.read()\n"
        )
        lock.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, str(lock)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "held\n"  # it has the lock now

    def holding(self) -> bool:
        return self.process.poll() is None

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


# -- a lock held by another process --------------------------------------------------------------


def test_close_never_waits_for_a_spool_lock_another_process_holds(data_dir: Path) -> None:
    launched: list[object] = []
    analytics = reporting(data_dir, launcher=launched.append)
    assert analytics.opt_in() and analytics.enable()
    holder = Holder(data_dir / "spool.lock")
    try:
        for _ in range(500):  # the 500th moves the buffer to the spool: dropped, not waited on
            analytics.event("launched")
        analytics.event("exit", reason="exit_flag")
        analytics.close()
        assert holder.holding()  # returned before the holder let go
    finally:
        holder.release()
    assert analytics.failures == 2  # both drops counted (the 500th event's, and close()'s)
    assert Spool(data_dir).count() == 0 and launched == []
