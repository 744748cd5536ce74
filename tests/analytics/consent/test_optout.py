"""An opt-out lands whatever else is broken (a lock in the way, a disk that takes no file, a
lock held by a stopped process), nothing recorded before it is sent, and no lock held by
another process keeps the host waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.rules import Stored
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.queue.spool import Spool
from tests.support import MemorySink, config, posthog_at, spooled

HOST = "http://127.0.0.1:9"  # nothing listens there; nothing may reach beyond 127.0.0.1
OPTED_OUT = "Analytics are now permanently disabled; nothing will be sent."
ALREADY = "Analytics are permanently disabled; nothing will be sent."


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


def status(cli: Any) -> dict[str, Any]:
    done = cli("analytics", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def file_says(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "analytics.json").read_text())  # type: ignore[no-any-return]


def dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere" / "lock")


def directory(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("")


def no_file_may_grow() -> None:  # preexec_fn: RLIMIT_FSIZE 0, as a disk with no room left
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


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


# -- something in the way of a lock ---------------------------------------------------------------


@pytest.mark.parametrize("lock", ["analytics.json.lock", "spool.lock"])
@pytest.mark.parametrize("obstacle", [directory, dangling], ids=["directory", "dangling-link"])
@pytest.mark.parametrize("args", [["analytics", "off"], ["--analytics-disable", "--exit"]])
def test_an_opt_out_lands_and_deletes_the_queue_past_anything_at_a_lock(
    cli: Any, data_dir: Path, lock: str, obstacle: Any, args: list[str]
) -> None:
    spooled(data_dir, 3, to=[posthog_at(HOST)])
    path = data_dir / lock
    if os.path.lexists(path):
        path.unlink()
    obstacle(path)
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == OPTED_OUT + " Deleted 3 waiting events.\n"
    assert file_says(data_dir)["permanently_disable"] is True
    assert Spool(data_dir).count() == 0
    assert not (data_dir / "analytics.disabled").exists()  # the file holds it: no fallback left
    assert path.is_file() and not path.is_symlink()  # a lock file again; the obstacle set aside
    assert list(data_dir.glob(f"{lock}.unusable-*"))


def test_analytics_off_says_one_line_and_says_again_when_nothing_changed(
    cli: Any, data_dir: Path
) -> None:
    spooled(data_dir, 2)
    first = cli("analytics", "off")
    assert (first.returncode, first.stdout) == (0, "")
    assert first.stderr == OPTED_OUT + " Deleted 2 waiting events.\n"
    again = cli("analytics", "off")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", ALREADY + "\n")
    quiet = cli("--analytics-disable", "--exit")  # a standing setting is not repeated each run
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


# -- a disk that takes no state file -------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_an_opt_out_that_cannot_write_the_state_file_is_kept_by_the_marker(
    cli: Any, data_dir: Path
) -> None:
    spooled(data_dir, 40, to=[posthog_at(HOST)])
    before = file_says(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "blackboxai", "analytics", "off"],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=no_file_may_grow,
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    [line] = done.stderr.splitlines()  # the truth, in one line
    assert line.startswith(OPTED_OUT + " Deleted 40 waiting events. (cannot write ")
    assert "analytics.json" in line and "analytics.disabled keeps the opt-out" in line
    assert file_says(data_dir) == before  # still consent: it could not be replaced
    assert (data_dir / "analytics.disabled").exists()
    assert Spool(data_dir).count() == 0
    seen = status(cli)
    assert (seen["stored"], seen["would_report"]) == ("disabled", False)
    session = cli("--exit", "--analytics-posthog-host", HOST)
    assert (session.returncode, session.stderr) == (0, "")
    assert Spool(data_dir).count() == 0  # nothing recorded by it was queued
    # With room again, the next opt-out writes the file and the marker goes.
    again = cli("analytics", "off")
    assert (again.returncode, again.stderr) == (0, OPTED_OUT + "\n")
    assert file_says(data_dir)["permanently_disable"] is True
    assert not (data_dir / "analytics.disabled").exists()


def test_the_marker_is_an_opt_out_for_sessions_and_the_uploader(data_dir: Path) -> None:
    waiting = spooled(data_dir, 5, to=[posthog_at(HOST)])
    session = reporting(data_dir, launcher=lambda config: None)
    assert session.enable()
    session.event("recorded-before")
    StateStore(data_dir).hold_off()  # another process's opt-out, held by the marker alone
    session.close()
    assert Spool(data_dir).count() == len(waiting)  # the session's event was not queued
    sink = MemorySink()
    outcome = deliver(config(data_dir), sinks={"posthog": sink})
    assert sink.batches == [] and not outcome.sent
    assert Spool(data_dir).count() == 0  # dropped for consent: never sent
    assert StateStore(data_dir).load().stored is Stored.DISABLED


def test_only_analytics_on_undoes_an_opt_out_held_by_the_marker(cli: Any, data_dir: Path) -> None:
    assert cli("analytics", "on").returncode == 0
    StateStore(data_dir).hold_off()
    assert status(cli)["stored"] == "disabled"
    assert cli("--exit").returncode == 0
    assert status(cli)["stored"] == "disabled"
    back = cli("analytics", "on")
    assert back.returncode == 0, back.stderr
    assert not (data_dir / "analytics.disabled").exists()
    assert status(cli)["stored"] == "consented"


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


def test_an_opt_out_never_waits_for_a_state_lock_another_process_holds(data_dir: Path) -> None:
    spooled(data_dir, 4)
    analytics = Analytics(data_dir=data_dir)
    holder = Holder(data_dir / "analytics.json.lock")
    try:
        assert analytics.disable(permanently=True) is True
        assert holder.holding()  # returned before the holder let go
    finally:
        holder.release()
    assert analytics.state.stored is Stored.DISABLED and analytics.state.marker
    assert analytics.last_error and "held by another process" in analytics.last_error
    assert Spool(data_dir).count() == 0
    assert StateStore(data_dir).load().stored is Stored.DISABLED  # for every other reader too
    assert Analytics(data_dir=data_dir).disable(permanently=True)  # the lock is free again
    assert file_says(data_dir)["permanently_disable"] is True
    assert not (data_dir / "analytics.disabled").exists()


def test_another_choice_fails_closed_on_a_state_lock_another_process_holds(
    data_dir: Path,
) -> None:
    analytics = Analytics(data_dir=data_dir)
    holder = Holder(data_dir / "analytics.json.lock")
    try:
        assert analytics.opt_in() is False
        assert holder.holding()
    finally:
        holder.release()
    assert analytics.last_error and "held by another process" in analytics.last_error
    assert StateStore(data_dir).load().stored is Stored.FRESH


def test_an_opt_out_already_stored_needs_no_state_lock(data_dir: Path) -> None:
    assert Analytics(data_dir=data_dir).disable(permanently=True)
    analytics = Analytics(data_dir=data_dir)
    holder = Holder(data_dir / "analytics.json.lock")
    try:
        assert analytics.disable(permanently=True) is True
        assert holder.holding()
    finally:
        holder.release()
    assert analytics.last_error is None and not analytics.state.marker
    assert not (data_dir / "analytics.disabled").exists()


# -- a spool lock another process holds: the queue stays, and every caller is told ----------------

SPOOL_HELD = "spool.lock is held by another process: 3 events could not be deleted"


def test_clearing_past_a_held_spool_lock_says_what_is_left(data_dir: Path) -> None:
    spooled(data_dir, 3)
    analytics = Analytics(data_dir=data_dir, env={}, tty=False)
    holder = Holder(data_dir / "spool.lock")
    try:
        assert analytics.clear_pending() == 0
        assert analytics.last_error and SPOOL_HELD in analytics.last_error
        assert analytics.disable(permanently=True) is True  # the opt-out itself lands
        assert analytics.last_error and SPOOL_HELD in analytics.last_error
        assert holder.holding()
    finally:
        holder.release()
    assert file_says(data_dir)["permanently_disable"] is True
    assert Spool(data_dir).count() == 3  # still there, never sent: their consent has ended
    assert Analytics(data_dir=data_dir).clear_pending() == 3  # the lock is free again


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["analytics", "pending", "--clear"],
            f"blackboxai: could not clear everything: {SPOOL_HELD}",
        ),
        (["analytics", "off"], f"{OPTED_OUT} ({SPOOL_HELD}, and will never be sent.)"),
        (["--analytics-disable", "--exit"], f"{OPTED_OUT} ({SPOOL_HELD}, and will never be sent.)"),
    ],
)
def test_the_cli_says_in_one_line_what_a_held_spool_lock_left(
    cli: Any, data_dir: Path, args: list[str], line: str
) -> None:
    spooled(data_dir, 3)
    holder = Holder(data_dir / "spool.lock")
    try:
        done = cli(*args)
        assert holder.holding()
    finally:
        holder.release()
    [said] = done.stderr.splitlines()
    assert said.startswith(line) and "Traceback" not in done.stderr
    assert done.returncode == (0 if "--exit" in args else 1)
    assert Spool(data_dir).count() == 3


def test_status_says_when_only_the_marker_holds_the_opt_out(cli: Any, data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "analytics.disabled").write_text("")
    done = cli("analytics", "status")
    assert done.returncode == 0, done.stderr
    assert (
        "Stored choice: permanently disabled (held by analytics.disabled until analytics.json "
        "can be written)\n" in done.stdout
    )
    assert status(cli)["held_by_marker"] is True
