"""The chat-completions client against a loopback server: success, usage, and every failure."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blackboxai.session.llm import (
    Completion,
    LLMError,
    build_messages,
    complete,
    endpoint_error_message,
    one_line,
    parse_completion,
)
from tests.fake_openai import FakeOpenAI, HTTPError, Raw, Reply, Slow
from tests.loopback import refused_url

MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def api() -> FakeOpenAI:
    with FakeOpenAI() as server:
        yield server


def _error(api_base: str | None, key: str | None = "sk-test", timeout: float = 5.0) -> LLMError:
    with pytest.raises(LLMError) as info:
        complete(api_base, key, "gpt-4o-mini", MESSAGES, timeout)
    return info.value


def test_success_returns_content_and_usage_and_sends_a_proper_request(api: FakeOpenAI) -> None:
    api.replies.append(
        Reply("hi there", {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
    )
    result = complete(api.url + "/", "sk-test", "gpt-4o-mini", MESSAGES, 5.0)
    assert result == Completion("hi there", 3, 2, 5)
    [request] = api.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert request.body == {"model": "gpt-4o-mini", "messages": MESSAGES}


def test_missing_usage_counts_as_zero(api: FakeOpenAI) -> None:
    api.replies.append(Reply("ok", usage=None))
    assert complete(api.url, "k", "m", MESSAGES, 5.0) == Completion("ok", 0, 0, 0)


def test_no_endpoint_and_no_key_fail_before_any_request(api: FakeOpenAI) -> None:
    no_base = _error(None)
    assert (no_base.error_class, no_base.status) == ("NoEndpoint", 0)
    assert "OPENAI_API_BASE" in no_base.message
    no_key = _error(api.url, key="")
    assert (no_key.error_class, no_key.status) == ("NoKey", 0)
    assert "OPENAI_API_KEY" in no_key.message
    assert api.requests == []


@pytest.mark.parametrize("status", [500, 401])
def test_http_error_reports_status_and_the_endpoint_message(api: FakeOpenAI, status: int) -> None:
    api.replies.append(HTTPError(status, "Incorrect API key provided"))
    error = _error(api.url)
    assert (error.error_class, error.status) == ("HTTPStatusError", status)
    assert error.message == f"The model endpoint returned HTTP {status}: Incorrect API key provided"


def test_http_error_detail_is_one_short_line(api: FakeOpenAI) -> None:
    api.replies.append(HTTPError(500, "boom\n" * 200))
    error = _error(api.url)
    assert "\n" not in error.message
    assert len(error.message) < 260


HOSTILE = "bad \x1b]0;PWNED\x07\x1b[31mRED\x1b[2J \x9b31m"


def test_endpoint_error_text_cannot_drive_the_terminal_of_a_real_session(
    api: FakeOpenAI, tmp_path: Path
) -> None:
    api.replies.append(HTTPError(400, HOSTILE))
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")}
    env.update(OPENAI_API_BASE=api.url, OPENAI_API_KEY="sk-test", BLACKBOXAI_ANALYTICS="0")
    done = subprocess.run(
        [sys.executable, "-m", "blackboxai", "-m", "hello"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert len(api.requests) == 1
    [line] = done.stderr.splitlines()
    assert line == (
        "Error: The model endpoint returned HTTP 400: "
        "bad \\x1b]0;PWNED\\x07\\x1b[31mRED\\x1b[2J \\x9b31m"
    )
    assert not {"\x1b", "\x07", "\x9b"} & set(done.stdout + done.stderr)


@given(st.text(), st.integers(min_value=10, max_value=300))
def test_one_line_escapes_every_control_character(text: str, limit: int) -> None:
    # Control characters (Cc), bidirectional overrides and isolates, line/paragraph separators:
    # what could drive a terminal or make the line read other than it is. Other text stays.
    unsafe = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")
    shown = one_line(text, limit)
    assert not [c for c in shown if unicodedata.category(c) == "Cc" or c in unsafe]


def test_http_error_without_standard_body_uses_the_reason(api: FakeOpenAI) -> None:
    api.replies.append(Raw("<html>bad gateway</html>", status=502, content_type="text/html"))
    error = _error(api.url)
    assert (error.error_class, error.status) == ("HTTPStatusError", 502)
    assert error.message == "The model endpoint returned HTTP 502: Bad Gateway"


def test_non_json_body_is_a_bad_response(api: FakeOpenAI) -> None:
    api.replies.append(Raw("<html>not an API</html>", content_type="text/html"))
    error = _error(api.url)
    assert (error.error_class, error.status) == ("BadResponse", 0)
    assert "not JSON" in error.message


@pytest.mark.parametrize(
    "body", ['{"object": "list", "data": []}', '{"choices": []}', "[1, 2]", "null"]
)
def test_json_that_is_not_a_chat_completion_is_a_bad_response(api: FakeOpenAI, body: str) -> None:
    api.replies.append(Raw(body))
    error = _error(api.url)
    assert (error.error_class, error.status) == ("BadResponse", 0)
    assert "not a chat completion" in error.message


def test_refused_port_is_a_connect_error() -> None:
    error = _error(refused_url() + "/v1")
    assert (error.error_class, error.status) == ("ConnectError", 0)
    assert error.message.startswith("Could not connect to the model endpoint at http://127.0.0.1")
    assert "\n" not in error.message


def test_unusable_urls_and_keys_are_reported_not_raised() -> None:
    assert _error("localhost:1/v1").error_class == "UnsupportedProtocol"
    assert _error("http://[::1/v1").error_class == "InvalidURL"
    bad_key = _error("http://127.0.0.1:1/v1", key="sk-\u00e9\u20ac")
    assert (bad_key.error_class, bad_key.message) == (
        "NoKey",
        "The API key has characters HTTP headers cannot carry.",
    )


def test_only_a_key_that_cannot_be_a_header_is_blamed_on_the_key(api: FakeOpenAI) -> None:
    """A non-UTF-8 key is the key's fault; a non-UTF-8 message or model name is not."""
    bad_key = _error(api.url, key="sk-\udcff")
    assert (bad_key.error_class, bad_key.message) == (
        "NoKey",
        "The API key has characters HTTP headers cannot carry.",
    )
    assert api.requests == []
    api.replies.append("fine")
    messages = [{"role": "user", "content": "hi \udcff caf\u00e9"}]
    assert complete(api.url, "sk-test", "m\udcff", messages, 5.0).content == "fine"
    [request] = api.requests
    assert request.body == {
        "model": "m\ufffd",
        "messages": [{"role": "user", "content": "hi \ufffd caf\u00e9"}],
    }
    assert request.headers["Content-Type"] == "application/json"


