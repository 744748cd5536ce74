"""The opt-in question in a real pseudo-terminal: y, n, Enter, EOF, Ctrl-C, and asked once ever."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from blackboxai.analytics.defaults import DOCS_URL
from blackboxai.question import PRIVACY_LINE, QUESTION, parse_answer
from tests.support import interrupt_when_reading, wait_until

QUESTION_START = "Allow collection of anonymous analytics"


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", *args],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )


def stored(data_dir: Path) -> dict:
    return json.loads((data_dir / "analytics.json").read_text())


@pytest.mark.parametrize(
    ("answer", "asked", "disabled"),
    [
        ("y", True, False),
        ("yes", True, False),
        ("", True, False),
        ("n", True, True),
        ("No", True, True),
    ],
)
def test_the_answer_is_stored(answer: str, asked: bool, disabled: bool, data_dir: Path) -> None:
    child = spawn("--exit")
    child.expect_exact("never collects your code, prompts, chats, keys")
    child.expect_exact(DOCS_URL)
    child.expect_exact(QUESTION.strip())
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    state = stored(data_dir)
    assert (state["asked_opt_in"], state["permanently_disable"]) == (asked, disabled)


def test_the_question_is_asked_once_ever(data_dir: Path) -> None:
    first = spawn("--exit")
    first.expect_exact(QUESTION_START)
    first.sendline("y")
    first.expect(pexpect.EOF)
    second = spawn("--exit")
    output = second.read()
    assert QUESTION_START not in output


def test_an_unclear_answer_is_asked_again(data_dir: Path) -> None:
    child = spawn("--exit")
    child.expect_exact(QUESTION_START)
    child.sendline("maybe")
    child.expect_exact("Please answer y or n.")
    child.expect_exact(QUESTION_START)
    child.sendline("n")
    child.expect(pexpect.EOF)
    assert stored(data_dir)["permanently_disable"] is True


@pytest.mark.parametrize("leave", ["eof", "ctrl-c"])
def test_leaving_the_question_stores_nothing_and_reports_nothing(
    leave: str, data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    child = spawn("--exit", "--analytics-log", str(log))
    child.expect_exact(QUESTION.strip())  # the whole prompt: it is waiting for the answer
    if leave == "eof":
        child.sendeof()
    else:
        interrupt_when_reading(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0  # the session carries on as it would have
    state = (
        json.loads((data_dir / "analytics.json").read_text())
        if (data_dir / "analytics.json").exists()
        else {}
    )
    assert state.get("asked_opt_in", False) is False
    assert not (data_dir / "spool.jsonl").exists()
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == [
        "launched",
        "exit",
    ]


def test_no_analytics_and_do_not_track_never_ask(data_dir: Path) -> None:
    for args, env in ((["--no-analytics"], {}), ([], {"DO_NOT_TRACK": "1"}), ([], {"CI": "true"})):
        child = pexpect.spawn(
            sys.executable,
            ["-m", "blackboxai", "--exit", *args],
            env={**os.environ, **env},
            encoding="utf-8",
            timeout=20,
        )
        assert QUESTION_START not in child.read()
    assert not (data_dir / "analytics.json").exists() or stored(data_dir)["asked_opt_in"] is False


def test_ci_is_never_asked_even_with_the_analytics_flag_on_a_terminal(data_dir: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", "--analytics", "--exit"],
        env={**os.environ, "CI": "true"},
        encoding="utf-8",
        timeout=20,
    )
    assert QUESTION_START not in child.read()
    child.close()
    assert child.exitstatus == 0
    assert not (data_dir / "analytics.json").exists() or stored(data_dir)["asked_opt_in"] is False


def test_without_a_terminal_it_never_asks_or_blocks(cli) -> None:
    run = cli("--exit", input="y\n")
    assert run.returncode == 0
    assert QUESTION_START not in run.stdout + run.stderr


def test_the_privacy_line_makes_the_promise() -> None:
    for word in ("code", "prompts", "chats", "keys", "personal info"):
        assert word in PRIVACY_LINE


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", True), (" Y ", True), ("yes", True), ("n", False), ("NO", False), ("x", None)],
)
def test_answers_are_parsed_forgivingly(text: str, expected: bool | None) -> None:
    assert parse_answer(text) is expected


def test_the_question_and_its_notices_go_to_stderr(data_dir: Path, tmp_path: Path) -> None:
    # stdin and stdout on the terminal (so it asks), stderr into a file: all of the question is
    # there, and the terminal (the command's own output) gets none of it.
    err = tmp_path / "stderr.txt"
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f'exec "{sys.executable}" -m blackboxai --exit 2>"{err}"'],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=20,
    )
    assert wait_until(lambda: err.exists() and QUESTION in err.read_text(), timeout=20)
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    said = err.read_text()
    assert PRIVACY_LINE in said and DOCS_URL in said and "Thank you" in said
    shown = child.before or ""
    assert PRIVACY_LINE not in shown and QUESTION_START not in shown and DOCS_URL not in shown
    assert stored(data_dir)["permanently_disable"] is False
