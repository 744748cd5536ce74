"""The machine's policy through the real CLI (#21): each key's effect, against every way a user or
a project could try to undo it; an unreadable policy; what status, --json, /analytics and --help
say. The policy is put where blackboxai looks for it the standard way ($XDG_CONFIG_DIRS: the
`site_policy` fixture); PostHog and Mixpanel are the loopback stand-in.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from blackboxai.analytics import Analytics
from blackboxai.config.options import CONFIG_NAME
from blackboxai.policy import Policy
from tests.loopback import Backend
from tests.support import (
    hosted_env,
    interrupt_when_reading,
    mixpanel_at,
    posthog_at,
    spooled,
    wait_for_last,
)

Cli = Callable[..., Any]
Write = Callable[[str], Path]


def status(cli: Cli, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = cli(*args, "analytics", "status", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def consent() -> None:
    """A state file that says yes, stored before the machine had a policy."""
    assert Analytics(policy=Policy()).opt_in()


def pending(data_dir: Path) -> int:
    return Analytics(data_dir=data_dir, policy=Policy()).pending_count()


def flat(text: str) -> str:
    """Help text without its wrapping (which may break a path at a hyphen)."""
    return re.sub(r"\s+", "", text)


# -- analytics: false --------------------------------------------------------------------------

# Every way a user or a project could try to turn analytics on: (args, env, files by place).
UNDO: dict[str, tuple[list[str], dict[str, str], dict[str, str]]] = {
    "--analytics": (["--analytics"], {}, {}),
    "variable": ([], {"BLACKBOXAI_ANALYTICS": "1"}, {}),
    "home file": ([], {}, {"home": "analytics: true\n"}),
    "--config file": (["--config", "../flag.yml"], {}, {"flag": "analytics: true\n"}),
    "project file": ([], {}, {"project": "analytics: true\n"}),
    "state file": ([], {}, {}),  # consent, stored before the policy: every case has it
}


def place(isolated: Path, files: dict[str, str]) -> None:
    where = {
        "home": isolated / "home" / CONFIG_NAME,
        "flag": isolated / "flag.yml",
        "project": isolated / "work" / CONFIG_NAME,
    }
    for name, text in files.items():
        where[name].write_text(text)


@pytest.mark.parametrize("way", list(UNDO))
def test_analytics_false_cannot_be_undone(
    cli: Cli, isolated: Path, data_dir: Path, backend: Backend, site_policy: Write, way: str
) -> None:
    args, env, files = UNDO[way]
    env = {**hosted_env(backend.url), **env}
    consent()
    place(isolated, files)
    assert status(cli, *args, env=env)["would_report"]  # without the policy, this would report
    path = site_policy("analytics: false\n")
    data = status(cli, *args, env=env)
    assert (data["would_report"], data["why"]) == (False, f"turned off by {path}")
    assert data["policy"]["file"] == str(path) and data["policy"]["locked"] == ["analytics"]
    done = cli(*args, "--exit", env=env)
    assert done.returncode == 0
    told = [line for line in done.stderr.splitlines() if str(path) in line]
    if way in ("state file", "project file"):  # nothing the user set tried: nothing to tell
        assert told == []
    else:  # one line naming the policy
        assert len(told) == 1 and told[0].startswith("blackboxai: ")
        assert told[0].endswith(f"has no effect: analytics are turned off by {path}")
    assert pending(data_dir) == 0  # nothing recorded for sending
    assert backend.requests == []  # ...so no uploader was started to send anything


def test_analytics_false_is_never_asked(isolated: Path, data_dir: Path, site_policy: Write) -> None:
    path = site_policy("analytics: false\n")

    def session() -> pexpect.spawn:
        return pexpect.spawn(
            sys.executable,
            ["-m", "blackboxai", "--exit"],
            env=dict(os.environ),
            encoding="utf-8",
            timeout=20,
        )

    child = session()
    output = child.read()
    child.close()
    assert child.exitstatus == 0 and "Allow collection" not in output, output
    assert not data_dir.exists()  # nothing stored either
    path.unlink()
    control = session()  # the same terminal, without the policy: asked
    control.expect_exact("Allow collection of anonymous analytics")
    interrupt_when_reading(control)
    control.expect(pexpect.EOF)


def test_analytics_on_is_refused_and_stores_nothing(
    cli: Cli, data_dir: Path, site_policy: Write
) -> None:
    path = site_policy("analytics: false\n")
    done = cli("analytics", "on")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"blackboxai: analytics on has no effect: analytics are turned off by {path}"
    ]
    assert not data_dir.exists()
    assert status(cli)["stored"] == "fresh"


def test_opting_out_and_the_audit_log_still_work(
    cli: Cli, isolated: Path, data_dir: Path, site_policy: Write
) -> None:
    site_policy("analytics: false\n")
    done = cli("--analytics-log", "mine.jsonl", "--exit")
    assert done.returncode == 0, done.stderr
    log = (isolated / "work" / "mine.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in log] == ["launched", "exit"]
    assert cli("analytics", "off").returncode == 0
    assert status(cli)["stored"] == "disabled"


# -- a policy that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("analytics: [false\n", "line 2"),  # not YAML
        ("analytcs: false\n", "line 1: unknown key 'analytcs'"),
        ("analytics-hosted: nope\n", "line 1: analytics-hosted must be true or false"),
    ],
)
def test_an_unreadable_policy_turns_analytics_off_with_one_line(
    cli: Cli, data_dir: Path, backend: Backend, site_policy: Write, text: str, why: str
) -> None:
    consent()
    env = hosted_env(backend.url)
    path = site_policy(text)
    done = cli("--exit", env=env)
    assert done.returncode == 0
    [line] = done.stderr.splitlines()
    assert line.startswith(f"blackboxai: policy file {path}, {why}")
    assert line.endswith("; analytics are off in this run (it may have said so)")
    data = status(cli, "--analytics", env=env)
    assert (data["would_report"], data["why"]) == (
        False,
        f"turned off by {path}, which cannot be read",
    )
    assert data["policy"]["problem"].startswith(f"policy file {path}, {why}")
    assert pending(data_dir) == 0 and backend.requests == []


# -- analytics-hosted: false -------------------------------------------------------------------

HOSTED_WAYS = {
    "flags": (
        lambda url: [
            "--analytics-posthog-host",
            url,
            "--analytics-posthog-project-api-key",
            "phc_mine",
            "--analytics-mixpanel-host",
            url,
            "--analytics-mixpanel-token",
            "mp_mine",
        ],
        lambda url: {},
        lambda url: "",
    ),
    "variables": (lambda url: [], hosted_env, lambda url: ""),
    "home file": (
        lambda url: [],
        lambda url: {},
        lambda url: "".join(
            f"{k[11:].lower().replace('_', '-')}: {v}\n" for k, v in hosted_env(url).items()
        ),
    ),
}


@pytest.mark.parametrize("way", list(HOSTED_WAYS))
def test_hosted_false_sends_nothing_to_posthog_or_mixpanel_whoever_set_them(
    cli: Cli, isolated: Path, data_dir: Path, backend: Backend, site_policy: Write, way: str
) -> None:
    args, env, home = (make(backend.url) for make in HOSTED_WAYS[way])
    (isolated / "home" / CONFIG_NAME).write_text(home)
    consent()
    assert cli(*args, "--exit", env=env).returncode == 0  # without the policy: both are sent to
    assert backend.wait_for(posthog=2, mixpanel=2, timeout=30)
    wait_for_last(data_dir)  # that uploader is done
    path = site_policy("analytics-hosted: false\n")
    done = cli(*args, "--exit", env=env)
    assert done.returncode == 0
    assert done.stderr.strip().endswith(
        f"have no effect: PostHog and Mixpanel are turned off by {path}"
    )
    assert len(done.stderr.splitlines()) == 1
    assert pending(data_dir) == 0  # nothing recorded for either
    data = status(cli, *args, env=env)
    assert data["backends"] == {"posthog": None, "mixpanel": None}
    assert data["why"] == f"opted in, but PostHog and Mixpanel are turned off by {path}"
    sent = cli(*args, "analytics", "send", env=env)
    assert "Nothing to send." in sent.stdout
    assert (len(backend.posthog), len(backend.mixpanel)) == (2, 2)  # no more than before


def test_events_waiting_from_before_the_policy_are_not_sent_and_wait(
    cli: Cli, data_dir: Path, backend: Backend, site_policy: Write
) -> None:
    spooled(data_dir, 2, to=[posthog_at(backend.url), mixpanel_at(backend.url)])
    path = site_policy("analytics-hosted: false\n")
    done = cli("analytics", "send", env=hosted_env(backend.url))
    assert done.returncode == 1  # kept: a script should know
    assert backend.requests == []
    assert f"posthog: sent 0, rejected 0, kept 2 for later (turned off by {path})" in done.stdout
    assert pending(data_dir) == 2
    text = cli("analytics", "status").stdout
    assert f"PostHog:       turned off by {path} (analytics-hosted: false)" in text
    assert f"Mixpanel:      turned off by {path} (analytics-hosted: false)" in text


# -- analytics-log -------------------------------------------------------------------------------


def test_every_session_also_writes_the_policys_log(
    cli: Cli, isolated: Path, site_policy: Write
) -> None:
    path = site_policy("analytics-log: ~/org.jsonl\n")
    org, mine = isolated / "home" / "org.jsonl", isolated / "work" / "mine.jsonl"
    assert cli("analytics", "status").returncode == 0
    assert not org.exists()  # a command that records nothing starts no log
    for args, env in [
        (["--no-analytics", "--analytics-log", "mine.jsonl"], {}),
        ([], {"DO_NOT_TRACK": "1", "BLACKBOXAI_ANALYTICS_LOG": ""}),
    ]:
        done = cli(*args, "--exit", env=env)
        assert done.returncode == 0 and done.stderr == ""
    events = [json.loads(line)["event"] for line in org.read_text().splitlines()]
    assert events == ["launched", "exit", "launched", "exit"]
    assert mine.read_text().splitlines() == org.read_text().splitlines()[:2]
    assert f"Policy:        {path}: analytics-log: {org}" in cli("analytics", "status").stdout


def test_a_relative_log_path_starts_at_the_policys_directory(cli: Cli, site_policy: Write) -> None:
    path = site_policy("analytics-log: audit.jsonl\n")
    assert cli("--exit").returncode == 0
    assert len((path.parent / "audit.jsonl").read_text().splitlines()) == 2


# -- analytics-otlp-required (its effect: test_policy_collector.py) ---------------------------


def test_otlp_required_is_read_and_shown(cli: Cli, site_policy: Write) -> None:
    site_policy("analytics-otlp-endpoint: http://127.0.0.1:9\nanalytics-otlp-required: true\n")
    data = status(cli)["policy"]
    assert (data["problem"], data["otlp_required"]) == (None, True)
    assert data["said"] == {
        "analytics-otlp-endpoint": "http://127.0.0.1:9",
        "analytics-otlp-required": True,
    }


# -- told, always ----------------------------------------------------------------------------------


def test_status_and_analytics_in_a_session_name_the_policy_and_what_it_decided(
    cli: Cli, site_policy: Write
) -> None:
    path = site_policy("analytics: false\nanalytics-hosted: false\n")
    text = cli("analytics", "status").stdout
    session = cli(input="/analytics\n")
    assert session.returncode == 0, session.stderr
    for shown in (text, session.stdout):
        assert f"Reporting:     no (turned off by {path})" in shown
        assert f"Policy:        {path}: analytics: false; analytics-hosted: false" in shown
    data = status(cli)["policy"]
    assert data["said"] == {"analytics": False, "analytics-hosted": False}
    assert (data["analytics_off"], data["hosted"]) == (f"turned off by {path}", False)


def test_status_without_a_policy_says_nothing_of_one(cli: Cli) -> None:
    assert "Policy:" not in cli("analytics", "status").stdout
    assert status(cli)["policy"] is None


def test_help_marks_what_the_policy_decides(cli: Cli, site_policy: Write) -> None:
    assert "set by policy" not in cli("--help").stdout
    path = site_policy("analytics: false\nanalytics-hosted: false\n")
    text = flat(cli("--help").stdout)
    assert flat(f"or not. [set by policy: analytics are turned off by {path}]") in text
    assert text.count(flat(f"[set by policy: PostHog and Mixpanel are turned off by {path}]")) == 4
    assert text.count(flat("[set by policy")) == 5  # --analytics-log, --model... are the user's


@pytest.mark.parametrize("text", ["analytics: false\n", "analytics-hosted: false\n"])
def test_a_policy_that_arrives_during_a_session_holds_for_its_events(
    data_dir: Path, backend: Backend, site_policy: Write, text: str
) -> None:
    """The session read no policy when it began; its uploader, launched as it ends, sends
    nothing the policy that has arrived since turns off (docs/policy.md: what was waiting when
    the policy arrived stays unsent)."""
    consent()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai"],
        env={**os.environ, **hosted_env(backend.url)},
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("> ")
    path = site_policy(text)
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    last = wait_for_last(data_dir)
    assert backend.requests == []
    assert {last["errors"][name] for name in ("posthog", "mixpanel")} == {f"turned off by {path}"}
    assert len(list(Analytics(policy=Policy()).spool.records())) >= 2  # kept, unsent
