"""Delivery via the real PostHog and Mixpanel SDKs to loopback: ids, batches, failures, recovery."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.backends import SinkError
from blackboxai.analytics.backends.posthog_sink import PostHogSink
from blackboxai.analytics.spool import Spool
from blackboxai.analytics.state import StateStore
from blackboxai.analytics.upload import UploadConfig, deliver
from loopback import Backend, refused_url


def backend_args(posthog: str, mixpanel: str | None = None) -> list[str]:
    args = ["--analytics-posthog-host", posthog, "--analytics-posthog-project-api-key", "phc_test"]
    if mixpanel:
        args += ["--analytics-mixpanel-token", "mp_token", "--analytics-mixpanel-host", mixpanel]
    return args


def wait_for_uploader(data_dir: Path, timeout: float = 20) -> dict:
    """The detached uploader writes upload.last.json when a run ends."""
    path = data_dir / "upload.last.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.05)
    raise AssertionError("the uploader never finished")


def consented(data_dir: Path, **kwargs: object) -> Analytics:
    analytics = Analytics(data_dir=data_dir, posthog_project_api_key="phc_test", **kwargs)
    assert analytics.opt_in()
    return analytics


def config(data_dir: Path, posthog: str | None, mixpanel: str | None = None) -> UploadConfig:
    return UploadConfig(
        str(data_dir),
        (posthog, "phc_test") if posthog else None,
        (mixpanel, "mp_token") if mixpanel else None,
        connect_timeout=1.0,
        read_timeout=0.5,
    )


def test_a_consented_session_reaches_both_backends_with_one_stable_id_per_event(
    cli, backend, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    run = cli("--exit", "--analytics-log", str(log), *backend_args(backend.url, backend.url))
    assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
    assert backend.wait_for(posthog=2, mixpanel=2)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    uuid = logged[0]["user_id"]
    assert [e["event"] for e in backend.posthog] == ["launched", "exit"]
    assert [e["event"] for e in backend.mixpanel] == ["launched", "exit"]
    assert {e["distinct_id"] for e in backend.posthog} == {uuid}
    assert {e["properties"]["distinct_id"] for e in backend.mixpanel} == {uuid}
    # The id a line has in the audit log is the id each backend deduplicates on.
    assert [e["uuid"] for e in backend.posthog] == [e["id"] for e in logged]
    assert [e["properties"]["$insert_id"] for e in backend.mixpanel] == [e["id"] for e in logged]
    assert backend.posthog[1]["properties"]["reason"] == "exit_flag"
    assert backend.mixpanel[1]["properties"]["reason"] == "exit_flag"
    assert backend.posthog[0]["properties"]["$geoip_disable"] is True
    assert backend.posthog_bodies[0]["api_key"] == "phc_test"
    assert backend.mixpanel[0]["properties"]["token"] == "mp_token"


def test_a_refused_backend_leaves_the_terminal_untouched_and_events_wait_for_a_later_session(
    cli, backend, data_dir
) -> None:
    quiet = cli("--exit", "--no-analytics")
    assert cli("analytics", "on").returncode == 0
    dead = cli("--exit", *backend_args(refused_url(), refused_url()))
    assert (dead.returncode, dead.stdout, dead.stderr) == (
        quiet.returncode,
        quiet.stdout,
        quiet.stderr,
    )
    last = wait_for_uploader(data_dir)
    assert set(last["errors"]) == {"posthog", "mixpanel"}
    assert Spool(data_dir).count() == 2

    (data_dir / "upload.last.json").unlink()
    assert cli("--exit", *backend_args(backend.url, backend.url)).returncode == 0
    assert backend.wait_for(posthog=4, mixpanel=4)
    wait_for_uploader(data_dir)
    ids = [e["uuid"] for e in backend.posthog]
    assert len(ids) == len(set(ids)) == 4  # the two waiting events plus this session's, each once
    assert sorted(e["event"] for e in backend.posthog) == ["exit", "exit", "launched", "launched"]
    assert Spool(data_dir).count() == 0


def test_a_silent_backend_never_holds_up_the_session(cli, data_dir) -> None:
    assert cli("analytics", "on").returncode == 0
    with Backend(mode="silent") as silent:
        run = cli("--exit", *backend_args(silent.url, silent.url), timeout=20)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_a_silent_backend_times_out_in_the_uploader_and_keeps_the_events(data_dir) -> None:
    analytics = consented(data_dir)
    for i in range(3):
        analytics.event("message_send", n=i)
    analytics.spool.append(analytics._buffer)  # what close() does, without launching
    with Backend(mode="silent") as silent:
        outcome = deliver(config(data_dir, silent.url))
    assert outcome.sent == {} and "posthog" in outcome.errors
    assert outcome.kept == {"posthog": 3}
    assert Spool(data_dir).count() == 3


def test_a_5xx_is_retried_once_then_kept_and_delivered_when_the_backend_recovers(data_dir) -> None:
    analytics = consented(data_dir, mixpanel_token="t")
    analytics.event("launched")
    analytics.spool.append(analytics._buffer)
    waits: list[float] = []
    with Backend(mode="error") as flaky:
        outcome = deliver(config(data_dir, flaky.url, flaky.url), sleep=waits.append)
        assert flaky.requests.count("/batch/") == 2 and flaky.requests.count("/track") == 2
        assert waits and all(w <= 3 for w in waits)
        assert outcome.kept == {"posthog": 1, "mixpanel": 1}
        flaky.mode = "ok"
        outcome = deliver(config(data_dir, flaky.url, flaky.url), sleep=waits.append)
        assert outcome.sent == {"posthog": 1, "mixpanel": 1}
        assert [e["event"] for e in flaky.posthog] == ["launched"]
        assert [e["event"] for e in flaky.mixpanel] == ["launched"]
    assert Spool(data_dir).count() == 0


def test_one_backend_failing_never_affects_the_other(data_dir, backend) -> None:
    analytics = Analytics(
        data_dir=data_dir, posthog_host=backend.url, mixpanel_token="t", mixpanel_host=refused_url()
    )
    assert analytics.opt_in()
    for name in ("a", "b"):
        analytics.event(name)
    analytics.spool.append(analytics._buffer)
    outcome = deliver(config(data_dir, backend.url, refused_url()))
    assert outcome.sent == {"posthog": 2} and outcome.kept == {"mixpanel": 2}
    waiting = list(Spool(data_dir).records())
    assert [r["to"] for r in waiting] == [["mixpanel"], ["mixpanel"]]
    deliver(config(data_dir, backend.url, backend.url))
    assert [e["event"] for e in backend.mixpanel] == ["a", "b"]
    assert [e["event"] for e in backend.posthog] == ["a", "b"]  # not resent to PostHog


def test_a_thousand_events_go_out_in_a_handful_of_requests(data_dir, backend) -> None:
    analytics = consented(
        data_dir, posthog_host=backend.url, mixpanel_token="t", mixpanel_host=backend.url
    )
    for i in range(1000):
        analytics.event("command_add", i=i)
    analytics.spool.append(analytics._buffer)
    outcome = deliver(config(data_dir, backend.url, backend.url))
    assert outcome.sent == {"posthog": 1000, "mixpanel": 1000}
    assert backend.requests.count("/batch/") == 4  # 250 a batch
    assert backend.requests.count("/track") == 20  # Mixpanel's limit: 50 a request
    assert len({e["uuid"] for e in backend.posthog}) == 1000


def test_opting_out_deletes_waiting_events_and_nothing_is_sent_afterwards(
    cli, data_dir, backend
) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_uploader(data_dir)
    assert Spool(data_dir).count() == 2
    off = cli("--analytics-disable", "--exit", *backend_args(backend.url))
    assert off.returncode == 0 and "permanently disabled" in off.stdout
    assert Spool(data_dir).count() == 0
    assert cli("--analytics", "--exit", *backend_args(backend.url)).returncode == 0
    assert deliver(config(data_dir, backend.url)).sent == {}
    time.sleep(0.5)
    assert backend.requests == []


def test_an_opt_out_during_delivery_stops_it_before_the_next_batch(data_dir, backend) -> None:
    analytics = consented(data_dir)
    for i in range(600):
        analytics.event("e", i=i)
    analytics.spool.append(analytics._buffer)
    real = PostHogSink(backend.url, "phc_test", 1.0, 1.0)

    class OptOutAfterFirstBatch:
        name, max_batch = "posthog", 250

        def send(self, batch: list) -> None:
            real.send(batch)
            StateStore(data_dir).update(lambda s: s.__class__(s.uuid, True, True))

        def close(self) -> None:
            real.close()

    outcome = deliver(config(data_dir, backend.url), sinks={"posthog": OptOutAfterFirstBatch()})
    assert len(backend.posthog) == 250
    assert outcome.discarded == 600
    assert Spool(data_dir).count() == 0


def test_reset_id_drops_events_waiting_under_the_old_id(cli, data_dir, backend) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_uploader(data_dir)
    old = json.loads((data_dir / "analytics.json").read_text())["uuid"]
    reset = cli("analytics", "reset-id")
    assert reset.returncode == 0 and "Deleted 2 waiting events" in reset.stdout
    new = json.loads((data_dir / "analytics.json").read_text())["uuid"]
    assert new != old
    assert deliver(config(data_dir, backend.url)).sent == {}
    assert backend.requests == []


def test_two_uploaders_at_once_never_send_the_same_event_twice(data_dir, backend) -> None:
    analytics = consented(data_dir)
    for i in range(1500):
        analytics.event("e", i=i)
    analytics.spool.append(analytics._buffer)
    env_config = config(data_dir, backend.url).to_json()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "blackboxai.analytics.upload"],
            env={**__import__("os").environ, "BLACKBOXAI_UPLOAD_CONFIG": env_config},
        )
        for _ in range(3)
    ]
    for proc in procs:
        assert proc.wait(timeout=30) == 0
    deliver(config(data_dir, backend.url))  # whatever a busy uploader left behind
    ids = [e["uuid"] for e in backend.posthog]
    assert len(ids) == 1500 and len(set(ids)) == 1500


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
    last = wait_for_uploader(data_dir)
    assert last["sent"] == {"mixpanel": 2} and "posthog" in last["errors"]
    assert backend.posthog == []
    assert [r["to"] for r in Spool(data_dir).records()] == [["posthog"], ["posthog"]]


def test_a_sink_raising_anything_is_contained_by_the_uploader(data_dir) -> None:
    analytics = consented(data_dir)
    analytics.event("launched")
    analytics.spool.append(analytics._buffer)

    class Exploding:
        name, max_batch = "posthog", 250

        def send(self, batch: list) -> None:
            raise RuntimeError("an SDK bug")

        def close(self) -> None:
            raise SinkError("network", "close failed too")

    outcome = deliver(config(data_dir, "http://127.0.0.1:9"), sinks={"posthog": Exploding()})
    assert outcome.errors == {"posthog": "SDK error RuntimeError"}
    assert Spool(data_dir).count() == 1


PROBE = textwrap.dedent(
    """
    import json, os, sys, threading
    from blackboxai.analytics import Analytics
    a = Analytics(logfile=sys.argv[1], posthog_host="http://127.0.0.1:9", mixpanel_token="t")
    if sys.argv[2] == "consent":
        a.opt_in()
    a.decide(None, tty=False)
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
    wait_for_uploader(data_dir)
    waiting = Spool(data_dir).count()
    debug = cli("--exit", *backend_args(refused_url()), env={"BLACKBOXAI_ANALYTICS_DEBUG": "1"})
    assert debug.returncode == 0
    assert "last delivery:" in debug.stderr and "posthog failed (ConnectionError)" in debug.stderr
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
    wait_for_uploader(data_dir)
    assert not marker.exists(), marker.read_text()


