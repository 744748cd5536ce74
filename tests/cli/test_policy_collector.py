"""The organisation's collector in the machine's policy, through the real CLI: the endpoint it sets
replaces the user's, and `analytics-otlp-required: true` sends every event there whatever the
user chose (docs/policy.md: the one documented exception to the user's word), without an id,
and nowhere else; what it alone sends goes only while the policy still requires it. The
collector is the loopback OTLP receiver (tests/otlp_collector.py); PostHog and Mixpanel are the
loopback stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.queue.launch import BOOTSTRAP, CONFIG_ENV
from blackboxai.policy import Policy
from tests.loopback import Backend
from tests.otlp_collector import Collector
from tests.support import hosted_env, wait_for_last

Cli = Callable[..., Any]
Write = Callable[[str], Path]


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as server:
        yield server


def required(url: str) -> str:
    return f"analytics-otlp-endpoint: {url}\nanalytics-otlp-required: true\n"


def status(cli: Cli) -> dict[str, Any]:
    done = cli("analytics", "status", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def waiting(data_dir: Path) -> list[dict[str, Any]]:
    return list(Analytics(data_dir=data_dir, policy=Policy()).spool.records())


def terminal_session() -> str:
    """`blackboxai --exit` on a terminal: what it wrote, the terminal's line breaks undone."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", "--exit"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )
    output = child.read()
    child.close()
    assert child.exitstatus == 0, output
    return " ".join(output.split())


def test_required_sends_to_the_collector_alone_without_an_id_before_any_answer(
    cli: Cli, isolated: Path, data_dir: Path, backend: Backend, site_policy: Write
) -> None:
    with Collector() as org, Collector() as mine:
        path = site_policy(required(org.url))
        env = {**hosted_env(backend.url), "BLACKBOXAI_ANALYTICS_OTLP_ENDPOINT": mine.url}
        done = cli("--analytics-log", "audit.jsonl", "--exit", env=env)
        assert done.returncode == 0
        assert done.stderr.splitlines() == [  # no terminal: no notice (see the question's test)
            "blackboxai: BLACKBOXAI_ANALYTICS_OTLP_ENDPOINT has no effect: "
            f"the OpenTelemetry collector is set by {path}"
        ]
        assert org.wait_for(logs=2, points=1, timeout=30)
        wait_for_last(data_dir)  # the uploader's run is over: all it sent is in
        assert [r.event_name for r in org.log_records()] == ["launched", "exit"]
        for record in org.log_records():
            assert "user.id" not in record.attributes
        assert mine.requests == [] and backend.requests == []
        audit = [json.loads(line) for line in (isolated / "work" / "audit.jsonl").open()]
        assert [a["user_id"] for a in audit] == [None, None]
        assert [d["name"] for d in audit[0]["to"]] == ["otlp-logs", "otlp-metrics"]
        assert not (data_dir / "analytics.json").exists()  # no id, no answer stored
    data = status(cli)
    assert data["stored"] == "fresh" and not data["would_report"]
    assert data["collector"]["required_by"] == str(path)
    assert f"whatever you chose, required by {path}" in cli("analytics", "status").stdout


def test_with_consent_the_user_s_destinations_get_it_too_with_the_id(
    cli: Cli, data_dir: Path, backend: Backend, collector: Collector, site_policy: Write
) -> None:
    site_policy(required(collector.url))
    assert cli("analytics", "on").returncode == 0
    uuid = status(cli)["uuid"]
    assert cli("--exit", env=hosted_env(backend.url)).returncode == 0
    assert backend.wait_for(posthog=2, mixpanel=2, timeout=30)
    assert collector.wait_for(logs=2, timeout=30)
    assert {r.attributes.get("user.id") for r in collector.log_records()} == {uuid}


def test_an_opt_out_keeps_what_the_policy_sends_and_says_so(
    cli: Cli, data_dir: Path, collector: Collector, site_policy: Write
) -> None:
    path = site_policy(required(collector.url))
    assert cli("analytics", "on").returncode == 0
    with Analytics(policy=str(path), launcher=lambda config: None) as session:
        session.enable()
        session.event("launched")  # the user's consent: to be deleted by the opt-out
    with Analytics(policy=str(path), launcher=lambda config: None) as session:
        session.disable(permanently=False)  # this run does not report: the policy's alone
        session.event("exit")
    assert [r.get("by") for r in waiting(data_dir)] == [None, "policy"]
    done = cli("analytics", "off")
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        f"Analytics are now permanently disabled. Deleted 1 waiting event. This machine's policy "
        f"({path}) still sends usage events, without an id, to your organisation's collector at "
        f"{collector.url[7:]}; nothing else is sent."
    ]
    assert [r["event"] for r in waiting(data_dir)] == ["exit"]
    assert cli("--exit").returncode == 0  # the next session's uploader takes all three
    assert collector.wait_for(logs=3, timeout=30)
    assert sorted(r.event_name for r in collector.log_records()) == ["exit", "exit", "launched"]
    assert {r.attributes.get("user.id") for r in collector.log_records()} == {None}


