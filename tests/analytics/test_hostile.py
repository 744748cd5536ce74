"""Hostile cases: concurrent writers, kills, full disks, vanishing files, floods, fuzzed secrets."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.contain import Containment
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import refused_url
from tests.support import FullDiskSpool, wait_for_last, wait_until


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_ten_sessions_appending_to_one_log_never_tear_a_line(tmp_path: Path) -> None:
    log = tmp_path / "shared.jsonl"
    writer = """
        import sys
        from blackboxai.analytics import Analytics
        with Analytics(logfile=sys.argv[1]) as a:
            for i in range(400):
                a.event("command_add", padding="x" * (i % 300), i=i)
    """
    procs = [python(writer, str(log)) for _ in range(10)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 4000
    assert all(json.loads(line)["event"] == "command_add" for line in lines)


def test_sigkill_during_state_writes_never_leaves_a_torn_or_blocking_state(data_dir: Path) -> None:
    churn = """
        from blackboxai.analytics import Analytics
        a = Analytics()
        while True:
            a.opt_in(); a.reset_id(); a.disable(permanently=True)
    """
    store = StateStore(data_dir)
    for writes in (3, 30, 100, 200, 400):  # each kill lands while writes go on, at another point
        proc = python(churn)
        start = store.load().generation
        try:  # the churn moves the generation on with every opt-out: kill once it visibly has
            wrote = wait_until(lambda: store.load().generation >= start + writes, 60)  # noqa: B023
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        assert wrote  # it was writing when it died
        state = store.load()
        assert state.problem is None, state.problem  # old or new content, never half of one
    survivor = Analytics()  # the lock died with the killed process: nothing blocks
    assert survivor.opt_in()
    assert survivor.state.asked_opt_in and not survivor.state.permanently_disable


def test_sigkill_during_spool_appends_never_blocks_later_sessions(data_dir: Path) -> None:
    flood = """
        from blackboxai.analytics import Analytics
        a = Analytics(posthog_project_api_key="phc_test", posthog_host="http://127.0.0.1:9",
                      launcher=lambda config: None)
        a.opt_in(); a.enable()
        while True:
            for i in range(600):
                a.event("command_add")
    """
    proc = python(flood)
    spool = Spool(data_dir)
    try:  # kill once it has visibly written, many times over
        wrote = wait_until(lambda: spool.count() >= 3000, 30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert wrote and spool.count() >= 3000
    before = spool.count()
    later = Analytics(
        posthog_project_api_key="phc_test",
        posthog_host="http://127.0.0.1:9",
        launcher=lambda config: None,
    )
    assert later.enable()
    later.event("command_ls")
    later.flush()
    waiting = spool.count()
    assert waiting == before + 1 or waiting <= spool.max_events  # appended, or trimmed to the bound
    assert [r["event"] for r in spool.records()][-1] == "command_ls"  # landed, and is newest


def test_a_full_disk_under_the_log_is_one_line_and_the_session_runs_on(cli) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    run = cli("--analytics-log", "/dev/full", "--exit")
    assert run.returncode == 0
    assert run.stderr.count("\n") == 1 and "/dev/full" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_log_that_vanishes_mid_session_is_not_an_error(tmp_path: Path) -> None:
    log = tmp_path / "gone.jsonl"
    with Analytics(logfile=log) as analytics:
        analytics.event("launched")
        log.unlink()
        analytics.event("exit", reason="eof")
        assert analytics.failures == 0


def test_a_failing_spool_is_contained_counted_and_shown_only_in_debug(data_dir: Path) -> None:
    assert Analytics().opt_in()
    quiet = Analytics(posthog_project_api_key="phc_test", spool=FullDiskSpool(data_dir))
    assert quiet.enable()
    quiet.event("launched")
    quiet.flush()
    quiet.close()
    assert quiet.failures >= 1  # counted, and nothing reached the terminal (pytest's capsys)


def test_contained_failures_are_shown_only_in_the_dry_run() -> None:
    quiet, stream = Containment(), io.StringIO()
    loud = Containment(verbose=True, stream=stream)
    for containment in (quiet, loud):
        with containment.guard("spool"):
            raise OSError(28, "No space left on device")
    assert (quiet.failures, loud.failures) == (1, 1)
    assert (
        stream.getvalue()
        == "analytics debug: spool failed: OSError: [Errno 28] No space left on device\n"
    )


@pytest.mark.slow
def test_a_flood_of_200000_events_stays_in_bounded_memory_and_spool(data_dir: Path) -> None:
    flood = """
        import json, resource
        from blackboxai.analytics import Analytics
        a = Analytics(posthog_project_api_key="phc_test", posthog_host="http://127.0.0.1:9",
                      launcher=lambda config: None)
        a.opt_in(); a.enable()
        a.event("launched")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i in range(200_000):
            a.event("message_send", main_model="gpt-4o", prompt_tokens=i, edit_format="diff")
        a.flush()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"grew_kb": after - before}))
    """
    proc = python(flood)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    grew_mb = json.loads(out)["grew_kb"] / 1024
    assert grew_mb < 30
    spool = Spool(data_dir)
    waiting = spool.count()
    # The bound is checked after each fifth of the limit, so it may be exceeded by that much.
    assert waiting <= spool.max_events + spool.max_events // 5
    assert (
        waiting + spool.dropped() == 200_001
    )  # everything is either waiting or counted as dropped


SECRETS = st.one_of(
    st.from_regex(r"sk-[A-Za-z0-9]{24,48}", fullmatch=True),
    st.from_regex(r"ghp_[A-Za-z0-9]{36}", fullmatch=True),
    st.from_regex(r"AKIA[A-Z0-9]{16}", fullmatch=True),
    st.from_regex(r"[a-z]{3,10}\.[a-z]{3,10}@[a-z]{3,10}\.(com|org|io)", fullmatch=True),
)
FILLER = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    secret=SECRETS,
    before=FILLER,
    after=FILLER,
    home_tail=st.from_regex(r"[a-z]{4,12}/[a-z]{4,12}\.py", fullmatch=True),
)
def test_secrets_emails_and_home_paths_never_reach_the_log(
    tmp_path: Path, secret: str, before: str, after: str, home_tail: str
) -> None:
    home = os.path.expanduser("~")
    log = tmp_path / "fuzz.jsonl"
    with Analytics(logfile=log) as analytics:
        analytics.event(
            "exception",
            type=f"{before} {secret} {after}",
            frames=f"{home}/{home_tail}",
            nested={"k": [f" {secret} "]},
        )
    text = log.read_text()
    log.unlink()
    assert secret not in text
    assert home not in text


def test_every_file_analytics_leaves_behind_is_private(cli, data_dir: Path) -> None:
    assert cli("analytics", "on").returncode == 0
    key = ("--analytics-posthog-project-api-key", "phc_test")
    assert cli("--exit", "--analytics-posthog-host", refused_url(), *key).returncode == 0
    wait_for_last(data_dir, timeout=20)  # the uploader's run has written all it writes
    files = sorted(p.name for p in data_dir.iterdir())
    assert {"analytics.json", "spool.jsonl", "upload.last.json"} <= set(files)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    for path in data_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path.name


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_closed_terminal_or_sigterm_ends_the_session_with_its_events_kept(
    signum, cli, tmp_path, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "blackboxai",
            "--analytics-log",
            str(log),
            "--analytics-posthog-host",
            refused_url(),
            "--analytics-posthog-project-api-key",
            "phc_test",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write("/ls\n/help\n")
    proc.stdin.flush()
    try:  # the signal comes once the session has visibly logged both commands
        logged = wait_until(lambda: log.exists() and "command_help" in log.read_text(), 20)
    finally:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=20)
    assert logged and proc.returncode == 128 + signum
    assert "Traceback" not in err and "unexpected error" not in err
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[-1]["event"] == "exit" and events[-1]["properties"]["reason"] == "terminated"
    waiting = {r["id"] for r in Spool(data_dir).records()}  # the backend refuses: all wait
    assert {e["id"] for e in events} <= waiting  # nothing that was buffered was lost


def test_a_reader_that_goes_away_is_a_quiet_exit(tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "blackboxai", "--analytics-log", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.close()  # like `blackboxai | head -1` once head has its line
    proc.stdin.write("/help\n" * 50)
    proc.stdin.close()
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.wait(timeout=30) == 1
    assert "Traceback" not in err and "unexpected error" not in err
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert events[-1]["event"] == "exit" and events[-1]["properties"]["reason"] == "broken_pipe"
    assert "exception" not in [e["event"] for e in events]


def test_a_log_path_that_is_a_fifo_nobody_reads_is_a_clear_error_not_a_hang(cli) -> None:
    # In the working directory (isolated's): a message cuts a path of over 80 characters in the
    # middle, and how long the temporary directory's is depends on the machine (xdist, macOS).
    fifo = Path("events.fifo")
    os.mkfifo(fifo)
    run = cli("--analytics-log", str(fifo), "--exit", timeout=20)
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == f"blackboxai: cannot open analytics log {fifo}: it is a pipe that nothing is reading"
    )


def test_a_termination_signal_is_never_swallowed_by_the_analytics_layer() -> None:
    from blackboxai.host import Terminated

    containment = Containment()
    # SIGTERM arrives while the layer records an event: it must reach the session's handler.
    with pytest.raises(Terminated), containment.guard("event"):
        raise Terminated(signal.SIGTERM)
    assert containment.failures == 0
