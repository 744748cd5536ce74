"""What the model is asked (format prompt, files, message) and one call, failing as one line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blackboxai.terminal import escaped

__all__ = [
    "Completion",
    "LLMError",
    "build_messages",
    "chat_url",
    "complete",
    "endpoint_error_message",
    "one_line",
    "parse_completion",
]

_MAX_DETAIL = 200

_WHOLE_PROMPT = """You are an expert software engineer editing the user's files.
To change a file, write its path on a line by itself, then a fenced code block with the
file's COMPLETE new content. If the file itself contains ``` lines, fence it with more
backticks than any run in it (````), as the files below are. Only edit files the user added
to the chat. Example:

hello.py
```python
print("hello, world")
```
"""

_DIFF_PROMPT = """You are an expert software engineer editing the user's files.
To change a file, write SEARCH/REPLACE blocks: the file's path on a line by itself, then a
fenced block with <<<<<<< SEARCH, lines copied exactly from the file, =======, the new
lines, and >>>>>>> REPLACE. Keep SEARCH short but unique. An empty SEARCH appends to the
file (or creates it). Only edit files the user added to the chat. Example:

hello.py
```python
<<<<<<< SEARCH
print("hello")
=======
print("hello, world")
>>>>>>> REPLACE
```
"""


@dataclass(frozen=True)
class Completion:
    """The reply text and the token usage the endpoint reported (0 when it reported none), and
    its cost in US dollars when the endpoint reports one (OpenRouter and LiteLLM proxies put it
    in usage.cost); None otherwise: a cost is never estimated."""

    content: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float | None = None


class LLMError(Exception):
    """A failed call, classified so callers can report it without a traceback."""

    def __init__(self, error_class: str, status: int, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.status = status
        self.message = message


def _fenced(text: str) -> str:
    """Fence text with more backticks than it contains, so file content cannot close the fence."""
    longest, run = 2, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    body = text if not text or text.endswith("\n") else text + "\n"
    return f"{fence}\n{body}{fence}"


def build_messages(
    edit_format: str, files: Sequence[tuple[str, str | None]], message: str
) -> list[dict[str, str]]:
    """The chat request: format instructions, each chat file's current content, the message."""
    system = _DIFF_PROMPT if edit_format == "diff" else _WHOLE_PROMPT
    parts = [
        f"{name}\n{_fenced(text) if text is not None else '(new file; it does not exist yet)'}"
        for name, text in files
    ]
    if parts:
        parts.insert(0, "Files in the chat:")
    parts.append(message)
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def one_line(text: str, limit: int = _MAX_DETAIL) -> str:
    """Collapse whitespace, escape control characters and cap the length: endpoint text must
    neither flood the terminal nor drive it (set its title, colours, clear the screen)."""
    flat = escaped(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def chat_url(api_base: str) -> str:
    """The chat-completions URL for an OpenAI-compatible base URL."""
    return f"{api_base.rstrip('/')}/chat/completions"


def endpoint_error_message(body: str) -> str:
    """The message from a standard {"error": {"message": ...}} body, else "" (one line)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return one_line(error["message"])
    if isinstance(error, str):
        return one_line(error)
    return ""


def _token_count(usage: Mapping[str, Any], key: str) -> int:
    """A usage counter as a non-negative int; anything odd counts as 0."""
    value = usage.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def _message_content(data: Mapping[str, Any]) -> str | None:
    """choices[0].message.content when it is a string, else None."""
    choices = data.get("choices")
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def parse_completion(data: object) -> Completion:
    """Pull the reply text and usage out of a decoded chat-completion body."""
    content = _message_content(data) if isinstance(data, dict) else None
    if content is None or not isinstance(data, dict):
        raise LLMError(
            "BadResponse", 0, "The model endpoint's reply is not a chat completion (no message)."
        )
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    prompt = _token_count(usage, "prompt_tokens")
    completion = _token_count(usage, "completion_tokens")
    total = _token_count(usage, "total_tokens") or prompt + completion
    cost = usage.get("cost")
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost < 1e9:
        cost = None  # absent, or not a cost: none is reported, and none is guessed
    return Completion(content, prompt, completion, total, None if cost is None else float(cost))


_SURROGATES = re.compile("[\ud800-\udfff]")


def _json_body(payload: object) -> bytes:
    """UTF-8 JSON. Text that is not valid Unicode (a non-UTF-8 argument or line arrives with
    lone surrogates) is sent as U+FFFD rather than failing the whole request."""
    return _SURROGATES.sub(
        "\ufffd", json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    ).encode("utf-8")


def complete(
    api_base: str | None,
    api_key: str | None,
    model: str,
    messages: Sequence[Mapping[str, str]],
    timeout: float,
) -> Completion:
    """POST one chat request (no retries: a failed call is reported, not repeated)."""
    if not api_base:
        raise LLMError(
            "NoEndpoint",
            0,
            "No model endpoint configured: set --openai-api-base or OPENAI_API_BASE.",
        )
    if not api_key:
        raise LLMError("NoKey", 0, "No API key configured: set --openai-api-key or OPENAI_API_KEY.")

    import httpx  # lazily: start-up must not pay for httpx unless a message is sent

    try:  # httpx sends header text as ASCII; encoding here keeps the blame on the key alone
        auth = b"Bearer " + api_key.encode("ascii")
    except UnicodeEncodeError:
        raise LLMError(
            "NoKey", 0, "The API key has characters HTTP headers cannot carry."
        ) from None
    url = chat_url(api_base)
    headers = {b"Authorization": auth, b"Content-Type": b"application/json"}
    body = _json_body({"model": model, "messages": [dict(m) for m in messages]})
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise LLMError(
            type(exc).__name__, 0, f"The model endpoint did not answer within {timeout:g} s."
        ) from None
    except httpx.ConnectError as exc:
        raise LLMError(
            "ConnectError",
            0,
            f"Could not connect to the model endpoint at {api_base}: {one_line(str(exc))}",
        ) from None
    except (httpx.InvalidURL, UnicodeEncodeError):  # key and body are bytes: only the URL is left
        raise LLMError("InvalidURL", 0, f"The model endpoint URL is invalid: {api_base}") from None
    except httpx.HTTPError as exc:
        raise LLMError(
            type(exc).__name__, 0, f"The request to the model endpoint failed: {one_line(str(exc))}"
        ) from None

    if response.is_error:
        detail = endpoint_error_message(response.text)
        reason = detail or one_line(response.reason_phrase) or "error"
        raise LLMError(
            "HTTPStatusError",
            response.status_code,
            f"The model endpoint returned HTTP {response.status_code}: {reason}",
        )
    try:
        data = response.json()
    except ValueError:
        raise LLMError(
            "BadResponse", 0, "The model endpoint's reply is not JSON; is the base URL right?"
        ) from None
    return parse_completion(data)
