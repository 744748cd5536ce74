"""Issue #22: a terminal whose charset cannot show what blackboxai prints (Latin-1, or the cp1252
a redirected stdout gets on Windows). What cannot be shown is replaced; nothing ends early.

Everything runs through the real CLI in a child process whose standard streams use that charset:
`PYTHONIOENCODING` always, and a real `LANG=en_US.ISO-8859-1` where `localedef` can build it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from blackboxai.question import QUESTION
from tests.fake_openai import FakeOpenAI
from tests.support import REPO

ORIGINAL = "def greet():\n    return 'hello'\n"
EDITED = "def greet():\n    return '✅ — … 你好'\n"
EDIT_REPLY = f"greeter.py\n```python\n{EDITED}```\n"
CHAT_REPLY = "Done ✅ — see the notes… 你好"
SAMPLE = REPO / "sample-analytics.jsonl"
ENCODINGS = ["latin-1", "cp1252"]


def run_bytes(
    *args: str, env: dict[str, str], input: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    """The real CLI, its output kept as bytes: they are in the child's charset, not UTF-8.
    `env` is the child's whole environment."""
    return subprocess.run(
        [sys.executable, "-m", "blackboxai", *args],
        input=input,
        capture_output=True,
        env=env,
        timeout=60,
    )


def with_encoding(encoding: str) -> dict[str, str]:
    """This process's environment, with standard streams in `encoding`."""
    return {**os.environ, "PYTHONIOENCODING": encoding}


def shown(text: str, encoding: str) -> str:
    """`text` as a terminal in `encoding` shows it once what it cannot show is replaced."""
    return text.encode(encoding, "replace").decode(encoding)


def chat(api: FakeOpenAI, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Two messages in one session: the first reply edits greeter.py, the second only talks."""
    Path("greeter.py").write_text(ORIGINAL, encoding="utf-8")
    api.replies += [EDIT_REPLY, CHAT_REPLY]
    endpoint = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test-0123456789"}
    return run_bytes(
        "--no-analytics", "greeter.py", input=b"make it friendly\nand now?\n", env=env | endpoint
    )


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_reply_the_charset_cannot_show_is_replaced_and_the_session_goes_on(
    encoding: str,
) -> None:
    with FakeOpenAI() as api:
        result = chat(api, with_encoding(encoding))
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
    result = run_bytes("analytics", "report", str(SAMPLE), env=with_encoding(encoding))
    out, err = result.stdout.decode(encoding), result.stderr.decode(encoding, "replace")
    assert result.returncode == 0, err
    assert "unexpected error" not in err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(" message_")}
    # The largest count gets the whole bar, in a character this charset has: a chart, not '?'s.
    assert re.search(r"message_send[\s|]+230[\s|]+#{30}\s*$", rows["message_send"]), out
    assert "?" not in out


LATIN1_LOCALE = "en_US.ISO-8859-1"


@pytest.fixture(scope="module")
def latin1_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real Latin-1 locale, built into a private directory (LOCPATH) so nothing on the machine
    changes; skipped where `localedef` or its sources are missing (a minimal CI image)."""
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.skip("localedef is not installed: the PYTHONIOENCODING variant covers Latin-1")
    where = tmp_path_factory.mktemp("locales")
    built = subprocess.run(
        [localedef, "-i", "en_US", "-f", "ISO-8859-1", str(where / LATIN1_LOCALE)],
        capture_output=True,
        timeout=60,
    )
    env = {"LOCPATH": str(where), "LC_ALL": LATIN1_LOCALE, "LANG": LATIN1_LOCALE}
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.stdout.encoding)"],
        capture_output=True,
        text=True,
        env=_without_our_encoding() | env,
        timeout=60,
    )
    if built.returncode not in (0, 1) or probe.stdout.strip() != "iso8859-1":  # 1: warnings
        pytest.skip(f"{LATIN1_LOCALE} could not be built here: {built.stderr[-200:]!r}")
    return env


def _without_our_encoding() -> dict[str, str]:
    """This process's environment without anything that would override the locale's charset."""
    drop = ("PYTHONIOENCODING", "PYTHONUTF8", "LC_ALL", "LC_CTYPE", "LANG", "LANGUAGE")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.fixture(params=["PYTHONIOENCODING", "LANG"])
def latin1(request: pytest.FixtureRequest) -> dict[str, str]:
    """A whole environment whose standard streams are Latin-1: by variable, or by locale."""
    if request.param == "LANG":
        return _without_our_encoding() | request.getfixturevalue("latin1_locale")
    return _without_our_encoding() | {"PYTHONIOENCODING": "latin-1"}


def test_under_latin1_a_session_the_report_status_and_the_question_all_complete(
    latin1: dict[str, str],
) -> None:
    """The issue's acceptance line: a session with non-Latin-1 replies, `report`, `status` and
    the question, in a Latin-1 environment, each end with exit status 0."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", "--exit"],
        env=latin1,
        encoding="latin-1",
        timeout=30,
    )
    child.expect_exact(QUESTION.strip())
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with FakeOpenAI() as api:
        session = chat(api, latin1)
    assert session.returncode == 0, session.stderr.decode("latin-1")
    assert shown(CHAT_REPLY, "latin-1") in session.stdout.decode("latin-1")
    assert Path("greeter.py").read_text(encoding="utf-8") == EDITED
    for args in (["analytics", "report", str(SAMPLE)], ["analytics", "status"]):
        result = run_bytes(*args, env=latin1)
        assert result.returncode == 0, (args, result.stderr.decode("latin-1"))
        assert b"unexpected error" not in result.stderr
    status = run_bytes("analytics", "status", env=latin1).stdout.decode("latin-1")
    assert "Stored choice: opted in" in status  # the question's answer was stored
