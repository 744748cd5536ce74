"""A damaged data dir (junk records or files, FIFOs, a full disk) never blocks or hangs delivery."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.queue import progress as progress_module
from blackboxai.analytics.queue import spool as spool_module
from blackboxai.analytics.queue.progress import Progress
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import Backend
from tests.support import (
    MemorySink,
    config,
    mixpanel_at,
    posthog_at,
    spooled,
    wait_for_no_uploaders,
)

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
HOST = "http://127.0.0.1:9"


def send_args(url: str) -> list[str]:
    return ["--analytics-posthog-host", url, "--analytics-posthog-project-api-key", "phc_test"]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def dir_instead(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.mkdir()


# -- one bad record or file costs only itself --------------------------------------------------

DAMAGE = {
    "a record whose time no float holds": None,  # 10**400: valid JSON, no float
    "junk in the progress file": lambda d: (d / "upload.progress").write_text("1\n[]\n{}\n"),
    "a directory named like a claimed file": lambda d: (d / "claimed-0-junk.jsonl").mkdir(),
    "a FIFO named like a claimed file": lambda d: fifo(d / "claimed-0-junk.jsonl"),
    "a FIFO as the progress file": lambda d: fifo(d / "upload.progress"),
    "a directory as the progress file": lambda d: (d / "upload.progress").mkdir(),
    "a directory as the spool's lock": lambda d: dir_instead(d / "spool.lock"),
    "a directory as the delivery lock": lambda d: (d / "upload.lock").mkdir(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_one_bad_record_or_file_never_blocks_delivery(
    damage: str, cli: Any, backend: Backend, data_dir: Path
) -> None:
    if "FIFO" in damage and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    good = spooled(data_dir, 300, to=[posthog_at(backend.url)])
    make = DAMAGE[damage]
    if make is None:
        spooled(data_dir, 1, to=[posthog_at(backend.url)], time=10**400)
    else:
        make(data_dir)
    first = cli("analytics", "send", timeout=60)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "posthog: sent 300" in first.stdout
    assert sorted(e["uuid"] for e in backend.posthog) == sorted(r["id"] for r in good)
    if damage.startswith("a record"):
        assert "1 unreadable" in first.stdout
    again = cli("analytics", "send", timeout=60)
    assert again.returncode == 0 and "Nothing to send." in again.stdout
    assert len(backend.posthog) == 300  # nothing sent twice
    status = cli("analytics", "status", timeout=30).stdout
    assert "Waiting:       0 events" in status
    assert list(data_dir.glob("claimed-*.jsonl")) == []


@needs_fifo
@pytest.mark.parametrize("where", ["spool.jsonl", "claimed-1-junk.jsonl", "spool.dropped"])
@pytest.mark.parametrize(
    "command",
    [
        ["analytics", "status"],
        ["analytics", "pending"],
        ["analytics", "pending", "--clear"],
        ["analytics", "off"],
        ["--analytics-disable", "--exit"],
        ["--exit", *send_args(HOST)],  # a reporting session's exit
    ],
    ids=["status", "pending", "pending-clear", "off", "disable", "session-exit"],
)
def test_a_fifo_in_the_data_dir_never_hangs_a_command(
    cli: Any, data_dir: Path, where: str, command: list[str]
) -> None:
    spooled(data_dir, 2, to=[posthog_at(HOST)])
    if where == "spool.jsonl":
        Spool(data_dir).claim()  # the events wait in a claimed file; a FIFO is the spool
    fifo(data_dir / where)
    run = cli(*command, timeout=30)  # a blocking open of the FIFO would wait forever
    assert run.returncode == 0, run.stderr
    assert "unexpected error" not in run.stderr
    if command[1] == "pending" and len(command) == 2:
        assert "2 events waiting." in run.stderr
    if command[1] == "status":
        assert "Waiting:       2 events" in run.stdout
    wait_for_no_uploaders(data_dir.parents[2])


@needs_fifo
def test_a_fifo_as_the_spool_is_moved_aside_and_events_are_spooled_again(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    fifo(data_dir / "spool.jsonl")
    records = spooled(data_dir, 3, to=[posthog_at(HOST)])
    spool = Spool(data_dir)
    assert [r["id"] for r in spool.records()] == [r["id"] for r in records]
    assert [p.name.split(".unusable-")[0] for p in data_dir.glob("*.unusable-*")] == ["spool.jsonl"]


# -- a progress file that cannot be written ---------------------------------------------------


class FullDisk:
    """Writes of the progress file and of the spool fail once `room` bytes are used up. The
    progress file's room check (keep=False) is taken back, so it uses none; `then` is the room
    left once the first progress line is kept (another program fills the disk meanwhile)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, room: int, then: int | None = None) -> None:
        self.room, self.then = room, then
        real_append, real_write = Progress._append, spool_module.atomic_write

        def append(progress: Progress, line: str, *, keep: bool = True) -> None:
            if len(line) + 2 > self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            if keep:
                self.room -= len(line) + 2
                if self.then is not None:
                    self.room, self.then = self.then, None
            real_append(progress, line, keep=keep)

        def atomic_write(path: Path, data: Any) -> None:
            if len(data) > self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_write(path, data)

        monkeypatch.setattr(progress_module.Progress, "_append", append)
        monkeypatch.setattr(spool_module, "atomic_write", atomic_write)