def test_send_delivers_what_the_policy_requires_after_an_opt_out(
    cli: Cli, data_dir: Path, collector: Collector, site_policy: Write
) -> None:
    path = site_policy(required(collector.url))
    assert cli("analytics", "off").returncode == 0
    with Analytics(policy=str(path), launcher=lambda config: None) as session:
        session.event("launched")
    done = cli("analytics", "send")
    assert done.returncode == 0, done.stderr
    assert "otlp-logs: sent 1" in done.stdout
    assert [r.event_name for r in collector.log_records()] == ["launched"]
    assert cli("analytics", "send").stdout == "Nothing to send.\n"


def test_an_opt_out_while_the_uploader_sends_never_sends_the_policy_s_events_twice(
    cli: Cli, data_dir: Path, collector: Collector, site_policy: Write
) -> None:
    path = site_policy(required(collector.url))
    launched: list[Any] = []
    with Analytics(policy=str(path), launcher=launched.append) as session:
        session.event("launched")
    [config] = launched
    collector.fail(503, retry_after=2, signal="logs")  # the uploader waits, its file claimed
    uploader = subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP], env={**os.environ, CONFIG_ENV: config.to_json()}
    )
    try:
        assert collector.wait_until(lambda: ("/v1/logs", 503) in collector.answers())
        assert cli("analytics", "off").returncode == 0  # keeps what the policy sends
        assert uploader.wait(timeout=30) == 0  # it sent the event once the wait was over
    finally:
        uploader.kill()
        uploader.wait()
    sent = [r.attributes["log.record.uid"] for r in collector.log_records()]
    assert len(sent) == 1
    deliver(config)  # the next run: nothing is left to send again
    assert [r.attributes["log.record.uid"] for r in collector.log_records()] == sent
    assert waiting(data_dir) == []


def test_what_the_policy_alone_sent_waits_only_while_it_still_requires(
    data_dir: Path, collector: Collector, site_policy: Write
) -> None:
    path = site_policy(required(collector.url))
    launched: list[Any] = []
    with Analytics(policy=str(path), launcher=launched.append) as session:
        session.event("launched")
    [config] = launched  # what its uploader would have been given
    assert config.policy == str(path) and len(waiting(data_dir)) == 1
    site_policy(f"analytics-otlp-endpoint: {collector.url}\n")  # no longer required
    outcome = deliver(config)
    assert outcome.discarded == 1 and collector.requests == []
    assert waiting(data_dir) == []


def test_a_policy_made_in_code_answers_for_its_own_uploader(
    isolated: Path, data_dir: Path, collector: Collector
) -> None:
    said = {"analytics-otlp-endpoint": collector.url, "analytics-otlp-required": True}
    launched: list[Any] = []
    with Analytics(policy=Policy(said=said), launcher=launched.append) as session:
        session.event("launched")
    [config] = launched
    assert (config.policy, config.required) == (None, True)
    deliver(config)
    assert [r.event_name for r in collector.log_records()] == ["launched"]


def test_what_the_catalogue_does_not_describe_never_reaches_the_policy_s_collector(
    isolated: Path, data_dir: Path, collector: Collector
) -> None:
    """The organisation decided for blackboxai's published catalogue, not for whatever an
    embedding program records: its own events and properties stay out of what the policy
    alone sends (marked withheld in the audit log), as they stay out of what a user's yes
    sends. A property named like a catalogue item ("*.customer") is no exception."""
    said = {"analytics-otlp-endpoint": collector.url, "analytics-otlp-required": True}
    launched: list[Any] = []
    log = isolated / "audit.jsonl"
    with Analytics(policy=Policy(said=said), launcher=launched.append, logfile=log) as session:
        own = {"customer": "acme", "*.customer": "acme-deal"}
        session.event("message_send", edit_format="diff", prompt_tokens=3, **own)
        session.event("deploy_started", target="prod")
    [config] = launched
    deliver(config)
    [record] = collector.log_records()
    assert record.event_name == "message_send"
    assert record.attributes["edit_format"] == "diff" and record.attributes["prompt_tokens"] == 3
    assert not {"customer", "*.customer"} & set(record.attributes)
    assert record.attributes["session.id"]  # the run's own facts are still there
    audit = [json.loads(line) for line in log.open()]
    assert [a.get("withheld") for a in audit] == [
        ["message_send.customer", "message_send.*.customer"],
        ["deploy_started"],
    ]
    assert "to" in audit[0] and "to" not in audit[1]  # the second goes nowhere


