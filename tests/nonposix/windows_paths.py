"""Lock, spool and launch as a platform without POSIX-only calls runs them, for real.

tests/test_portable.py runs this file (with test_spool.py and the lock tests of test_state.py and
test_hostile.py) in a pytest whose every process has tests/nonposix active: our code finds no
fcntl, so locks go through filelock; no posix_spawn, O_NONBLOCK, set_blocking, uname, alarm...
Run alone, without that, the first test fails: the rest would prove nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from blackboxai.analytics import Analytics, fileops
from blackboxai.analytics.queue.launch import UploadConfig, spawn_uploader
from blackboxai.analytics.queue.outbox import Outbox
from blackboxai.analytics.queue.spool import Spool
from blackboxai.analytics.record.system import system_properties

HOLD = """
import sys
from pathlib import Path
from blackboxai.analytics import fileops
assert fileops.fcntl is None, "the child must run without fcntl too"
with fileops.locked(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()  # hold the lock until the test closes our stdin, or kills us
"""

COUNT = """
import sys
from pathlib import Path
from blackboxai.analytics import fileops
lock, counter = Path(sys.argv[1]), Path(sys.argv[2])
for _ in range(int(sys.argv[3])):
    with fileops.locked(lock):
        value = int(counter.read_text() or 0)  # read, then write: torn without the lock
        counter.write_text(str(value + 1))
"""


def python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], text=True, **kwargs
    )


def hold(lock: Path) -> subprocess.Popen[str]:
    holder = python(HOLD, str(lock), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def busy(lock: Path, timeout: float) -> bool:
    try:
        with fileops.locked(lock, timeout=timeout):
            return False
    except fileops.LockTimeout:
        return True


def exited(pid: int, timeout: float) -> bool:
    """The child has ended; it is left for its owner to collect (WNOWAIT: not reaped here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        time.sleep(0.02)
    return False


def reaped(pid: int) -> bool:
    try:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return False


def test_our_code_runs_without_posix_only_calls() -> None:
    from blackboxai.analytics import upload
    from blackboxai.analytics.queue import launch, outbox, spool
    from blackboxai.analytics.record import auditlog

    assert fileops.fcntl is None
    hidden = ("pread", "posix_spawn", "POSIX_SPAWN_OPEN", "fork", "WNOHANG", "O_NONBLOCK")
    for module in (fileops, auditlog, launch, outbox, spool, upload):
        assert not [name for name in hidden if hasattr(module.os, name)], module.__name__
    with pytest.raises(ImportError):
        exec("import fcntl", {"__name__": "blackboxai.probe"})


def test_a_lock_another_process_holds_times_out_and_is_free_once_it_lets_go(tmp_path) -> None:
    lock = tmp_path / "spool.lock"
    holder = hold(lock)
    assert busy(lock, timeout=0)
    started = time.monotonic()
    assert busy(lock, timeout=0.3)
    assert time.monotonic() - started >= 0.3
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=20) == 0
    assert not busy(lock, timeout=0)


def test_a_killed_holder_leaves_the_lock_free(tmp_path) -> None:
    lock = tmp_path / "upload.lock"
    holder = hold(lock)
    holder.kill()
    holder.wait(timeout=20)
    assert not busy(lock, timeout=5)


def test_waiting_without_a_timeout_gets_the_lock_when_the_holder_lets_go(tmp_path) -> None:
    lock = tmp_path / "state.lock"
    holder = hold(lock)
    assert holder.stdin is not None
    threading.Timer(0.3, holder.stdin.close).start()
    started = time.monotonic()
    with fileops.locked(lock):
        waited = time.monotonic() - started
    assert holder.wait(timeout=20) == 0
    assert waited >= 0.25


def test_the_lock_makes_read_modify_write_exclusive_across_processes(tmp_path) -> None:
    lock, counter = tmp_path / "count.lock", tmp_path / "count"
    counter.write_text("0")
    workers = [python(COUNT, str(lock), str(counter), "100") for _ in range(4)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]
    assert counter.read_text() == "400"


def line(i: int) -> str:
    return f'{{"event": "e", "id": "{uuid.uuid4()}", "i": {i}}}'


def test_claim_moves_waiting_events_aside_and_later_appends_start_afresh(tmp_path) -> None:
    spool = Spool(tmp_path)
    spool.append([line(i) for i in range(3)])
    spool.claim()
    assert len(spool.claimed()) == 1 and not spool.path.exists()
    spool.append([line(3)])
    assert [r["i"] for r in spool.records()] == [0, 1, 2, 3]  # claimed (older) first
    assert spool.count() == 4
    assert spool.clear() == 4
    assert spool.claimed() == [] and spool.count() == 0


def test_sessions_appending_at_once_lose_and_tear_nothing(tmp_path) -> None:
    append = """
        import sys
        from pathlib import Path
        from blackboxai.analytics.queue.spool import Spool
        spool = Spool(Path(sys.argv[1]))
        for i in range(50):
            spool.append([f'{{"event": "e", "writer": {sys.argv[2]}, "i": {i}}}'] * 3)
    """
    writers = [python(append, str(tmp_path), str(n)) for n in range(4)]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0, 0]
    records = list(Spool(tmp_path).records())
    assert len(records) == 4 * 50 * 3
    assert {(r["writer"], r["i"]) for r in records} == {(w, i) for w in range(4) for i in range(50)}