def test_an_opt_out_while_a_batch_is_in_flight_leaves_nothing_behind(data_dir) -> None:
    analytics = consented(data_dir)
    for i in range(3):
        analytics.event("e", i=i)
    analytics.spool.append(analytics._buffer)

    class OptOutThenFail:
        """The user runs `analytics off` while this batch is on the wire, and it then fails."""

        name, max_batch = "posthog", 250

        def send(self, batch: list) -> None:
            assert Analytics(data_dir=data_dir).disable(permanently=True)
            raise SinkError("network", "ConnectionError")

        def close(self) -> None:
            pass

    outcome = deliver(config(data_dir, "http://127.0.0.1:9"), sinks={"posthog": OptOutThenFail()})
    assert outcome.sent == {}
    assert Spool(data_dir).count() == 0  # the failed batch was not put back after the opt-out
    assert list(data_dir.glob("claimed-*")) == []


def test_analytics_on_under_do_not_track_stores_consent_but_sends_nothing(
    cli, backend, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *backend_args(refused_url())).returncode == 0
    wait_for_uploader(data_dir)
    (data_dir / "upload.last.json").unlink()
    run = cli(*backend_args(backend.url), "analytics", "on", env={"DO_NOT_TRACK": "1"})
    assert run.returncode == 0
    time.sleep(1.0)
    assert backend.requests == [] and not (data_dir / "upload.last.json").exists()
    assert Spool(data_dir).count() == 2


@pytest.mark.parametrize(
    "content", ['{"time": "x"}', '{"time": 1e300}', '{"time": 5, "sent": [1]}', "[]", "garbage"]
)
def test_a_mangled_delivery_record_never_breaks_status_or_debug(cli, data_dir, content) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "upload.last.json").write_text(content)
    status = cli("analytics", "status")
    debug = cli("--analytics-debug", "--exit")
    assert (status.returncode, debug.returncode) == (0, 0)
    assert "Last delivery: none yet" in status.stdout
    assert "unexpected error" not in status.stderr + debug.stderr
