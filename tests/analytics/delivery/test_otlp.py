"""Team telemetry end to end: the real CLI and its detached uploader against the strict OTLP
stand-in (tests/otlp_collector.py), as docs/team-telemetry.md promises it.

Every wait is on an event: the stand-in keeping what it was sent (`collector.wait_for`), the
uploader's outcome file (`wait_for_last`), the uploader processes ending (`wait_for_no_uploaders`).
"Nothing arrives" is proved against a delivery that did happen: a run to another destination, or
a later consented run whose uploader would have carried anything queued before it."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pexpect
import pytest

import blackboxai
from blackboxai.analytics.queue.spool import Spool
from blackboxai.question import QUESTION, collector_line
from tests.analytics.delivery.otlp_cli import delivered, destination_lines, free_port, otlp
from tests.fake_openai import FakeOpenAI, Reply
from tests.loopback import Backend
from tests.otlp_collector import JSON, PROTOBUF, Collector, LogView, PointView, tls_files
from tests.support import make_repo, uploaders, wait_for_no_uploaders

LOGS, METRICS = "otlp-logs", "otlp-metrics"
# Attributes of a record that are not properties.
IDS = ("event.name", "log.record.uid", "user.id", "session.id")
KEY = "sk-test-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
PROMPT = "please rename the greeting function to salute"
RENAME = (  # a diff edit: one line removed, two added
    'greet.py\n<<<<<<< SEARCH\ndef greeting():\n=======\ndef salute():\n    """Hi."""\n'
    ">>>>>>> REPLACE\n"
)
NO_MATCH = (
    "greet.py\n<<<<<<< SEARCH\ndef nothing_like_this():\n=======\ndef x():\n>>>>>>> REPLACE\n"
)
USAGE = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150, "cost": 0.0042}
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


# -- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as server:
        yield server


@pytest.fixture
def source(isolated: Path) -> Path:
    path = isolated / "work" / "greet.py"
    path.write_text("def greeting():\n    return 'hi'\n")
    return path


def model(api: FakeOpenAI) -> list[str]:
    return ["--openai-api-base", api.url, "--openai-api-key", KEY]


def audit(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def ns(seconds: float) -> int:
    """An audit log time (epoch seconds, ms precision) in nanoseconds, exactly."""
    return int(Decimal(repr(seconds)) * 1_000_000_000)


def key(log: LogView) -> tuple[str, int, Any]:
    """What tells one exported event from another: its name, its own time and its session."""
    return (log.event_name, int(log.record.time_unix_nano), log.attributes.get("session.id"))


def logged_key(event: dict[str, Any]) -> tuple[str, int, Any]:
    return (event["event"], ns(event["time"]), event["properties"].get("session_id"))


def own_attributes(log: LogView) -> dict[str, Any]:
    return {k: v for k, v in log.attributes.items() if k not in IDS}


def sums(points: list[PointView]) -> dict[tuple[str, tuple[Any, ...]], int | float]:
    """(metric, sorted attributes) -> the values of its points, added up."""
    out: dict[tuple[str, tuple[Any, ...]], int | float] = {}
    for p in points:
        k = (p.name, tuple(sorted(p.attributes.items())))
        out[k] = out.get(k, 0) + p.value
    return out


def uuid_of(data_dir: Path) -> str:
    return str(json.loads((data_dir / "analytics.json").read_text())["uuid"])


def our_resource(**extra: str) -> dict[str, str]:
    machine = platform.machine().lower()
    return {
        **extra,
        "service.name": "blackboxai",
        "service.version": blackboxai.__version__,
        "os.type": platform.system().lower(),
        "host.arch": ARCHES.get(machine, machine),
    }


def status(cli: Any, url: str | None, *args: str, env: dict[str, str] | None = None) -> Any:
    run = cli(*(otlp(url) if url else []), "analytics", "status", *args, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout) if "--json" in args else run.stdout


# -- a consented session --------------------------------------------------------------------------
def test_a_message_session_exports_each_event_as_a_log_record_and_its_usage_as_metrics(
    cli, collector, data_dir, home, source, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    env = {"OTEL_RESOURCE_ATTRIBUTES": "team=platform,service.name=impostor,env=dev%2Ceu"}
    with FakeOpenAI([Reply(RENAME, usage=USAGE)]) as api:
        run = cli(
            *model(api),
            *["--edit-format", "diff", "--message", PROMPT, "greet.py"],
            *["--analytics-log", str(log), *otlp(collector.url)],
            env=env,
        )
    assert run.returncode == 0, run.stderr
    assert source.read_text() == 'def salute():\n    """Hi."""\n    return \'hi\'\n'
    logged = audit(log)
    names = [e["event"] for e in logged]
    assert names == ["launched", "cli session", "message_send", "edit_applied", "exit"]
    assert collector.wait_for(logs=5, points=7)
    last = delivered(data_dir, home)
    assert last["sent"] == {LOGS: 5, METRICS: 3}  # launched, message_send, edit_applied

    records = collector.log_records()
    assert [r.event_name for r in records] == names
    session = logged[0]["properties"]["session_id"]
    resource = our_resource(team="platform", env="dev,eu")
    for r, e in zip(records, logged, strict=True):
        assert r.record.body.string_value == r.attributes["event.name"] == e["event"]
        assert r.attributes["user.id"] == e["user_id"] == uuid_of(data_dir)
        assert r.attributes["log.record.uid"] == e["id"]  # the event's own id, as logged
        assert r.attributes["session.id"] == e["properties"]["session_id"] == session
        assert r.record.time_unix_nano == ns(e["time"])  # the event's own time
        assert r.record.observed_time_unix_nano >= r.record.time_unix_nano
        assert r.record.severity_number == 9  # INFO
        properties = {k: v for k, v in e["properties"].items() if k != "session_id"}
        assert own_attributes(r) == properties
        assert {k: type(v) for k, v in own_attributes(r).items()} == {
            k: type(v) for k, v in properties.items()
        }  # typed: ints as ints, floats as floats
        assert r.resource == resource
        assert (r.scope, r.scope_version) == ("blackboxai", blackboxai.__version__)
    assert records[2].attributes["prompt_tokens"] == 120
    assert records[2].attributes["cost_usd"] == 0.0042
    assert (records[3].attributes["lines_added"], records[3].attributes["lines_removed"]) == (2, 1)

    points = collector.points()
    assert sums(points) == {
        ("blackboxai.session.count", ()): 1,
        ("blackboxai.token.usage", (("model", "gpt-4o-mini"), ("type", "input"))): 120,
        ("blackboxai.token.usage", (("model", "gpt-4o-mini"), ("type", "output"))): 30,
        ("blackboxai.cost.usage", (("model", "gpt-4o-mini"),)): 0.0042,
        ("blackboxai.edit.count", (("edit_format", "diff"), ("outcome", "applied"))): 1,
        ("blackboxai.lines_of_code.count", (("type", "added"),)): 2,
        ("blackboxai.lines_of_code.count", (("type", "removed"),)): 1,
    }
    assert len(points) == 7  # one point per stream
    for p in points:
        assert (p.kind, p.temporality, p.monotonic) == ("sum", 1, True)  # delta by default
        assert p.start_ns == ns(logged[0]["time"]) < p.end_ns  # from the first event on
        assert p.resource == resource
        assert "user.id" not in p.attributes and "session.id" not in p.attributes
    assert {p.name: p.unit for p in points}["blackboxai.token.usage"] == "tokens"


def test_each_run_has_its_own_session_id_and_delta_windows_follow_on(
    cli, collector, data_dir, home, source, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    first_log, second_log = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    commands = cli(
        "--analytics-log", str(first_log), *otlp(collector.url), input="/ls\n/add greet.py\n/ls\n"
    )
    assert commands.returncode == 0, commands.stderr
    first = delivered(data_dir, home)
    with FakeOpenAI([Reply(NO_MATCH)]) as api:
        failed = cli(
            *model(api),
            *["--edit-format", "diff", "--message", PROMPT, "greet.py"],
            *["--analytics-log", str(second_log), *otlp(collector.url)],
        )
    assert failed.returncode == 1  # the edit did not land
    delivered(data_dir, home, after=first["time"] + 0.001)

    runs = [audit(first_log), audit(second_log)]
    assert [e["event"] for e in runs[0]] == [
        "launched",
        "cli session",
        "command_ls",
        "command_add",
        "command_ls",
        "exit",
    ]
    assert "edit_failed" in [e["event"] for e in runs[1]]
    ids = [{e["properties"]["session_id"] for e in run} for run in runs]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]
    by_session = Counter(r.attributes["session.id"] for r in collector.log_records())
    assert by_session == {ids[0].pop(): len(runs[0]), ids[1].pop(): len(runs[1])}

    counted = sums(collector.points())
    assert counted[("blackboxai.command.count", (("command", "ls"),))] == 2
    assert counted[("blackboxai.command.count", (("command", "add"),))] == 1
    assert counted[("blackboxai.edit.count", (("edit_format", "diff"), ("outcome", "failed")))] == 1
    assert ("blackboxai.edit.count", (("edit_format", "diff"), ("outcome", "applied"))) not in (
        counted
    )
    one, two = collector.points("blackboxai.session.count")
    assert (one.value, two.value) == (1, 1)
    assert two.start_ns == one.end_ns < two.end_ns  # the second window starts where one ended
    assert one.start_ns == ns(runs[0][0]["time"])


def test_cumulative_sums_keep_their_start_when_asked_for(cli, collector, data_dir, home) -> None:
    assert cli("analytics", "on").returncode == 0
    env = {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative"}
    assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
    first = delivered(data_dir, home)
    assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
    delivered(data_dir, home, after=first["time"] + 0.001)
    one, two = collector.points("blackboxai.session.count")
    assert (one.temporality, two.temporality) == (2, 2)  # CUMULATIVE
    assert (one.value, two.value) == (1, 2)
    assert one.start_ns == two.start_ns and one.end_ns < two.end_ns


def test_ids_are_on_metric_points_only_when_the_team_asks(cli, collector, data_dir, home) -> None:
    assert cli("analytics", "on").returncode == 0
    env = {"OTEL_METRICS_INCLUDE_USER_ID": "true", "OTEL_METRICS_INCLUDE_SESSION_ID": "true"}
    assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
    delivered(data_dir, home)
    (point,) = collector.points()
    (launched, _) = collector.log_records()
    assert point.name == "blackboxai.session.count"
    assert point.attributes == {
        "user.id": uuid_of(data_dir),
        "session.id": launched.attributes["session.id"],
    }


def test_http_json_is_sent_as_otlp_json_and_gzipped_when_asked(
    cli, collector, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    env = {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}
    args = ["--analytics-log", str(log), *otlp(collector.url)]
    assert cli("--exit", *args, "--analytics-otlp-protocol", "http/json", env=env).returncode == 0
    assert delivered(data_dir, home)["sent"] == {LOGS: 2, METRICS: 1}
    assert [(r.path, r.status) for r in collector.requests] == [
        ("/v1/logs", 200),
        ("/v1/metrics", 200),
    ]  # decoded under the spec's own JSON rules (the stand-in's default)
    for received in collector.requests:
        assert received.headers["content-type"] == JSON
        assert received.headers["content-encoding"] == "gzip"
        assert received.body[:2] == b"\x1f\x8b"
    assert sorted(map(key, collector.log_records())) == sorted(map(logged_key, audit(log)))
    assert [p.value for p in collector.points("blackboxai.session.count")] == [1]
    run = cli(*otlp(collector.url, "--analytics-otlp-protocol", "http/json"), "analytics", "status")
    assert f"metrics to {collector.url}/v1/metrics (http/json)" in run.stdout


def test_a_signals_own_endpoint_variable_is_used_as_it_is(cli, data_dir, home) -> None:
    assert cli("analytics", "on").returncode == 0
    with Collector(paths={"logs": "/ingest/logs"}) as collector:
        env = {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": collector.url_for("logs")}
        assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
        assert delivered(data_dir, home)["sent"] == {LOGS: 2, METRICS: 1}
        assert collector.answers() == [("/ingest/logs", 200), ("/v1/metrics", 200)]
        shown = status(cli, collector.url, "--json", env=env)["collector"]
    assert shown == {
        "logs": collector.base + "/ingest/logs",
        "metrics": collector.base + "/v1/metrics",
        "protocol": "http/protobuf",
        "required_by": None,
    }


def test_a_variable_that_cannot_be_used_is_one_warning_line(cli, collector) -> None:
    env = {"OTEL_EXPORTER_OTLP_TIMEOUT": "ten", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}
    run = cli(*otlp(collector.url), "analytics", "status", env=env)
    assert run.returncode == 0
    assert run.stderr.splitlines() == [
        "blackboxai: OTEL_EXPORTER_OTLP_TIMEOUT 'ten' is not a whole number of milliseconds: "
        "ignored",
        "blackboxai: OTEL_EXPORTER_OTLP_COMPRESSION 'zstd': not used",
    ]
    assert "Collector:     logs to " in run.stdout  # the rest still works


def test_the_first_run_question_names_the_collector_and_a_yes_sends_this_run_to_it(
    collector, data_dir, home, tmp_path
) -> None:
    log = tmp_path / "events.jsonl"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", "--exit", "--analytics-log", str(log), *otlp(collector.url)],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    child.expect_exact(collector_line(collector.url.removeprefix("http://")))
    child.expect_exact(QUESTION.strip())
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert collector.wait_for(logs=2, points=1)
    assert delivered(data_dir, home)["sent"] == {LOGS: 2, METRICS: 1}
    logged = audit(log)
    assert Counter(map(key, collector.log_records())) == Counter(map(logged_key, logged))
    assert {r.attributes["user.id"] for r in collector.log_records()} == {uuid_of(data_dir)}


def test_a_session_never_imports_opentelemetry_or_an_http_client(
    cli, collector, data_dir, home
) -> None:
    assert cli("analytics", "on").returncode == 0
    run = cli("--exit", *otlp(collector.url), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert run.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert (
        "blackboxai.analytics.destinations.collector" in imported
    )  # the list is the session's own
    heavy = ("opentelemetry", "google", "requests", "urllib3", "socket", "ssl")
    assert sorted(m for m in imported if m.split(".")[0] in heavy) == []
    assert collector.wait_for(logs=2, points=1)  # the uploader, a process of its own, sends
    delivered(data_dir, home)


# -- nothing arrives ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "args", "env"),
    [
        pytest.param(None, [], {}, id="not-answered"),
        pytest.param("on", [], {"DO_NOT_TRACK": "1"}, id="do-not-track"),
        pytest.param("on", [], {"CI": "true"}, id="ci"),
        pytest.param("on", ["--no-analytics"], {}, id="no-analytics"),
        pytest.param("off", [], {}, id="opted-out"),
    ],
)
def test_without_consent_for_this_run_nothing_reaches_the_collector(
    cli, collector, data_dir, home, tmp_path, before, args, env
) -> None:
    if before is not None:
        assert cli("analytics", before).returncode == 0
    skipped, control = tmp_path / "skipped.jsonl", tmp_path / "control.jsonl"
    run = cli("--exit", "--analytics-log", str(skipped), *otlp(collector.url), *args, env=env)
    assert run.returncode == 0, run.stderr
    recorded = audit(skipped)
    assert [e["event"] for e in recorded] == ["launched", "exit"]  # recorded, for the user
    assert not any("to" in e for e in recorded)  # and queued nowhere
    assert [p for p in Spool(data_dir).files() if p.exists()] == []  # no spool at all
    wait_for_no_uploaders(home)
    assert collector.requests == []
    # The control: consent, then a run to the same collector. Its uploader would carry anything
    # the first run had queued (where an event goes is fixed when it is recorded).
    assert cli("analytics", "on").returncode == 0
    assert cli("--exit", "--analytics-log", str(control), *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    assert last["sent"] == {LOGS: 2, METRICS: 1}
    assert (last["discarded"], last["malformed"], last["old_format"]) == (0, 0, 0)
    assert Counter(map(key, collector.log_records())) == Counter(map(logged_key, audit(control)))
    assert [p.value for p in collector.points()] == [1]


def posthog(url: str) -> list[str]:
    return ["--analytics-posthog-host", url, "--analytics-posthog-project-api-key", "phc_test"]


def test_a_cloned_projects_endpoint_is_ignored_with_one_line_and_nothing_goes_there(
    cli, collector, data_dir, home, isolated, tmp_path
) -> None:
    work = make_repo(isolated / "work")
    (work / ".blackboxai.conf.yml").write_text(f"analytics-otlp-endpoint: {collector.url}\n")
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    with Backend() as backend:
        run = cli("--exit", "--analytics-log", str(log), *posthog(backend.url))
        assert run.returncode == 0
        assert run.stderr.splitlines() == [
            f"blackboxai: ignoring analytics-otlp-endpoint in config file "
            f"{work / '.blackboxai.conf.yml'}, line 1: a project's config file cannot choose "
            "where data or keys go; set it in ~/.blackboxai.conf.yml, a --config file, "
            "BLACKBOXAI_ANALYTICS_OTLP_ENDPOINT or --analytics-otlp-endpoint"
        ]
        assert backend.wait_for(posthog=2)  # this run did deliver: to PostHog alone
        last = delivered(data_dir, home)
    assert last["sent"] == {"posthog": 2}
    assert [e["uuid"] for e in backend.posthog] == [e["id"] for e in audit(log)]
    assert {d["name"] for e in audit(log) for d in e["to"]} == {"posthog"}
    assert collector.requests == []
    shown = cli("analytics", "status").stdout
    assert "Collector:     not configured (a team's own: set analytics-otlp-endpoint)" in shown


def test_otel_exporter_variables_alone_never_turn_it_on(
    cli, collector, data_dir, home, tmp_path
) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": collector.url_for("logs"),
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": collector.url_for("metrics"),
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
    }
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    with Backend() as backend:
        run = cli("--exit", "--analytics-log", str(log), *posthog(backend.url), env=env)
        assert (run.returncode, run.stderr) == (0, "")
        assert backend.wait_for(posthog=2)
        last = delivered(data_dir, home)
    assert last["sent"] == {"posthog": 2}
    assert {d["name"] for e in audit(log) for d in e["to"]} == {"posthog"}
    assert collector.requests == []
    shown = status(cli, None, "--json", env=env)
    assert shown["collector"] is None
    assert [d["name"] for d in shown["destinations"]] == ["posthog"]


# -- how it reaches the collector -----------------------------------------------------------------
def test_headers_reach_the_collector_and_ours_win_over_the_variables(
    cli, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "x-team=platform,authorization=Bearer%20wrong"}
    with Collector(require_headers={"authorization": "Bearer s3cret"}) as collector:
        run = cli(
            "--exit",
            *["--analytics-log", str(log)],
            *otlp(collector.url, "--analytics-otlp-headers", "authorization=Bearer%20s3cret"),
            env=env,
        )
        assert run.returncode == 0
        assert delivered(data_dir, home)["sent"] == {LOGS: 2, METRICS: 1}
        shown = cli(*otlp(collector.url), "analytics", "status", "--json", env=env).stdout
    assert [code for _, code in collector.answers()] == [200, 200]
    for headers in collector.headers():
        assert (headers["authorization"], headers["x-team"]) == ("Bearer s3cret", "platform")
        assert headers["content-type"] == PROTOBUF
    assert len(collector.log_records()) == 2
    for text in (log.read_text(), shown):
        assert "s3cret" not in text and "x-team" not in text  # never shown


@pytest.fixture
def tls(tmp_path: Path) -> Any:
    return tls_files(tmp_path / "tls")


def test_https_with_a_private_ca_named_by_otel_exporter_otlp_certificate(
    cli, data_dir, home, tls, tmp_path
) -> None:
    other = tls_files(tmp_path / "other")  # REQUESTS_CA_BUNDLE names a CA that signed nothing
    assert cli("analytics", "on").returncode == 0
    env = {"OTEL_EXPORTER_OTLP_CERTIFICATE": tls.ca, "REQUESTS_CA_BUNDLE": other.ca}
    with Collector(tls=tls) as collector:
        assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
        last = delivered(data_dir, home)
    assert collector.url.startswith("https://")
    assert last["sent"] == {LOGS: 2, METRICS: 1} and last["errors"] == {}
    assert [r.event_name for r in collector.log_records()] == ["launched", "exit"]


def test_mutual_tls_with_the_client_key_and_certificate(cli, data_dir, home, tls) -> None:
    assert cli("analytics", "on").returncode == 0
    env = {
        "OTEL_EXPORTER_OTLP_CERTIFICATE": tls.ca,
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": tls.client_key,
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": tls.client_cert,
    }
    with Collector(tls=tls, require_client_cert=True) as collector:
        assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
        assert delivered(data_dir, home)["sent"] == {LOGS: 2, METRICS: 1}
    assert len(collector.log_records()) == 2


def test_https_without_the_ca_says_tls_verification_failed_and_keeps_the_events(
    cli, data_dir, home, tls
) -> None:
    assert cli("analytics", "on").returncode == 0
    with Collector(tls=tls) as collector:
        assert cli("--exit", *otlp(collector.url)).returncode == 0
        last = delivered(data_dir, home)
        shown = status(cli, collector.url)
    why = (
        "TLS certificate verify failed (OTEL_EXPORTER_OTLP_CERTIFICATE names the CA that signed "
        "the collector's)"
    )
    assert last["errors"] == {LOGS: why, METRICS: why}
    assert last["kept"] == {LOGS: 2, METRICS: 1} and last["sent"] == {}
    assert Spool(data_dir).count() == 2
    logs, metrics = destination_lines(shown)
    assert logs.startswith(f"otlp-logs {collector.url}/v1/logs: 0 accepted; last error ")
    assert logs.endswith(f": {why}")
    assert metrics.endswith(f": {why}")
    assert collector.log_records() == []


def test_a_ca_file_that_is_not_there_is_named_in_status_and_the_events_are_kept(
    cli, data_dir, home, tls, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    missing = tmp_path / "team-ca.pem"
    env = {"OTEL_EXPORTER_OTLP_CERTIFICATE": str(missing)}
    with Collector(tls=tls) as collector:
        assert cli("--exit", *otlp(collector.url), env=env).returncode == 0
        last = delivered(data_dir, home)
        logs, _ = destination_lines(status(cli, collector.url, env=env))
        assert collector.requests == []
    why = (
        "cannot use the TLS files: Could not find a suitable TLS CA certificate bundle, "
        f"invalid path: {missing}"
    )
    assert last["errors"] == {LOGS: why, METRICS: why}
    assert last["kept"] == {LOGS: 2, METRICS: 1} and Spool(data_dir).count() == 2
    assert logs.endswith(f": {why}")


# -- the collector's answers ----------------------------------------------------------------------
def test_a_collector_that_never_answers_adds_nothing_to_the_sessions_exit(
    cli, data_dir, home
) -> None:
    assert cli("analytics", "on").returncode == 0
    quiet = cli("--exit", "--no-analytics")
    with Collector("silent") as silent:
        run = cli("--exit", *otlp(silent.url))
        assert (run.returncode, run.stdout, run.stderr) == (
            quiet.returncode,
            quiet.stdout,
            quiet.stderr,
        )
        # The session is over; its uploader is still waiting for an answer that never comes.
        assert silent.wait_until(lambda: silent.count("/v1/logs") == 1)
        assert uploaders(home)
        assert silent.answers() == [("/v1/logs", None)]
    last = delivered(data_dir, home)  # the stand-in hung up on leaving: the uploader gives up
    assert last["kept"] == {LOGS: 2, METRICS: 1}


def test_a_collector_that_was_down_gets_every_event_exactly_once_when_it_is_back(
    cli, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    url = f"http://127.0.0.1:{free_port()}"  # refused: nothing listens there
    logs = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    last: dict[str, Any] = {"time": 0.0}
    for log in logs:
        run = cli("--exit", "--analytics-log", str(log), *otlp(url))
        assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
        last = delivered(data_dir, home, after=last["time"] + 0.001)
        assert last["errors"] == {
            LOGS: "no answer (ConnectionError)",
            METRICS: "no answer (ConnectionError)",
        }
    assert last["kept"] == {LOGS: 4, METRICS: 2}
    assert Spool(data_dir).count() == 4
    down = destination_lines(status(cli, url))
    assert len(down) == 2
    assert down[0].startswith(f"otlp-logs {url}/v1/logs: 0 accepted; last error ")
    assert down[0].endswith(": no answer (ConnectionError)")

    with Collector(port=int(url.rsplit(":", 1)[1])) as collector:
        send = cli("analytics", "send")
        assert send.returncode == 0, send.stdout + send.stderr
        assert send.stdout.splitlines() == [
            "otlp-logs: sent 4, rejected 0, kept 0 for later",
            "otlp-metrics: sent 2, rejected 0, kept 0 for later",
        ]
        again = cli("analytics", "send")
        assert (again.returncode, again.stdout) == (0, "Nothing to send.\n")
        up = destination_lines(status(cli, url))
    everything = [e for log in logs for e in audit(log)]
    assert Counter(map(key, collector.log_records())) == Counter(map(logged_key, everything))
    assert len(collector.log_records()) == 4
    assert [p.value for p in collector.points("blackboxai.session.count")] == [2]
    assert collector.count("/v1/logs") == collector.count("/v1/metrics") == 1
    assert up[0].startswith(f"otlp-logs {url}/v1/logs: 4 accepted, the last at ")
    assert "error" not in up[0] and "error" not in up[1]
    assert Spool(data_dir).count() == 0


def test_a_partial_success_is_counted_as_rejected_and_not_sent_again(
    cli, collector, data_dir, home
) -> None:
    assert cli("analytics", "on").returncode == 0
    collector.partial(rejected=1, message="log record too large", signal="logs")
    assert cli("--exit", *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    assert (last["sent"], last["rejected"]) == ({LOGS: 1, METRICS: 1}, {LOGS: 1})
    assert last["kept"] == {} and Spool(data_dir).count() == 0
    why = "1 rejected by the collector: log record too large"
    shown = status(cli, collector.url, "--json")
    logs, metrics = shown["destinations"]
    assert (logs["name"], logs["accepted"], logs["rejected"], logs["rejected_why"]) == (
        LOGS,
        1,
        1,
        why,
    )
    assert (metrics["accepted"], metrics["rejected"], metrics["rejected_why"]) == (1, 0, None)
    assert shown["last_delivery"]["rejected"] == {LOGS: 1}
    assert shown["last_delivery"]["rejected_why"] == {LOGS: why}
    text = status(cli, collector.url)
    line = destination_lines(text)[0]
    assert line.startswith(f"otlp-logs {collector.url}/v1/logs: 1 accepted, the last at ")
    assert line.endswith(f"; 1 rejected ({why})")
    assert "otlp-logs refused 1 as invalid" in text
    assert cli("analytics", "send").stdout == "Nothing to send.\n"
    assert collector.count("/v1/logs") == 1  # never sent again
    assert [r.event_name for r in collector.log_records()] == ["launched"]


def test_a_413_splits_the_batch_until_the_parts_fit_and_nothing_is_lost(
    cli, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    # One log record's request is some 500 bytes, six of them some 2 KB: the first batch is
    # too large, its halves are split until each part fits (a single record always does).
    with Collector(max_body=900) as collector:
        run = cli("--analytics-log", str(log), *otlp(collector.url), input="/ls\n/ls\n/ls\n")
        assert run.returncode == 0
        last = delivered(data_dir, home)
    logged = audit(log)
    assert len(logged) == 6
    assert last["sent"] == {LOGS: 6, METRICS: 4} and last["rejected"] == {}
    answers = [status for path, status in collector.answers() if path == "/v1/logs"]
    assert answers[0] == 413 and answers.count(200) >= 2
    assert Counter(map(key, collector.log_records())) == Counter(map(logged_key, logged))


@pytest.mark.slow  # the uploader's own backoff: at least 2 s before the retry (UPLOAD_BACKOFF)
def test_a_429_is_retried_after_its_retry_after_and_delivered_once(
    cli, collector, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    collector.fail(429, retry_after=1, signal="logs")
    log = tmp_path / "events.jsonl"
    assert cli("--exit", "--analytics-log", str(log), *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    assert last["sent"] == {LOGS: 2, METRICS: 1} and last["requests"] == {LOGS: 2, METRICS: 1}
    assert sorted(collector.answers()) == [
        ("/v1/logs", 200),
        ("/v1/logs", 429),
        ("/v1/metrics", 200),
    ]
    assert Counter(map(key, collector.log_records())) == Counter(map(logged_key, audit(log)))


def test_refused_credentials_keep_the_events_and_status_says_so(
    cli, data_dir, home, tmp_path
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    expired = otlp("", "--analytics-otlp-headers", "authorization=Bearer%20exp1red")[2:]
    with Collector(require_headers={"authorization": "Bearer s3cret"}) as collector:
        run = cli("--exit", "--analytics-log", str(log), *otlp(collector.url), *expired)
        assert run.returncode == 0
        last = delivered(data_dir, home)
        text = status(cli, collector.url)
        pending = cli("analytics", "pending")
    assert last["kept"] == {LOGS: 2, METRICS: 1} and last["sent"] == {}
    assert [h["authorization"] for h in collector.headers()] == ["Bearer exp1red"] * 2
    # What waits is shown with where it goes, never with the header it carries.
    waiting = [json.loads(line) for line in pending.stdout.splitlines()]
    assert [e["id"] for e in waiting] == [e["id"] for e in audit(log)]
    logs_to = {"name": LOGS, "host": f"{collector.url}/v1/logs", "key": ""}
    metrics_to = {"name": METRICS, "host": f"{collector.url}/v1/metrics", "key": ""}
    assert [e["to"] for e in waiting] == [[logs_to, metrics_to], [logs_to]]
    assert pending.stderr == "2 events waiting.\n"
    assert "exp1red" not in pending.stdout + text + log.read_text()
    said = (
        "HTTP 401: scheme or token does not match; the collector refused the credentials "
        "(analytics-otlp-headers)"
    )
    assert last["refused"] == {
        LOGS: f"{said} by {collector.url}/v1/logs",
        METRICS: f"{said} by {collector.url}/v1/metrics",
    }
    refused = [line for line in text.splitlines() if line.startswith("Refused:")]
    assert refused == [
        f"Refused:       {name} {said} by {collector.url}/v1/{signal}: events "
        "recorded with that authorization header wait until they expire (30 days) or "
        "`blackboxai analytics pending --clear`; new events take theirs from analytics-otlp-headers"
        for name, signal in ((LOGS, "logs"), (METRICS, "metrics"))
    ]
    logs, metrics = destination_lines(text)
    assert logs.startswith(f"otlp-logs {collector.url}/v1/logs: 0 accepted; last error ")
    assert logs.endswith(f": {said}")
    assert metrics.endswith(f": {said}")
    assert collector.log_records() == []


def test_a_404_drops_the_events_and_says_the_endpoint_is_wrong(cli, data_dir, home) -> None:
    assert cli("analytics", "on").returncode == 0
    with Collector(prefix="/otlp") as collector:  # its base URL is .../otlp
        assert cli("--exit", *otlp(collector.base)).returncode == 0
        last = delivered(data_dir, home)
        text = status(cli, collector.base)
    assert last["rejected"] == {LOGS: 2, METRICS: 1} and last["kept"] == {}
    assert Spool(data_dir).count() == 0
    logs, metrics = destination_lines(text)
    where = f"{collector.base}/v1/logs"
    assert logs == (
        f"otlp-logs {where}: 0 accepted; 2 rejected (HTTP 404; nothing takes OTLP at {where} "
        "(is the endpoint right?))"
    )
    assert metrics.startswith(f"otlp-metrics {collector.base}/v1/metrics: 0 accepted; 1 rejected")
    assert collector.answers() == [("/v1/logs", 404), ("/v1/metrics", 404)]  # not retried


def test_a_400_drops_the_batch_and_says_why(cli, collector, data_dir, home) -> None:
    assert cli("analytics", "on").returncode == 0
    collector.fail(400, message="invalid log record", signal="logs")
    assert cli("--exit", *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    assert (last["sent"], last["rejected"], last["kept"]) == ({METRICS: 1}, {LOGS: 2}, {})
    logs, metrics = destination_lines(status(cli, collector.url))
    assert logs == (
        f"otlp-logs {collector.url}/v1/logs: 0 accepted; 2 rejected (HTTP 400: invalid log "
        "record; the collector refused the data as invalid)"
    )
    assert metrics.startswith(f"otlp-metrics {collector.url}/v1/metrics: 1 accepted, the last at")
    assert collector.answers() == [("/v1/logs", 400), ("/v1/metrics", 200)]


def test_a_redirect_is_not_followed_the_events_are_kept_and_status_says_where(
    cli, collector, data_dir, home
) -> None:
    assert cli("analytics", "on").returncode == 0
    login = collector.base + "/login"
    collector.redirect(login, status=302, signal="logs")
    assert cli("--exit", *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    said = f"HTTP 302: the host answered with a redirect to {login}, not followed"
    assert last["errors"] == {LOGS: said} and last["kept"] == {LOGS: 2}
    assert last["sent"] == {METRICS: 1}
    assert collector.count("/login") == 0  # not followed
    assert Spool(data_dir).count() == 2
    logs, _ = destination_lines(status(cli, collector.url))
    assert logs.startswith(f"otlp-logs {collector.url}/v1/logs: 0 accepted; last error ")
    assert logs.endswith(f": {said}")


# -- what the user is shown -----------------------------------------------------------------------
def test_the_audit_log_names_each_signal_an_event_goes_to_and_the_collector_gets_that_record(
    cli, collector, data_dir, home, tmp_path
) -> None:
    # Consent to catalogue version 1 (an earlier release's): what later versions added is
    # recorded, marked withheld, and never leaves (the session id, exit's duration, /nonsense).
    data_dir.mkdir(parents=True)
    state = {"uuid": "5f1e9a4c-0b6d-4e2a-9c3f-7d8e1a2b3c4d", "asked_opt_in": True}
    (data_dir / "analytics.json").write_text(json.dumps({**state, "permanently_disable": False}))
    log = tmp_path / "events.jsonl"
    args = otlp(collector.url, "--analytics-otlp-headers", "authorization=Bearer%20s3cret")
    run = cli("--analytics-log", str(log), *args, input="/ls\n/nonsense\n")
    assert run.returncode == 0, run.stderr
    assert collector.wait_for(logs=4, points=2)
    delivered(data_dir, home)

    logged = audit(log)
    assert "s3cret" not in log.read_text()
    names = ["launched", "cli session", "command_ls", "command_unknown", "exit"]
    assert [e["event"] for e in logged] == names
    logs_to = {"name": LOGS, "host": f"{collector.url}/v1/logs"}
    metrics_to = {"name": METRICS, "host": f"{collector.url}/v1/metrics"}
    assert [e.get("to") for e in logged] == [
        [logs_to, metrics_to],
        [logs_to],
        [logs_to, metrics_to],
        None,  # withheld as a whole: queued for nowhere
        [logs_to],
    ]
    records = collector.log_records()
    exported = [e for e in logged if "to" in e]
    assert [r.event_name for r in records] == [e["event"] for e in exported]
    for r, e in zip(records, exported, strict=True):
        hidden = {w.removeprefix(f"{e['event']}.").removeprefix("*.") for w in e["withheld"]}
        assert "session_id" in hidden
        assert own_attributes(r) == {k: v for k, v in e["properties"].items() if k not in hidden}
        assert "session.id" not in r.attributes and r.attributes["user.id"] == state["uuid"]
        assert r.attributes["log.record.uid"] == e["id"]
    assert "duration_s" in logged[-1]["properties"] and "duration_s" not in records[-1].attributes
    assert sums(collector.points()) == {
        ("blackboxai.session.count", ()): 1,
        ("blackboxai.command.count", (("command", "ls"),)): 1,
    }


def test_status_json_shows_the_collector_and_each_destinations_health(
    cli, collector, data_dir, home
) -> None:
    assert cli("analytics", "on").returncode == 0
    before = status(cli, collector.url, "--json")
    logs_url, metrics_url = f"{collector.url}/v1/logs", f"{collector.url}/v1/metrics"
    assert before["collector"] == {
        "logs": logs_url,
        "metrics": metrics_url,
        "protocol": "http/protobuf",
        "required_by": None,
    }
    fresh = {
        "accepted": 0,
        "rejected": 0,
        "last_accepted": None,
        "last_error_time": None,
        "last_error": None,
        "rejected_why": None,
    }
    assert before["destinations"] == [
        {"name": LOGS, "host": logs_url, **fresh},
        {"name": METRICS, "host": metrics_url, **fresh},
    ]
    assert before["would_report"] is True
    text = status(cli, collector.url)
    assert f"Collector:     logs to {logs_url}, metrics to {metrics_url} (http/protobuf)" in text
    assert destination_lines(text) == [
        f"otlp-logs {logs_url}: nothing delivered yet",
        f"otlp-metrics {metrics_url}: nothing delivered yet",
    ]

    assert cli("--exit", *otlp(collector.url)).returncode == 0
    last = delivered(data_dir, home)
    after = status(cli, collector.url, "--json")
    logs, metrics = after["destinations"]
    assert (logs["accepted"], metrics["accepted"]) == (2, 1)
    assert logs["last_accepted"] == metrics["last_accepted"] == pytest.approx(last["time"], abs=1)
    assert logs["last_error"] is None and logs["rejected"] == 0
    assert after["last_delivery"]["sent"] == {LOGS: 2, METRICS: 1}