def test_a_full_disk_repeats_at_most_the_batch_in_flight_once(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = spooled(data_dir, 600, to=[posthog_at(HOST)])
    sink = MemorySink()
    # Room for the check and one batch's line; then the disk is full (a line needs ~10 KB).
    disk = FullDisk(monkeypatch, room=95_000, then=5_000)
    first = deliver(config(data_dir), sinks={"posthog": sink})
    assert len(sink.batches) == 2  # the second batch was taken but could not be noted
    assert not first.complete and "cannot record delivery progress" in first.failures[0]
    assert "No space left on device" in first.failures[0]
    assert first.sent == {"posthog": 500}
    for _ in range(3):  # the disk stays full: nothing is sent, nothing else is claimed
        later = deliver(config(data_dir), sinks={"posthog": sink})
        assert later.sent == {} and later.failures and len(sink.batches) == 2
    assert len(list(data_dir.glob("claimed-*.jsonl"))) == 1
    disk.room = 10**9
    final = deliver(config(data_dir), sinks={"posthog": sink})
    assert final.complete and Spool(data_dir).count() == 0
    received = Counter(sink.ids)
    assert set(received) == {r["id"] for r in records}
    assert sum(received.values()) - 600 <= 250  # one batch, once


def test_a_progress_write_that_fails_stops_the_run_and_nothing_is_sent_twice_when_it_can_finish(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue can still be written: what was taken is not put back, so nothing repeats."""
    records = spooled(data_dir, 600, to=[posthog_at(HOST), mixpanel_at(HOST)])
    calls: list[int] = []
    real_add = Progress.add

    def add(progress: Progress, backend: Any, ids: list[str], memo: str | None = None) -> None:
        calls.append(len(ids))
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        real_add(progress, backend, ids, memo)

    monkeypatch.setattr(Progress, "add", add)
    posthog, mixpanel = MemorySink(), MemorySink("mixpanel", max_batch=2000)
    sinks = {"posthog": posthog, "mixpanel": mixpanel}
    first = deliver(config(data_dir), sinks=sinks)
    assert len(posthog.batches) == 2 and mixpanel.batches == []  # the run stopped everywhere
    assert not first.complete and first.waiting == 600
    assert first.kept == {"posthog": 100, "mixpanel": 600}
    assert deliver(config(data_dir), sinks=sinks).complete
    assert sorted(posthog.ids) == sorted(mixpanel.ids) == sorted(r["id"] for r in records)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_analytics_send_on_a_full_disk_sends_nothing_and_says_so(
    cli: Any, backend: Backend, data_dir: Path
) -> None:
    """A real write failure: the process may not grow any file past 16 KB (EFBIG), as on a
    full disk. Each `send` sends nothing, says why, and fails; once there is room, all of it
    goes, once."""
    import resource

    records = spooled(data_dir, 600, to=[posthog_at(backend.url)])

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_384, 16_384))

    for _ in range(3):
        run = subprocess.run(
            [sys.executable, "-m", "blackboxai", *send_args(backend.url), "analytics", "send"],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=small_files,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert "cannot record delivery progress" in run.stdout + run.stderr
    assert backend.posthog == []
    assert len(list(data_dir.glob("claimed-*.jsonl"))) <= 1
    assert cli("analytics", "send").returncode == 0
    assert sorted(e["uuid"] for e in backend.posthog) == sorted(r["id"] for r in records)


def test_status_and_pending_read_what_a_damaged_dir_still_holds(cli: Any, data_dir: Path) -> None:
    records = spooled(data_dir, 2, to=[posthog_at(HOST)])
    (data_dir / "upload.progress").write_text("1\n")
    (data_dir / "claimed-0-junk.jsonl").mkdir()
    with (data_dir / "spool.jsonl").open("a") as handle:
        handle.write("[" * 100_000 + "\n")  # nests deeper than the parser goes
    pending = cli("analytics", "pending", timeout=30)
    assert pending.returncode == 0 and "2 events waiting." in pending.stderr
    listed = [json.loads(line)["id"] for line in pending.stdout.splitlines()]
    assert listed == [r["id"] for r in records]
