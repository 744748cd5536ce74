"""The library honours the machine's policy (#21) for any program that embeds `Analytics`.

By default it reads this machine's policy file (here put in a temp dir through XDG_CONFIG_DIRS);
`policy=PATH` reads another, `policy=Policy()` none. Observed through the real state file, spool
and audit logs; the uploader is the `launcher` seam; nothing listens at the one destination.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.rules import Stored
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.queue.launch import BOOTSTRAP, CONFIG_ENV, UploadConfig
from blackboxai.analytics.queue.spool import Spool
from blackboxai.policy import Policy
from tests.loopback import Backend

HOST = "http://127.0.0.1:9"  # nothing listens there
KEYS = {"posthog_host": HOST, "posthog_project_api_key": "phc_test", "mixpanel_token": "mp"}


class Launches:
    def __init__(self) -> None:
        self.configs: list[UploadConfig] = []

    def __call__(self, config: UploadConfig) -> None:
        self.configs.append(config)


def make(data_dir: Path, **kwargs: Any) -> Analytics:
    kwargs.setdefault("launcher", Launches())
    kwargs.setdefault("tty", False)
    return Analytics(data_dir=data_dir, env={}, **{**KEYS, **kwargs})


def consented(data_dir: Path) -> None:
    """The user said yes before the machine had a policy."""
    assert Analytics(data_dir=data_dir, policy=Policy()).opt_in()


@pytest.fixture
def policy_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "etc" / "policy.yml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return path

    return write


def test_analytics_false_turns_off_what_consent_turned_on(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    consented(data_dir)
    path = policy_file("analytics: false\n")
    analytics = make(data_dir, policy=path)
    assert analytics.decide(True).why == f"turned off by {path}"
    assert analytics.decision is not None and analytics.decision.note == (
        f"--analytics has no effect: analytics are turned off by {path}."
    )
    assert not analytics.enable() and not analytics.reporting
    analytics.event("launched")
    analytics.close()
    assert Spool(data_dir).count() == 0


def test_analytics_false_is_never_asked_and_no_consent_can_be_stored(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    path = policy_file("analytics: false\n")
    analytics = make(data_dir, policy=path, tty=True)
    assert not analytics.need_to_ask(None)
    assert not analytics.opt_in()
    assert analytics.last_error == f"analytics are turned off by {path}"
    assert not (data_dir / "analytics.json").exists()  # nothing stored for later
    assert analytics.disable(permanently=True)  # an opt-out always lands
    assert StateStore(data_dir).load().stored is Stored.DISABLED


def test_an_unreadable_policy_is_off_and_says_why(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    consented(data_dir)
    path = policy_file("analytics: nope\n")
    analytics = make(data_dir, policy=path)
    assert not analytics.enable()
    assert analytics.policy.problem is not None and str(path) in analytics.policy.problem
    assert analytics.decide().why == f"turned off by {path}, which cannot be read"
    for odd in (3, b"\0"):  # not a path at all: never raises, and off
        assert not make(data_dir, policy=odd).enable()


def test_the_default_is_this_machines_policy_and_policy_none_is_none(
    data_dir: Path, site_policy: Callable[[str], Path]
) -> None:
    consented(data_dir)
    path = site_policy("analytics: false\n")
    assert make(data_dir).decide().why == f"turned off by {path}"
    assert make(data_dir).policy.path == str(path)
    assert make(data_dir, policy=Policy()).enable()  # a test's, or a program's own choice


def test_a_missing_policy_file_is_no_policy(data_dir: Path, tmp_path: Path) -> None:
    consented(data_dir)
    assert make(data_dir, policy=tmp_path / "absent.yml").enable()


def test_hosted_false_leaves_no_destination_whoever_set_the_keys(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    consented(data_dir)
    launches = Launches()
    analytics = make(data_dir, policy=policy_file("analytics-hosted: false\n"), launcher=launches)
    assert analytics.destinations == ()
    assert not analytics.enable()  # consent, but nowhere it may go
    analytics.event("launched")
    analytics.close()
    assert Spool(data_dir).count() == 0 and launches.configs == []


def test_an_uploader_is_told_which_services_are_off(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    path = policy_file("analytics-hosted: false\n")
    config = make(data_dir, policy=path).upload_config(lock_wait=1.0)
    assert (config.turned_off, config.policy, config.lock_wait) == (
        ("posthog", "mixpanel"),
        str(path),
        1.0,
    )
    assert UploadConfig.from_json(config.to_json()) == config
    assert make(data_dir, policy=Policy()).upload_config().turned_off == ()


def test_the_policy_log_gets_every_event_beside_the_users_own(
    data_dir: Path, tmp_path: Path, policy_file: Callable[[str], Path]
) -> None:
    org, mine = tmp_path / "org.jsonl", tmp_path / "mine.jsonl"
    path = policy_file(f"analytics: false\nanalytics-log: {org}\n")
    analytics = make(data_dir, policy=path, logfile=mine)
    analytics.event("launched")
    analytics.event("exit", reason="done")
    analytics.close()
    assert org.read_text() == mine.read_text()
    assert [json.loads(line)["event"] for line in org.read_text().splitlines()] == [
        "launched",
        "exit",
    ]


def test_the_policy_log_is_written_once_when_it_is_the_users_too(
    data_dir: Path, tmp_path: Path, policy_file: Callable[[str], Path]
) -> None:
    log = tmp_path / "same.jsonl"
    analytics = make(data_dir, policy=policy_file(f"analytics-log: {log}\n"), logfile=log)
    analytics.event("launched")
    analytics.close()
    assert len(log.read_text().splitlines()) == 1


def test_an_object_that_records_nothing_creates_no_policy_log(
    data_dir: Path, tmp_path: Path, policy_file: Callable[[str], Path]
) -> None:
    org = tmp_path / "org.jsonl"
    make(data_dir, policy=policy_file(f"analytics-log: {org}\n")).close()
    assert not org.exists()


def test_a_policy_log_that_cannot_be_opened_is_said_once_and_nothing_raises(
    data_dir: Path,
    tmp_path: Path,
    policy_file: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = policy_file(f"analytics-log: {tmp_path / 'no' / 'such' / 'dir.jsonl'}\n")
    mine = tmp_path / "mine.jsonl"
    analytics = make(data_dir, policy=path, logfile=mine, debug_stream=io.StringIO())
    for _ in range(3):
        analytics.event("launched")
    analytics.close()
    [line] = capsys.readouterr().err.splitlines()
    assert "its directory does not exist" in line and line.endswith(f"(named by {path})")
    assert len(mine.read_text().splitlines()) == 3  # the user's own log goes on


@pytest.mark.parametrize(
    "text",
    ["analytics: false\n", "analytics-hosted: false\n", "analytcs: false\n"],
    ids=["analytics-false", "hosted-false", "unreadable"],
)
def test_a_policy_that_arrives_before_the_upload_holds_for_what_was_waiting(
    data_dir: Path, backend: Backend, site_policy: Callable[[str], Path], text: str
) -> None:
    """A session that began before the machine had a policy (a long one, or its uploader's
    config in flight): the uploader looks at the machine's policy afresh, as it does for its
    collector, and what waits for a service the policy now turns off stays unsent."""
    consented(data_dir)
    launches = Launches()
    with Analytics(
        data_dir=data_dir,
        env={},
        posthog_host=backend.url,
        posthog_project_api_key="phc_test",
        launcher=launches,
    ) as session:  # this machine's policy: none yet
        assert session.enable()
        session.event("launched")
    [config] = launches.configs
    site_policy(text)
    uploader = subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP], env={**os.environ, CONFIG_ENV: config.to_json()}
    )
    assert uploader.wait(timeout=60) == 0
    assert backend.requests == []
    assert [r["event"] for r in Spool(data_dir).records()] == ["launched"]  # unsent, kept


def test_a_caller_s_own_collector_settings_under_the_policy_s_get_one_line(
    data_dir: Path, policy_file: Callable[[str], Path]
) -> None:
    path = policy_file("analytics-otlp-endpoint: http://127.0.0.1:9\n")
    why = f"the collector is set by {path}"
    mine = {"otlp_protocol": "http/json", "otlp_headers": "authorization=Bearer%20mine"}
    analytics = make(data_dir, policy=path, **mine)
    assert analytics.warnings == [f"otlp_protocol and otlp_headers have no effect: {why}"]
    analytics = make(data_dir, policy=path, otlp_endpoint="http://127.0.0.1:8", **mine)
    assert analytics.warnings == [
        f"otlp_endpoint, otlp_protocol and otlp_headers have no effect: {why}"
    ]
    assert {d.option("headers") for d in analytics.destinations} == {None}  # never combined
    assert make(data_dir, policy=path, otlp_endpoint="http://127.0.0.1:9").warnings == []
