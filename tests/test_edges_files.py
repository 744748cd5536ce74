"""Issue #22: files left in a state a later run must cope with: a torn audit log line, a full
disk under the uploader, file names that are not UTF-8. Through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path


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