def test_an_embedding_program_s_own_catalogue_does_not_widen_what_the_policy_sends(
    isolated: Path, data_dir: Path, collector: Collector
) -> None:
    """A program passes its own catalogue, as docs/library.md says: that is what its users
    agree to. Without their yes, only what blackboxai's catalogue describes goes to the
    organisation's collector."""
    said = {"analytics-otlp-endpoint": collector.url, "analytics-otlp-required": True}
    theirs = {"version": 1, "events": {"deploy_started": {"since": 1, "properties": {}}}}
    launched: list[Any] = []
    with Analytics(policy=Policy(said=said), launcher=launched.append, catalogue=theirs) as a:
        a.event("deploy_started")
        a.event("launched")
    [config] = launched
    deliver(config)
    assert [r.event_name for r in collector.log_records()] == ["launched"]


def test_a_notice_once_instead_of_the_question(
    isolated: Path, data_dir: Path, collector: Collector, site_policy: Write
) -> None:
    path = site_policy(required(collector.url))
    session = terminal_session
    first = session()
    assert (
        f"blackboxai: this machine's policy ({path}) sends blackboxai's usage events, without an "
        f"id, to your organisation's collector at {collector.url[7:]}, whatever you choose about "
        "analytics (`blackboxai analytics status` shows it)."
    ) in first
    assert "Allow collection" not in first
    assert "this machine's policy" not in session()  # once
    assert collector.wait_for(logs=4, timeout=30)  # both sessions' events, with no answer
    assert not (data_dir / "analytics.json").exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("analytics-otlp-required: true\n", "needs the collector it requires"),
        ("analytics-otlp-endpoint: ftp://x\n", "must be an http:// or https:// address"),
        ("analytics-otlp-endpoint: http://x:4318x\n", "must be an http:// or https:// address"),
        ("analytics-otlp-endpoint: http://x:99999\n", "must be an http:// or https:// address"),
        ("analytics-otlp-endpoint: 'http://:4318'\n", "must be an http:// or https:// address"),
        ("analytics-otlp-endpoint: http://x\nanalytics-otlp-protocol: grpc\n", "must be one of"),
    ],
)
def test_a_collector_the_policy_cannot_name_makes_it_unreadable(
    cli: Cli, site_policy: Write, text: str, why: str
) -> None:
    site_policy(text)
    done = cli("--exit")
    assert done.returncode == 0
    [line] = done.stderr.splitlines()
    assert why in line and line.endswith("analytics are off in this run (it may have said so)")


def test_the_headers_are_never_shown(cli: Cli, collector: Collector, site_policy: Write) -> None:
    site_policy(required(collector.url) + "analytics-otlp-headers: authorization=Bearer%20s3cret\n")
    text = cli("analytics", "status").stdout + cli("analytics", "status", "--json").stdout
    assert "s3cret" not in text and "<set>" in text
    assert cli("--exit").returncode == 0
    assert collector.wait_for(logs=2, timeout=30)
    assert {h.get("authorization") for h in collector.headers()} == {"Bearer s3cret"}


def test_the_credentials_in_the_collector_s_url_are_never_shown(
    cli: Cli, isolated: Path, collector: Collector, site_policy: Write
) -> None:
    url = collector.url.replace("://", "://org:s3cret@")  # sent as Basic auth
    site_policy(required(url))
    shown = [
        cli("analytics", "status").stdout,
        cli("analytics", "status", "--json").stdout,
        cli("--analytics-log", "audit.jsonl", "--exit").stderr,
        cli("analytics", "pending").stdout,
        cli("analytics", "off").stderr,
        terminal_session(),  # the notice
        (isolated / "work" / "audit.jsonl").read_text(),
    ]
    assert collector.wait_for(logs=4, timeout=30)
    assert {h.get("authorization") for h in collector.headers()} == {"Basic b3JnOnMzY3JldA=="}
    wait_for_last(isolated / "home" / ".local" / "share" / "blackboxai")
    shown.append(cli("analytics", "status").stdout)  # with the delivery's record
    for text in shown:
        assert "s3cret" not in text
    host = collector.url.split("://")[1]
    assert f"http://<set>@{host}/v1/logs" in shown[0]  # the status says there is one
    assert f"collector at {host}," in shown[5]
