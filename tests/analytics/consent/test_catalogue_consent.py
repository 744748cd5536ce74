"""Consent covers a catalogue version: after an upgrade, new data waits until the user has seen it.

The shipped catalogue is at version 3; a state written by an earlier release (or by aider, with
only its three keys) agreed to version 1. So every test here is the real upgrade a user makes.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pexpect
import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.catalogue import catalogue_items, catalogue_version, new_items
from blackboxai.question import NEW_QUESTION
from tests.support import interrupt_when_reading

ALSO = NEW_QUESTION.split("?")[0]  # "Also allow these"
# What versions 2 and 3 added, from the catalogue itself: an event, properties of old events, and
# a property of every event (the session id).
NEW = sorted(i.name for i in new_items(1, ()))
CURRENT = catalogue_version()
# The same, in the order status and `events --new` list them (the catalogue's own order).
NEW_SHOWN = [i.name for i in new_items(1, ())]


def upgraded_state(data_dir: Path, **extra: Any) -> str:
    """Consent as an earlier release stored it: aider's three keys and nothing else."""
    ident = str(uuid.uuid4())
    data_dir.mkdir(parents=True, exist_ok=True)
    body = {"uuid": ident, "asked_opt_in": True, "permanently_disable": False, **extra}
    (data_dir / "analytics.json").write_text(json.dumps(body))
    return ident


def stored(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "analytics.json").read_text())


def spawn(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", *args],
        env={**os.environ, **(env or {})},
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )


def log_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_shipped_catalogue_is_newer_than_what_earlier_releases_agreed_to() -> None:
    assert catalogue_version() == 3
    assert NEW == [
        "*.session_id",
        "command_unknown",
        "edit_applied.lines_added",
        "edit_applied.lines_removed",
        "exit.duration_s",
        "message_send.cost_usd",
    ]


def test_an_earlier_consent_keeps_the_old_data_and_withholds_the_new(
    cli, data_dir: Path, tmp_path: Path
) -> None:
    upgraded_state(data_dir)
    log = tmp_path / "events.jsonl"
    backend = ["--analytics-posthog-project-api-key", "phc_test", "--analytics-posthog-host"]
    run = cli("--analytics-log", str(log), *backend, "http://127.0.0.1:9", input="/nonsense\n")
    assert run.returncode == 0, run.stderr
    assert ALSO not in run.stdout + run.stderr  # no terminal: nothing is asked
    by_name = {e["event"]: e for e in log_lines(log)}
    assert by_name["command_unknown"]["withheld"] == ["command_unknown"]
    assert by_name["exit"]["withheld"] == ["exit.duration_s", "*.session_id"]
    assert "duration_s" in by_name["exit"]["properties"]  # the user's own log shows everything
    assert "session_id" in by_name["launched"]["properties"]
    assert by_name["launched"]["withheld"] == ["*.session_id"]  # nothing else of it is new
    assert stored(data_dir).get("catalogue_version", 1) == 1  # nothing moved forward by itself


def test_analytics_status_and_events_new_say_what_is_withheld(cli, data_dir: Path) -> None:
    upgraded_state(data_dir)
    status = json.loads(cli("analytics", "status", "--json").stdout)
    assert status["catalogue"] == {"current": 3, "agreed": 1, "unseen": NEW_SHOWN, "declined": []}
    text = cli("analytics", "status").stdout
    assert "agreed to version 1 of 3" in text and "withheld until you answer" in text
    listing = json.loads(cli("analytics", "events", "--new", "--json").stdout)
    assert [(e["item"], e["why"]) for e in listing] == [
        (name, "new since you agreed") for name in NEW_SHOWN
    ]


@pytest.mark.parametrize("answer", ["y", ""])
def test_a_terminal_session_asks_once_and_yes_agrees_to_the_new_version(
    answer: str, data_dir: Path, tmp_path: Path
) -> None:
    ident = upgraded_state(data_dir)
    log = tmp_path / "events.jsonl"
    child = spawn("--exit", "--analytics-log", str(log))
    child.expect_exact("command_unknown event")
    child.expect_exact("duration_s, on exit")
    child.expect_exact(ALSO)
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = stored(data_dir)
    assert (state["catalogue_version"], state["declined"], state["uuid"]) == (CURRENT, [], ident)
    assert all("withheld" not in e for e in log_lines(log))  # this session's events go in full
    again = spawn("--exit")
    assert ALSO not in again.read()  # asked once


def test_no_is_remembered_and_the_rest_carries_on(data_dir: Path, tmp_path: Path) -> None:
    upgraded_state(data_dir)
    child = spawn("--exit")
    child.expect_exact(ALSO)
    child.sendline("n")
    child.expect(pexpect.EOF)
    state = stored(data_dir)
    assert state["catalogue_version"] == CURRENT and sorted(state["declined"]) == NEW
    assert state["asked_opt_in"] is True and state["permanently_disable"] is False
    log = tmp_path / "events.jsonl"
    again = spawn("--exit", "--analytics-log", str(log))
    assert ALSO not in again.read()
    exit_event = log_lines(log)[-1]
    assert exit_event["withheld"] == ["exit.duration_s", "*.session_id"]  # never sent; the rest is


@pytest.mark.parametrize("leave", ["eof", "ctrl-c"])
def test_leaving_the_question_stores_nothing_and_asks_next_time(leave: str, data_dir: Path) -> None:
    upgraded_state(data_dir)
    before = stored(data_dir)
    child = spawn("--exit")
    child.expect_exact(NEW_QUESTION.strip())  # the whole prompt: it is waiting for the answer
    child.sendeof() if leave == "eof" else interrupt_when_reading(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert stored(data_dir) == before
    again = spawn("--exit")
    again.expect_exact(ALSO)  # asked again, since nothing was answered
    again.sendeof()
    again.expect(pexpect.EOF)


@pytest.mark.parametrize(
    ("args", "env"),
    [([], {"CI": "true"}), (["--analytics"], {"CI": "true"}), ([], {"DO_NOT_TRACK": "1"}),
     (["--no-analytics"], {})],
)  # fmt: skip
def test_ci_do_not_track_and_no_analytics_never_ask(
    args: list[str], env: dict[str, str], data_dir: Path
) -> None:
    upgraded_state(data_dir)
    before = stored(data_dir)
    child = spawn("--exit", *args, env=env)
    assert ALSO not in child.read()
    assert stored(data_dir) == before


def test_analytics_on_agrees_to_the_current_catalogue(cli, data_dir: Path) -> None:
    upgraded_state(data_dir, declined=["exit.duration_s"], catalogue_version=2)
    assert cli("analytics", "on").returncode == 0
    state = stored(data_dir)
    assert (state["catalogue_version"], state["declined"]) == (CURRENT, [])
    assert json.loads(cli("analytics", "events", "--new", "--json").stdout) == []


def test_the_library_withholds_what_the_catalogue_does_not_describe(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    analytics = Analytics(
        logfile=log, posthog_project_api_key="phc_test", launcher=lambda config: None
    )
    assert analytics.opt_in() and analytics.enable()
    analytics.event("launched", surprise="x")
    analytics.event("something_new")
    analytics.close()
    logged = log_lines(log)
    assert logged[0]["withheld"] == ["launched.surprise"]
    assert logged[1]["withheld"] == ["something_new"]
    sent = list(analytics.spool.records())
    assert [r["event"] for r in sent] == ["launched"]  # the unknown event is not queued at all
    assert "surprise" not in sent[0]["properties"]  # nor the unknown property
    assert set(sent[0]["properties"]) == {
        p.partition(".")[2] for p in catalogue_items() if p[0] == "*"
    }