@pytest.mark.skipif(not hasattr(os, "waitid"), reason="needs os.waitid to see a child unreaped")
def test_the_uploader_launches_detached_waits_its_turn_and_is_reaped(
    data_dir: Path, backend
) -> None:
    analytics = Analytics(
        posthog_host=backend.url, posthog_project_api_key="phc_test", launcher=lambda config: None
    )
    assert analytics.opt_in() and analytics.enable()
    for i in range(5):
        analytics.event("command_add", i=i)
    analytics.flush()
    spool = Spool(data_dir)
    assert spool.count() == 5
    children: list[subprocess.Popen[bytes]] = []

    def launcher(config: UploadConfig) -> subprocess.Popen[bytes]:
        children.append(spawn_uploader(config))  # type: ignore[arg-type]  # a Popen
        return children[-1]

    lost: list[BaseException] = []
    box = Outbox(data_dir, lambda where, exc: lost.append(exc), launcher=launcher)
    box.resume()
    with fileops.locked(data_dir / "upload.lock"):  # an uploader already at work, as it were
        box.finish()  # the session ends: something waits, so an uploader is started
        assert len(children) == 1 and not lost
    # Its turn comes when the lock is free: it sends, then exits, and is reaped by the session.
    assert backend.wait_for(posthog=5, timeout=60)
    assert exited(children[0].pid, timeout=60)
    assert not reaped(children[0].pid)
    box.flush()  # the session's next hand-over collects the uploaders that have ended
    assert reaped(children[0].pid)
    assert children[0].returncode == 0
    assert spool.count() == 0


def test_the_machine_facts_come_from_platform_without_uname() -> None:
    facts = system_properties()
    assert facts["os_platform"] and facts["machine"]
    assert facts["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])


def test_a_consented_sessions_events_reach_the_backend_through_the_launched_uploader(
    data_dir: Path, backend
) -> None:
    analytics = Analytics(posthog_host=backend.url, posthog_project_api_key="phc_test")
    assert analytics.opt_in() and analytics.enable()
    for i in range(5):
        analytics.event("command_add", i=i)  # `i` is not in the catalogue
    analytics.close()  # the session ends: flush, then the real launcher starts the uploader
    assert backend.wait_for(posthog=5, timeout=15)
    assert [e["event"] for e in backend.posthog] == ["command_add"] * 5
    assert "i" not in backend.posthog[0]["properties"]  # not in the catalogue: withheld