def test_a_url_path_that_is_not_valid_utf8_is_an_invalid_url() -> None:
    error = _error("http://127.0.0.1:1/v\udcff")
    assert (error.error_class, error.status) == ("InvalidURL", 0)
    assert error.message.startswith("The model endpoint URL is invalid:")


def test_slow_endpoint_times_out(api: FakeOpenAI) -> None:
    api.replies.append(Slow(2.0))
    error = _error(api.url, timeout=0.2)
    assert (error.error_class, error.status) == ("ReadTimeout", 0)
    assert error.message == "The model endpoint did not answer within 0.2 s."
    assert len(api.requests) == 1  # no retry


def test_importing_the_session_does_not_import_httpx() -> None:
    code = "import sys, blackboxai.session; print('httpx' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_build_messages_fences_file_content_safely() -> None:
    files = [("docs/a.md", "```sh\nmake\n```"), ("new.py", None)]
    system, user = build_messages("whole", files, "update the docs")
    assert system["role"] == "system" and "COMPLETE new content" in system["content"]
    assert user["content"] == (
        "Files in the chat:\n\ndocs/a.md\n````\n```sh\nmake\n```\n````\n\n"
        "new.py\n(new file; it does not exist yet)\n\nupdate the docs"
    )
    assert "<<<<<<< SEARCH" in build_messages("diff", [], "x")[0]["content"]
    assert build_messages("diff", [], "just this")[1]["content"] == "just this"


def test_parse_completion_sums_tokens_when_total_is_missing() -> None:
    data = {
        "choices": [{"message": {"content": "x"}}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1},
    }
    assert parse_completion(data) == Completion("x", 4, 1, 5)


def test_endpoint_error_message_reads_only_standard_bodies() -> None:
    assert endpoint_error_message('{"error": {"message": "quota  exceeded"}}') == "quota exceeded"
    assert endpoint_error_message('{"error": "rate limited"}') == "rate limited"
    assert endpoint_error_message('{"detail": "x"}') == ""
    assert endpoint_error_message("not json") == ""


@given(st.text(), st.integers(min_value=10, max_value=300))
def test_one_line_is_single_line_and_bounded(text: str, limit: int) -> None:
    line = one_line(text, limit)
    assert len(line) <= limit
    assert not any(c in line for c in "\n\r\t")
