"""What `analytics status` says about a team collector, through the real CLI and its detached
uploader against the strict OTLP stand-in: each destination's line is about that destination
alone, and what went wrong is said, in the words docs/team-telemetry.md shows."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.delivery.otlp_cli import delivered, destination_lines, free_port, otlp
from tests.loopback import Backend
from tests.otlp_collector import Collector
from tests.support import wait_for_last

LOGS, METRICS = "otlp-logs", "otlp-metrics"


def status_json(cli: Any, url: str) -> dict[str, Any]:
    run = cli(*otlp(url), "analytics", "status", "--json")
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def status_text(cli: Any, url: str) -> str:
    run = cli(*otlp(url), "analytics", "status")
    assert run.returncode == 0, run.stderr
    return str(run.stdout)


def test_after_a_change_of_endpoint_each_collector_has_its_own_line(cli, data_dir, home) -> None:
    """Events recorded for a collector that is down still go there after the user names
    another: the working one's line must not take the dead one's error, nor its counts."""
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", *otlp(down)).returncode == 0
    first = delivered(data_dir, home)
    assert first["kept"] == {LOGS: 2, METRICS: 1}
    with Collector() as collector:
        assert cli("--exit", *otlp(collector.url)).returncode == 0
        second = delivered(data_dir, home, after=first["time"] + 0.001)
        assert collector.wait_for(logs=2, points=1)
        found = status_json(cli, collector.url)["destinations"]
    health = {(d["name"], d["host"]): d for d in found}
    assert second["sent"] == {LOGS: 2, METRICS: 1}  # the new collector took its own
    assert second["kept"] == {LOGS: 2, METRICS: 1}  # the old one's still wait for it
    for name, signal in ((LOGS, "logs"), (METRICS, "metrics")):
        working = health[(name, f"{collector.url}/v1/{signal}")]
        dead = health[(name, f"{down}/v1/{signal}")]
        assert working["last_error"] is None, working
        assert working["accepted"] == (2 if name == LOGS else 1)
        assert dead["accepted"] == 0
        assert dead["last_error"].startswith("no answer")
        assert dead["last_error_time"] == pytest.approx(second["time"], abs=0.01)


def test_credentials_in_the_endpoint_are_used_and_never_shown(
    cli, data_dir, home, tmp_path
) -> None:
    """An endpoint may carry credentials (https://user:token@host): requests sends them as
    basic auth. Status, the audit log, `analytics pending` and the health record name the
    collector without them, as they never show a key, a token or a header."""
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    basic = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    with Collector(require_headers={"authorization": basic}) as collector:
        secret = collector.url.replace("http://", "http://alice:s3cret@")
        run = cli("--exit", "--analytics-log", str(log), *otlp(secret))
        assert run.returncode == 0, run.stderr
        assert collector.wait_for(logs=2, points=1)  # the credentials were used
        delivered(data_dir, home)
        shown = [status_text(cli, secret), json.dumps(status_json(cli, secret))]
        collector.fail(404, times=2)  # a wrong path names the URL in its error
        assert cli("--exit", *otlp(secret)).returncode == 0
        delivered(data_dir, home, after=wait_for_last(data_dir)["time"] + 0.001)
        shown += [status_text(cli, secret), json.dumps(status_json(cli, secret))]
        pending = cli(*otlp(secret), "analytics", "pending").stdout
    shown += [log.read_text(), pending, (data_dir / "delivery.health.json").read_text()]
    masked = collector.url.replace("http://", "http://<set>@")
    assert f"logs to {masked}/v1/logs, metrics to {masked}/v1/metrics" in shown[0]
    assert f'"host":"{masked}/v1/logs"' in shown[4]  # the audit log still names where
    assert "nothing takes OTLP at " + masked in shown[2]
    for text in shown:
        assert "s3cret" not in text and "alice" not in text


def test_a_200_that_is_not_an_otlp_answer_is_said_in_status(cli, data_dir, home) -> None:
    """Something that answers any POST with 200 and a page of its own (a web UI, a catch-all
    proxy) is not a collector: what it was sent is counted as taken (it said 2xx), and the
    Destinations line says the answer was not OTLP, instead of a quiet "accepted"."""
    assert cli("analytics", "on").returncode == 0
    with Backend() as web:
        web.fail(200, times=2)  # 200, text/plain, for anything
        assert cli("--exit", *otlp(web.url)).returncode == 0
        last = delivered(data_dir, home)
        text = status_text(cli, web.url)
    assert web.answers == [("/v1/logs", 200), ("/v1/metrics", 200)]
    assert last["sent"] == {LOGS: 2, METRICS: 1}
    logs, metrics = destination_lines(text)
    said = (
        "HTTP 200, but not an OTLP answer (unexpected Content-Type 'text/plain'): counted as "
        "taken; is this a collector's OTLP endpoint?"
    )
    assert logs.startswith(f"otlp-logs {web.url}/v1/logs: 2 accepted, the last at ")
    assert logs.endswith(f"; last error {logs.split('; last error ')[1][:16]}: {said}")
    assert metrics.endswith(f": {said}")


def test_a_401_is_one_line_naming_the_setting_as_the_docs_show_it(cli, data_dir, home) -> None:
    """docs/team-telemetry.md shows a refused token's line; the line names the setting that
    holds the token, and says the host once (at its start)."""
    assert cli("analytics", "on").returncode == 0
    with Collector(require_headers={"authorization": "Bearer s3cret"}) as collector:
        assert cli("--exit", *otlp(collector.url)).returncode == 0
        delivered(data_dir, home)
        text = status_text(cli, collector.url)
    error = re.compile(
        r"; last error \d{4}-\d\d-\d\d \d\d:\d\d: HTTP 401: [^;]+; the collector refused the "
        r"credentials \(analytics-otlp-headers\)$"
    )
    for line, signal in zip(destination_lines(text), ("logs", "metrics"), strict=True):
        where = f"{collector.url}/v1/{signal}"
        assert line.startswith(f"otlp-{signal} {where}: 0 accepted; last error ")
        assert error.search(line), line
        assert line.count(where) == 1
    docs = (Path(__file__).parents[3] / "docs" / "team-telemetry.md").read_text()
    example = next(
        line for line in docs.splitlines() if line.startswith("Destinations:  otlp-logs")
    )
    assert error.search(example), example
