"""Issue #22: files left in a state a later run must cope with: a torn audit log line, a full
disk under the uploader, file names that are not UTF-8. Through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.record.auditlog import open_log
from tests.loopback import Backend


def report(cli, log: Path) -> dict:
    result = cli("analytics", "report", "--json", str(log))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_torn_last_line_in_the_audit_log_does_not_swallow_the_next_sessions_first_event(
    cli, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    assert cli("--no-analytics", "--analytics-log", str(log), "--exit").returncode == 0
    whole = log.read_bytes()
    assert whole.count(b"\n") == 2  # launched, exit
    log.write_bytes(whole[: len(whole) - 40])  # a short write, a crash, a hand-cut file
    assert cli("--no-analytics", "--analytics-log", str(log), "--exit").returncode == 0
    summary = report(cli, log)
    assert summary["broken_lines"] == 1  # the torn line alone
    assert summary["by_event"] == {"launched": 2, "exit": 1}  # the next session's launched kept


def test_a_log_read_while_another_session_writes_gets_no_needless_newline(tmp_path: Path) -> None:
    """An O_APPEND write fills the file a page at a time, so a log opened while another session's
    write is half-way in ends mid-line for a moment. Our first line must not take that for a torn
    line: a newline put before it split the other session's line (a blank line in the log, one in
    twenty runs of ten concurrent sessions)."""
    log = tmp_path / "events.jsonl"
    log.write_text('{"event":"launched"}\n{"event":"ex')  # the other session, half-way in
    ours = open_log(str(log))
    with open(log, "a") as other:
        other.write('it"}\n')  # its write ends
    ours.write('{"event":"launched"}')
    ours.close()
    assert log.read_text().splitlines() == [
        '{"event":"launched"}', '{"event":"exit"}', '{"event":"launched"}'
    ]  # fmt: skip


FSIZE_LIMIT = 32 * 1024  # smaller than the room a delivery run checks for, larger than the rest


def _limited_file_size() -> None:  # pragma: no cover - runs in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))


def du(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE (ulimit -f) is POSIX")
def test_a_delivery_that_cannot_record_progress_leaves_no_reserve_behind(
    data_dir: Path, backend: Backend
) -> None:
    """A disk with less room than the uploader checks for: the run sends nothing, says why, and
    must not leave the room it tried in use (a nearly full disk would stay full, and the next
    run's outcome could not be written)."""
    queued = Analytics(
        data_dir=data_dir,
        posthog_host=backend.url,
        posthog_project_api_key="phc_test",
        launcher=lambda config: None,  # no background run: the test runs it in the foreground
    )
    assert queued.opt_in() and queued.enable()
    for _ in range(3):
        queued.event("launched")
    queued.close()
    before = du(data_dir)
    assert before < FSIZE_LIMIT // 4
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    limited = subprocess.run(
        [sys.executable, "-m", "blackboxai", "analytics", "send"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limited_file_size,
        timeout=60,
    )
    assert limited.returncode == 1
    assert "cannot record delivery progress" in limited.stdout, limited.stdout + limited.stderr
    assert backend.posthog == []
    assert du(data_dir) < before + 4096, sorted(
        (p.name, p.stat().st_size) for p in data_dir.iterdir()
    )
    again = subprocess.run(
        [sys.executable, "-m", "blackboxai", "analytics", "send"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(backend.posthog) == 3


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes; Windows' are not")
def test_report_shows_a_name_that_is_not_utf8_by_its_bytes(tmp_path: Path) -> None:
    """A log named with a Latin-1 byte (b'log\\xe9.jsonl'): shown as log\\xe9.jsonl, the way
    Python writes that byte, not as the surrogate Python decodes it to (log\\udce9.jsonl)."""
    # Relative to tmp_path, so that no wrapped or cut path can hide them: the header wraps at 80
    # columns, and where depends on how long the temporary directory's path is (xdist, macOS).
    log, gone = b"log\xe9.jsonl", b"gone\xe9.jsonl"
    with open(os.fsencode(tmp_path) + b"/" + log, "w") as f:
        f.write('{"event":"launched","user_id":null,"time":1700000000}\n')
    result = subprocess.run(
        [sys.executable, "-m", "blackboxai", "analytics", "report", log, gone],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert "udce9" not in out + err
    assert "log\\xe9.jsonl" in out  # the header names the file read
    assert "gone\\xe9.jsonl: no such file" in err  # and the one it could not read
