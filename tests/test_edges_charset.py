"""Issue #22: a terminal whose charset cannot show what blackboxai prints (Latin-1, or the cp1252
a redirected stdout gets on Windows). What cannot be shown is replaced; nothing ends early.

Everything runs through the real CLI in a child process whose standard streams use that charset:
`PYTHONIOENCODING` always, and a real `LANG=en_US.ISO-8859-1` where `localedef` can build it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI

ORIGINAL = "def greet():\n    return 'hello'\n"
EDITED = "def greet():\n    return '✅ — … 你好'\n"
EDIT_REPLY = f"greeter.py\n```python\n{EDITED}```\n"
CHAT_REPLY = "Done ✅ — see the notes… 你好"
SAMPLE = Path(__file__).resolve().parent.parent / "sample-analytics.jsonl"
ENCODINGS = ["latin-1", "cp1252"]


def run_bytes(
    *args: str, env: dict[str, str], input: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The real CLI, its output kept as bytes: they are in the child's charset, not UTF-8."""
    return subprocess.run(
        [sys.executable, "-m", "blackboxai", *args],
        input=input,
        capture_output=True,
        env={**os.environ, **env},
        timeout=60,
    )


def shown(text: str, encoding: str) -> str:
    """`text` as a terminal in `encoding` shows it once what it cannot show is replaced."""
    return text.encode(encoding, "replace").decode(encoding)


def chat(api: FakeOpenAI, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Two messages in one session: the first reply edits greeter.py, the second only talks."""
    Path("greeter.py").write_text(ORIGINAL, encoding="utf-8")
    api.replies += [EDIT_REPLY, CHAT_REPLY]
    endpoint = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test-0123456789"}
    return run_bytes(
        "--no-analytics", "greeter.py", input=b"make it friendly\nand now?\n", env=endpoint | env
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_reply_the_charset_cannot_show_is_replaced_and_the_session_goes_on(
    encoding: str,
) -> None:
    with FakeOpenAI() as api:
        result = chat(api, {"PYTHONIOENCODING": encoding})
        asked = len(api.requests)
    out, err = result.stdout.decode(encoding), result.stderr.decode(encoding, "replace")
    assert result.returncode == 0, err
    assert "unexpected error" not in err
    assert asked == 2  # the second message was sent: the first reply did not end the session
    assert Path("greeter.py").read_text(encoding="utf-8") == EDITED  # the edit is unaffected
    assert "Applied edit to greeter.py." in out
    assert shown(CHAT_REPLY, encoding) in out  # what the charset has is kept, the rest is '?'


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_report_draws_its_bars_in_what_the_charset_can_show(encoding: str) -> None:
    result = run_bytes("analytics", "report", str(SAMPLE), env={"PYTHONIOENCODING": encoding})
    out, err = result.stdout.decode(encoding), result.stderr.decode(encoding, "replace")
    assert result.returncode == 0, err
    assert "unexpected error" not in err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(" message_")}
    # The largest count gets the whole bar, in a character this charset has: a chart, not '?'s.
    assert re.search(r"message_send[\s|]+230[\s|]+#{30}\s*$", rows["message_send"]), out
    assert "?" not in out
