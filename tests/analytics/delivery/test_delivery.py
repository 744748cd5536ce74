"""Delivery end to end: the real CLI, its detached uploader and the real SDKs, against loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.fileops import locked
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import Backend, refused_url
from tests.support import (
    config,
    mixpanel_at,
    posthog_at,
    spooled,
    start_uploader,
    uploaders,
    wait_for_last,
    wait_for_no_uploaders,
    wait_until,
)


def backend_args(posthog: str | None, mixpanel: str | None = None, key: str = "phc_test") -> list:
    args = []
    if posthog:
        args += ["--analytics-posthog-host", posthog, "--analytics-posthog-project-api-key", key]
    if mixpanel:
        args += ["--analytics-mixpanel-token", "mp_token", "--analytics-mixpanel-host", mixpanel]
    return args


def log_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def stamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_a_consented_session_reaches_both_backends_with_one_stable_id_per_event(
    cli, backend, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    run = cli("--exit", "--analytics-log", str(log), *backend_args(backend.url, backend.url))
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
    assert backend.wait_for(posthog=2, mixpanel=2)
    logged = log_of(log)
    uuid = logged[0]["user_id"]
    assert [e["event"] for e in backend.posthog] == ["launched", "exit"]
    assert [e["event"] for e in backend.mixpanel] == ["launched", "exit"]
    assert {e["distinct_id"] for e in backend.posthog} == {uuid}
    assert {e["properties"]["distinct_id"] for e in backend.mixpanel} == {uuid}
    # The id a line has in the audit log is the id each backend deduplicates on.
    assert [e["uuid"] for e in backend.posthog] == [e["id"] for e in logged]
    assert [e["properties"]["$insert_id"] for e in backend.mixpanel] == [e["id"] for e in logged]
    # And so is its time, to the millisecond.
    assert [round(stamp(e["timestamp"]), 3) for e in backend.posthog] == [e["time"] for e in logged]
    assert [e["properties"]["time"] for e in backend.mixpanel] == [
        round(e["time"] * 1000) for e in logged
    ]
    assert backend.posthog[1]["properties"]["reason"] == "exit_flag"
    assert backend.mixpanel[1]["properties"]["reason"] == "exit_flag"
    assert backend.posthog[0]["properties"]["$geoip_disable"] is True
    assert backend.posthog_bodies[0]["api_key"] == "phc_test"
    assert backend.mixpanel[0]["properties"]["token"] == "mp_token"
    assert "ip" not in backend.mixpanel[0]["properties"]  # /import geolocates only on `ip`
    assert backend.requests == ["/batch/", "/import"]


def test_an_offline_week_is_delivered_and_counted_once_by_both_services(
    cli, backend, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    to = [posthog_at(backend.url), mixpanel_at(backend.url)]
    start = time.time() - 7 * 86_400
    week = spooled(data_dir, 700, to=to, time=lambda i: round(start + i * 864, 3))  # 7 days
    assert cli("--exit", *backend_args(backend.url, backend.url)).returncode == 0
    assert backend.wait_for(posthog=702, mixpanel=702, timeout=30)
    wanted = {r["id"] for r in week}
    assert wanted <= {e["uuid"] for e in backend.posthog}
    assert len(backend.posthog) == len({e["uuid"] for e in backend.posthog}) == 702
    counted = backend.mixpanel_counted()
    assert wanted <= {e["properties"]["$insert_id"] for e in counted} and len(counted) == 702
    assert backend.mixpanel_dropped == [] and "/track" not in backend.requests
    assert wait_for_last(data_dir)["sent"] == {"posthog": 702, "mixpanel": 702}


@pytest.mark.slow
def test_a_429_and_a_503_lose_nothing(cli, backend, data_dir, tmp_path) -> None:
    assert cli("analytics", "on").returncode == 0
    backend.fail(429, retry_after=1, path="/batch/")
    backend.fail(503, path="/import")
    log = tmp_path / "events.jsonl"
    run = cli("--exit", "--analytics-log", str(log), *backend_args(backend.url, backend.url))
    assert run.returncode == 0
    assert backend.wait_for(posthog=2, mixpanel=2, timeout=40)
    ids = [e["id"] for e in log_of(log)]
    assert [e["uuid"] for e in backend.posthog] == ids
    assert [e["properties"]["$insert_id"] for e in backend.mixpanel_counted()] == ids
    assert sorted(backend.answers) == sorted(
        [("/batch/", 429), ("/batch/", 200), ("/import", 503), ("/import", 200)]
    )
    last = wait_for_last(data_dir)
    assert last["kept"] == {} and last["requests"] == {"posthog": 2, "mixpanel": 2}


def test_events_recorded_for_one_host_never_reach_another(cli, data_dir, tmp_path) -> None:
    assert cli("analytics", "on").returncode == 0
    with Backend() as a, Backend() as b:
        a.fail(401, path="/batch/")  # A refuses the key once: its events wait
        first = tmp_path / "first.jsonl"
        assert cli("--exit", "--analytics-log", str(first), *backend_args(a.url)).returncode == 0
        last = wait_for_last(data_dir)
        assert last["refused"] == {"posthog": f"key refused (HTTP 401) by {a.url}"}
        status = cli("analytics", "status").stdout
        assert "Refused:       posthog key refused (HTTP 401)" in status
        assert "analytics-posthog-project-api-key" in status

        second = tmp_path / "second.jsonl"
        run = cli("--exit", "--analytics-log", str(second), *backend_args(b.url, key="phc_b"))
        assert run.returncode == 0
        assert b.wait_for(posthog=2) and a.wait_for(posthog=2)
        wait_for_last(data_dir, after=last["time"] + 0.001)
    assert [e["uuid"] for e in a.posthog] == [e["id"] for e in log_of(first)]
    assert [e["uuid"] for e in b.posthog] == [e["id"] for e in log_of(second)]
    assert {body["api_key"] for body in a.posthog_bodies} == {"phc_test"}
    assert {body["api_key"] for body in b.posthog_bodies} == {"phc_b"}


def test_a_busy_uploader_waits_its_turn_and_its_events_arrive_without_another_session(
    cli, backend, data_dir, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    with locked(data_dir / "upload.lock"):  # another delivery is under way
        run = cli("--exit", "--analytics-log", str(log), *backend_args(backend.url))
        assert run.returncode == 0
        # Started (it may still be on its way into exec under load), and waiting for the lock.
        assert wait_until(lambda: uploaders(data_dir.parents[2]), 30)
        assert Spool(data_dir).count() == 2
    assert backend.wait_for(posthog=2, timeout=30)  # no other session was needed
    assert [e["uuid"] for e in backend.posthog] == [e["id"] for e in log_of(log)]


def test_sub_second_order_is_kept_by_both_services(cli, backend, data_dir) -> None:
    assert cli("analytics", "on").returncode == 0
    t0 = round(time.time() - 3600, 0) + 0.5
    # Ten events within 10 ms, spooled out of order: each keeps its own millisecond.
    records = spooled(
        data_dir,
        10,
        to=[posthog_at(backend.url), mixpanel_at(backend.url)],
        time=lambda i: round(t0 + (9 - i) / 1000, 3),
    )
    assert cli("--exit", *backend_args(backend.url, backend.url)).returncode == 0
    assert backend.wait_for(posthog=12, mixpanel=12)
    oldest_first = [r["id"] for r in sorted(records, key=lambda r: r["time"])]
    by_posthog = sorted(backend.posthog, key=lambda e: stamp(e["timestamp"]))
    assert [e["uuid"] for e in by_posthog][:10] == oldest_first
    assert len({e["timestamp"] for e in backend.posthog[:10]}) == 10
    by_mixpanel = sorted(backend.mixpanel, key=lambda e: e["properties"]["time"])
    assert [e["properties"]["$insert_id"] for e in by_mixpanel][:10] == oldest_first
    assert by_mixpanel[0]["properties"]["time"] == round(t0 * 1000)


def test_without_a_project_key_posthog_is_no_destination_and_status_says_how(
    cli, backend, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    status = cli("--analytics-posthog-host", backend.url, "analytics", "status")
    assert "PostHog:       not configured (no project API key" in status.stdout
    assert "analytics-posthog-project-api-key" in status.stdout
    assert cli("--exit", *backend_args(None, backend.url)).returncode == 0
    assert backend.wait_for(mixpanel=2)
    assert wait_for_last(data_dir)["sent"] == {"mixpanel": 2}
    assert backend.posthog == [] and backend.nowhere == []


def test_a_refused_backend_leaves_the_terminal_untouched_and_its_events_wait_for_it(
    cli, data_dir
) -> None:
    quiet = cli("--exit", "--no-analytics")
    assert cli("analytics", "on").returncode == 0
    dead = cli("--exit", *backend_args(refused_url(), refused_url()))
    assert (dead.returncode, dead.stdout, dead.stderr) == (
        quiet.returncode,
        quiet.stdout,
        quiet.stderr,
    )
    last = wait_for_last(data_dir)
    assert set(last["errors"]) == {"posthog", "mixpanel"}
    assert last["kept"] == {"posthog": 2, "mixpanel": 2}
    assert Spool(data_dir).count() == 2


def test_a_silent_backend_never_holds_up_the_session(cli, data_dir) -> None:
    assert cli("analytics", "on").returncode == 0
    with Backend(mode="silent") as silent:
        run = cli("--exit", *backend_args(silent.url, silent.url), timeout=20)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


@pytest.mark.slow
def test_analytics_send_ends_by_itself_against_a_server_that_trickles(cli, data_dir) -> None:
    with Backend("trickle") as slow:
        spooled(data_dir, 2, to=[posthog_at(slow.url)])
        start = time.monotonic()
        send = cli("analytics", "send", timeout=60)
        took = time.monotonic() - start
    assert took < 30  # one whole-request bound (10 s), not forever
    assert "posthog: sent 0, rejected 0, kept 2 for later (timed out)" in send.stdout
    assert "Waiting: 2 events kept for a later delivery." in send.stdout and send.returncode == 1
    assert send.stderr == ""
    assert Spool(data_dir).count() == 2


def test_opting_out_deletes_waiting_events_and_nothing_is_sent_afterwards(
    cli, data_dir, backend
) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_last(data_dir)
    wait_for_no_uploaders(data_dir.parents[2])
    assert Spool(data_dir).count() == 2
    off = cli("--analytics-disable", "--exit", *backend_args(backend.url))
    assert off.returncode == 0 and "permanently disabled" in off.stderr
    assert Spool(data_dir).count() == 0
    # An uploader started now would wait for this lock, in plain sight, until we let go.
    with locked(data_dir / "upload.lock"):
        assert cli("--analytics", "--exit", *backend_args(backend.url)).returncode == 0
        assert Spool(data_dir).count() == 0 and uploaders(data_dir.parents[2]) == []
    assert deliver(config(data_dir)).sent == {}
    assert backend.requests == []


def test_reset_id_drops_events_waiting_under_the_old_id(cli, data_dir, backend) -> None:
    assert cli("analytics", "on").returncode == 0
    old = json.loads((data_dir / "analytics.json").read_text())["uuid"]
    with locked(data_dir / "upload.lock"):  # the session's uploader waits for its turn
        assert cli("--exit", *backend_args(backend.url)).returncode == 0
        assert wait_until(lambda: uploaders(data_dir.parents[2]), 30)
        assert Spool(data_dir).count() == 2
        reset = cli("analytics", "reset-id")
        assert reset.returncode == 0 and "Deleted 2 waiting events" in reset.stdout
    wait_for_no_uploaders(data_dir.parents[2])  # its turn came after the reset: nothing to send
    new = json.loads((data_dir / "analytics.json").read_text())["uuid"]
    assert new != old
    assert deliver(config(data_dir)).sent == {}
    assert backend.requests == []


def test_three_uploaders_at_once_send_each_event_once(data_dir, backend) -> None:
    records = spooled(data_dir, 1500, to=[posthog_at(backend.url)])
    procs = [start_uploader(data_dir) for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    ids = [e["uuid"] for e in backend.posthog]
    assert sorted(ids) == sorted(r["id"] for r in records)  # all of them, each once


@pytest.mark.parametrize(
    ("setting", "status"),
    [("not json", 2), ('{"no": "data_dir"}', 2), ("[]", 2), ('{"data_dir": "%s"}', 0)],
)
def test_the_uploader_never_prints_and_never_raises(tmp_path, setting, status) -> None:
    from blackboxai.analytics.queue.launch import BOOTSTRAP, CONFIG_ENV

    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    env = {**__import__("os").environ, CONFIG_ENV: setting.replace("%s", str(a_file))}
    run = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP], env=env, capture_output=True, timeout=60
    )
    assert (run.returncode, run.stdout, run.stderr) == (status, b"", b"")


FAKE_SDKS = {
    "import_error": "raise ImportError('simulated broken install')\n",
    "signature_change": textwrap.dedent(
        """
        class APIError(Exception):
            pass
        def batch_post(*args):  # a new major release that dropped keyword arguments
            raise TypeError("batch_post() got an unexpected keyword argument 'batch'")
        """
    ),
}


@pytest.mark.parametrize("fault", sorted(FAKE_SDKS))
def test_a_broken_posthog_sdk_changes_nothing_for_the_session_or_for_mixpanel(
    fault, cli, tmp_path, data_dir, backend
) -> None:
    fake = tmp_path / "fake_sdk" / "posthog"
    fake.mkdir(parents=True)
    if fault == "import_error":
        (fake / "__init__.py").write_text(FAKE_SDKS[fault])
    else:
        (fake / "__init__.py").write_text("")
        (fake / "request.py").write_text(FAKE_SDKS[fault])
        (fake / "version.py").write_text("VERSION = '99.0.0'\n")
    env = {"PYTHONPATH": str(tmp_path / "fake_sdk")}
    assert cli("analytics", "on", env=env).returncode == 0
    quiet = cli("--exit", "--no-analytics", env=env)
    run = cli("--exit", *backend_args(backend.url, backend.url), env=env)
    assert (run.returncode, run.stdout, run.stderr) == (
        quiet.returncode,
        quiet.stdout,
        quiet.stderr,
    )
    assert backend.wait_for(mixpanel=2)
    last = wait_for_last(data_dir)
    assert last["sent"] == {"mixpanel": 2} and "posthog" in last["errors"]
    assert backend.posthog == []
    kept = [posthog_at(backend.url).to_json()]
    assert [r["to"] for r in Spool(data_dir).records()] == [kept, kept]


PROBE = textwrap.dedent(
    """
    import json, os, sys, threading
    from blackboxai.analytics import Analytics
    a = Analytics(logfile=sys.argv[1], posthog_host="http://127.0.0.1:9",
                  posthog_project_api_key="phc_test", mixpanel_token="t")
    if sys.argv[2] == "consent":
        a.opt_in()
    a.enable()  # reports only with stored consent, whatever the caller asks for
    for i in range(50):
        a.event("command_add", i=i)
    a.close()
    heavy = ("posthog", "mixpanel", "requests", "httpx", "socket")
    sdk = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
    print(json.dumps({"reporting": a.reporting, "sdk": sdk, "threads": threading.active_count()}))
    """
)


@pytest.mark.parametrize("mode", ["no-consent", "consent"])
def test_the_session_process_never_imports_an_sdk_or_starts_a_thread(mode, tmp_path) -> None:
    log = tmp_path / "log.jsonl"
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(log), mode], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["reporting"] is (mode == "consent")
    assert report["sdk"] == [] and report["threads"] == 1
    assert len(log.read_text().splitlines()) == 50  # the audit log records either way


def test_debug_explains_the_last_failure_and_is_a_true_dry_run(cli, data_dir) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_last(data_dir)
    waiting = Spool(data_dir).count()
    debug = cli("--exit", *backend_args(refused_url()), env={"BLACKBOXAI_ANALYTICS_DEBUG": "1"})
    assert debug.returncode == 0
    assert "last delivery:" in debug.stderr
    assert "posthog kept 2 for later (ConnectionError)" in debug.stderr
    assert debug.stderr.count("would send: ") == 2  # launched and exit, as they would be sent
    assert Spool(data_dir).count() == waiting  # nothing queued, so nothing can be sent


def test_the_uploader_never_imports_code_from_the_project_directory(
    cli, backend, tmp_path, data_dir
) -> None:
    marker = tmp_path / "PWNED"
    project = Path.cwd()  # the session runs inside the user's (possibly hostile) checkout
    for name in ("posthog", "requests", "mixpanel", "json"):
        package = project / name
        package.mkdir()
        (package / "__init__.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ran')\n")
    # The console script, as users run it (`python -m` itself would put the cwd on the path).
    script = str(Path(sys.executable).parent / "blackboxai")
    for args in (["analytics", "on"], ["--exit", *backend_args(backend.url, backend.url)]):
        assert subprocess.run([script, *args], capture_output=True, timeout=60).returncode == 0
    assert backend.wait_for(posthog=2, mixpanel=2)
    wait_for_last(data_dir)
    assert not marker.exists(), marker.read_text()


def test_analytics_on_under_do_not_track_stores_consent_but_sends_nothing(
    cli, backend, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_last(data_dir)
    wait_for_no_uploaders(data_dir.parents[2])
    (data_dir / "upload.last.json").unlink()
    # An uploader started now would wait for this lock, in plain sight, until we let go.
    with locked(data_dir / "upload.lock"):
        run = cli(*backend_args(backend.url), "analytics", "on", env={"DO_NOT_TRACK": "1"})
        assert run.returncode == 0
        assert uploaders(data_dir.parents[2]) == []
    assert not (data_dir / "upload.last.json").exists()
    assert Spool(data_dir).count() == 2 and backend.requests == []


@pytest.mark.parametrize(
    "content",
    [
        '{"time": "x"}',
        '{"time": 1e300}',
        '{"time": 5, "sent": [1]}',
        '{"time": 5.5, "refused": {"posthog": 1}}',
        '{"time": 5, "expired": -1}',
        "[]",
        "garbage",
    ],
)
def test_a_mangled_delivery_record_never_breaks_status_or_debug(cli, data_dir, content) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "upload.last.json").write_text(content)
    status = cli("analytics", "status")
    debug = cli("--analytics-debug", "--exit")
    assert (status.returncode, debug.returncode) == (0, 0)
    assert "Last delivery: none yet" in status.stdout
    assert "unexpected error" not in status.stderr + debug.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["analytics", "pending", "--clear"],
        ["analytics", "reset-id"],
        ["analytics", "send"],
        ["analytics", "pending"],
        ["analytics", "status"],
        ["--exit"],
        ["--exit", *backend_args("http://127.0.0.1:9")],
    ],
    ids=["pending-clear", "reset-id", "send", "pending", "status", "session", "session-backend"],
)
def test_before_consent_nothing_is_written_to_the_data_dir(cli, data_dir, command) -> None:
    data_dir.mkdir(parents=True)
    cli(*command)
    assert sorted(p.name for p in data_dir.iterdir()) == []
