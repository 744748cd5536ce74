"""Whole CLI sessions against a loopback model: files change, events are logged, nothing private."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, HTTPError, Reply
from tests.loopback import refused_url

KEY = "sk-test-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"
PROMPT = "please rename the greeting function to salute"


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def names(log: Path) -> list[str]:
    return [e["event"] for e in events(log)]


def assert_private(log: Path, *secrets: str) -> None:
    text = log.read_text()
    for secret in secrets:
        assert secret not in text, f"{secret!r} leaked into the audit log"


@pytest.fixture
def source(isolated: Path) -> Path:
    path = isolated / "work" / "greet.py"
    path.write_text("def greeting():\n    return 'hi'\n")
    return path


def session_args(api: FakeOpenAI, log: Path, *extra: str) -> list[str]:
    return [
        "--openai-api-base",
        api.url,
        "--openai-api-key",
        KEY,
        "--analytics-log",
        str(log),
        *extra,
    ]


def test_a_whole_format_message_rewrites_the_file_and_logs_the_usage(cli, source, tmp_path) -> None:
    reply = "Here it is.\n\ngreet.py\n```python\ndef salute():\n    return 'hi'\n```\n"
    log = tmp_path / "events.jsonl"
    with FakeOpenAI(
        [Reply(reply, usage={"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150})]
    ) as api:
        run = cli(
            *session_args(api, log, "--edit-format", "whole", "--message", PROMPT, "greet.py")
        )
        assert api.requests[0].headers.get("Authorization") == f"Bearer {KEY}"
    assert run.returncode == 0, run.stderr
    assert source.read_text() == "def salute():\n    return 'hi'\n"
    assert names(log) == ["launched", "cli session", "message_send", "edit_applied", "exit"]
    send = events(log)[2]["properties"]
    assert (send["main_model"], send["edit_format"]) == ("gpt-4o-mini", "whole")
    assert (send["prompt_tokens"], send["completion_tokens"], send["total_tokens"]) == (
        120,
        30,
        150,
    )
    assert isinstance(send["duration_s"], float)
    assert events(log)[3]["properties"]["files_changed"] == 1
    assert events(log)[-1]["properties"]["reason"] == "message_sent"
    assert_private(log, PROMPT, "salute", "greet.py", KEY, api.url)


def test_a_diff_format_message_applies_search_replace_blocks(cli, source, tmp_path) -> None:
    reply = "greet.py\n<<<<<<< SEARCH\ndef greeting():\n=======\ndef salute():\n>>>>>>> REPLACE\n"
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([Reply(reply)]) as api:
        run = cli(
            *session_args(
                api, log, "--edit-format", "diff", "--message", PROMPT, "--file", "greet.py"
            )
        )
    assert run.returncode == 0, run.stderr
    assert source.read_text() == "def salute():\n    return 'hi'\n"
    assert "edit_applied" in names(log)
    assert events(log)[2]["properties"]["edit_format"] == "diff"
    assert_private(log, PROMPT, "salute", "greet.py", KEY)


def test_an_edit_that_does_not_match_changes_nothing_and_says_so(cli, source, tmp_path) -> None:
    before = source.read_text()
    reply = (
        "greet.py\n<<<<<<< SEARCH\ndef nothing_like_this():\n=======\ndef x():\n>>>>>>> REPLACE\n"
    )
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([Reply(reply)]) as api:
        run = cli(*session_args(api, log, "--edit-format", "diff", "--message", PROMPT, "greet.py"))
    assert source.read_text() == before
    assert "not found" in run.stderr + run.stdout
    failed = [e for e in events(log) if e["event"] == "edit_failed"]
    assert failed and failed[0]["properties"]["reason"] == "no_match"
    assert "Traceback" not in run.stderr
    assert run.returncode == 1  # --message says the truth: the edit did not land
    assert events(log)[-1]["properties"]["reason"] == "message_failed"


def test_an_endpoint_error_is_one_line_exit_1_and_an_api_error_event(cli, source, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([HTTPError(500, "the model is on fire")]) as api:
        run = cli(*session_args(api, log, "--message", PROMPT, "greet.py"))
    assert run.returncode == 1
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    error = next(e for e in events(log) if e["event"] == "api_error")["properties"]
    assert (error["error_class"], error["status"]) == ("HTTPStatusError", 500)
    assert events(log)[-1]["properties"]["reason"] == "message_failed"
    assert_private(log, PROMPT, "the model is on fire")


def test_an_unreachable_endpoint_and_a_missing_key_are_clear_errors(cli, source, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    down = cli(
        "--openai-api-base",
        refused_url() + "/v1",
        "--openai-api-key",
        KEY,
        "--analytics-log",
        str(log),
        "--message",
        PROMPT,
    )
    assert down.returncode == 1 and "Traceback" not in down.stderr and down.stderr.strip()
    no_key = cli("--openai-api-base", refused_url() + "/v1", "--message", PROMPT)
    assert no_key.returncode == 1 and "key" in no_key.stderr.lower()
    classes = [e["properties"]["error_class"] for e in events(log) if e["event"] == "api_error"]
    assert classes == ["ConnectError"]


def test_piped_slash_commands_are_counted_and_the_loop_ends_at_eof(cli, source, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    (source.parent / "other.py").write_text("x = 1\n")
    script = (
        "/add other.py\n/ls\n/tokens\n/drop other.py\n/model gpt-4o\n/help\n/analytics\n/nonsense\n"
    )
    with FakeOpenAI() as api:
        run = cli(*session_args(api, log, "greet.py"), input=script)
    assert run.returncode == 0, run.stderr
    assert names(log) == [
        "launched",
        "cli session",
        "command_add",
        "command_ls",
        "command_tokens",
        "command_drop",
        "command_model",
        "command_help",
        "command_analytics",
        "command_unknown",
        "exit",
    ]
    assert events(log)[-1]["properties"]["reason"] == "eof"
    assert "Reporting:" in run.stdout  # /analytics shows the session's status
    assert "Unknown command /nonsense" in run.stdout + run.stderr
    assert_private(log, "other.py", "greet.py", KEY)


def test_exit_command_ends_the_session_with_its_reason(cli, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    run = cli("--analytics-log", str(log), input="/exit\n/ls\n")
    assert run.returncode == 0
    assert names(log)[-2:] == ["command_exit", "exit"]
    assert events(log)[-1]["properties"]["reason"] == "exit_command"


def test_an_unknown_model_is_warned_about_and_redacted(cli, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    run = cli(
        "--analytics-log", str(log), "--model", "ft:gpt-4o-mini:acme-corp::secretproject", input=""
    )
    assert "unknown model" in run.stderr.lower()
    warning = [e for e in events(log) if e["event"] == "model warning"]
    assert warning and warning[0]["properties"]["main_model"] == "openai/REDACTED"
    assert_private(log, "acme-corp", "secretproject")


def test_a_consented_session_sends_the_same_private_free_events(
    cli, source, tmp_path, backend, data_dir
) -> None:
    assert cli("analytics", "on").returncode == 0
    log = tmp_path / "events.jsonl"
    reply = "greet.py\n```\ndef salute():\n    return 'hi'\n```\n"
    with FakeOpenAI([Reply(reply)]) as api:
        run = cli(
            *session_args(
                api,
                log,
                "--message",
                PROMPT,
                "greet.py",
                "--analytics-posthog-host",
                backend.url,
                "--analytics-posthog-project-api-key",
                "phc_test",
            )
        )
    assert run.returncode == 0, run.stderr
    assert backend.wait_for(posthog=5)
    sent = json.dumps(backend.posthog)
    assert [e["event"] for e in backend.posthog] == names(log)
    for secret in (PROMPT, "salute", "greet.py", KEY, str(tmp_path)):
        assert secret not in sent


def test_an_unexpected_error_is_one_line_exit_1_and_an_exception_event_without_the_message(
    tmp_path, monkeypatch, capsys
) -> None:
    import builtins

    from blackboxai.config.settings import load_settings
    from blackboxai.host import make_analytics, run_session

    log = tmp_path / "events.jsonl"
    settings = load_settings(
        {"analytics-log": str(log)}, env={}, cwd=tmp_path, home=tmp_path / "home"
    )
    secret_message = f"failed reading {tmp_path}/private/notes.txt with {KEY}"

    def broken_input(prompt: str = "") -> str:
        raise RuntimeError(secret_message)

    monkeypatch.setattr(builtins, "input", broken_input)
    analytics = make_analytics(settings)
    code = run_session(analytics, settings, files=[], message=None, exit_now=False, status=str)
    assert code == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "RuntimeError" in err
    exception = next(e for e in events(log) if e["event"] == "exception")["properties"]
    assert exception["type"] == "RuntimeError"
    assert "session.chat:run_loop:" in exception["frames"]
    frames = exception["frames"].split(" < ")
    assert all(frame.count(":") == 2 for frame in frames)  # module:function:line, nothing else
    assert events(log)[-1]["properties"]["reason"] == "error"
    assert_private(log, "private/notes.txt", KEY, str(tmp_path))


def test_a_closed_stdin_ends_the_session_like_eof(tmp_path) -> None:
    """`blackboxai <&-`: no stdin at all is the end of input, not an unexpected error."""
    log = tmp_path / "events.jsonl"
    run = subprocess.run(
        ["sh", "-c", 'exec "$0" -m blackboxai --analytics-log "$1" <&-', sys.executable, str(log)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "unexpected error" not in run.stderr and "Traceback" not in run.stderr
    assert "exception" not in names(log)
    assert names(log)[-1] == "exit" and events(log)[-1]["properties"]["reason"] == "eof"


def test_a_message_that_is_not_valid_utf8_is_sent_not_blamed_on_the_key(
    cli, source, tmp_path
) -> None:
    """`-m $'hi \\xff'` reaches Python as a lone surrogate; the key is fine and is not blamed."""
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([Reply("ok")]) as api:
        run = cli(*session_args(api, log, "--message", "hi \udcff", "greet.py"))
        [request] = api.requests
    assert run.returncode == 0, run.stderr
    assert "API key" not in run.stderr
    assert request.body["messages"][-1]["content"].endswith("hi \ufffd")
    assert "api_error" not in names(log)
    assert events(log)[-1]["properties"]["reason"] == "message_sent"


def test_a_stray_non_utf8_byte_on_piped_stdin_is_not_an_error(tmp_path) -> None:
    import os
    import subprocess
    import sys

    log = tmp_path / "events.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "blackboxai", "--analytics-log", str(log)],
        input=b"/l\xffs\n/exit\n",
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},  # as in a UTF-8 locale
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert b"unexpected error" not in run.stderr
    assert events(log)[-1]["properties"]["reason"] == "exit_command"
