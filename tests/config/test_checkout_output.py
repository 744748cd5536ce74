"""What a cloned checkout or a model reply names reaches the terminal escaped: the real CLI in a
repository whose config file (and a loopback model's reply) carry terminal escape codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from blackboxai.config.options import CONFIG_NAME
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import make_repo

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"
SHOWN = r"\x1b]0;pwned\x07\x1b[2J"


@pytest.fixture
def repo(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(isolated / "work" / "clone")
    monkeypatch.chdir(path)
    return path


def session(cli: Any, lines: str, *args: str, replies: list[str] | None = None) -> Any:
    with FakeOpenAI([Reply(r) for r in replies or []]) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        return cli(*args, input=lines, env=env)


def no_escape_codes(result: Any) -> None:
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_a_projects_model_name_is_escaped_by_slash_model(cli: Any, repo: Path) -> None:
    (repo / CONFIG_NAME).write_text('model: "\\e]0;pwned\\a\\e[2Jfake-model"\n')
    result = session(cli, "/model\n")
    assert result.returncode == 0, result.stderr
    no_escape_codes(result)
    assert f"Model: {SHOWN}fake-model" in result.stdout
    result = session(cli, f"/model {ESCAPES}x\n")
    no_escape_codes(result)
    assert f"Model set to {SHOWN}x." in result.stdout


def test_a_projects_file_name_is_escaped_by_ls_add_and_drop(cli: Any, repo: Path) -> None:
    name = "\x1b[31mRED\x1b]0;pwned\x07"
    (repo / name).write_text("red\n")
    (repo / CONFIG_NAME).write_text('file: "\\e[31mRED\\e]0;pwned\\a"\n')
    result = session(cli, f"/ls\n/add '{name}'\n/drop '{name}'\n/ls\n")
    assert result.returncode == 0, result.stderr
    no_escape_codes(result)
    shown = r"\x1b[31mRED\x1b]0;pwned\x07"
    assert f"  {shown}\n" in result.stdout
    assert f"{shown} is already in the chat." in result.stdout
    assert f"Dropped {shown} from the chat." in result.stdout


@pytest.mark.parametrize("edit_format", ["whole", "diff"])
def test_a_path_in_the_models_reply_is_escaped_in_edit_failures(
    cli: Any, repo: Path, edit_format: str
) -> None:
    name = f"{ESCAPES}evil.py"
    if edit_format == "whole":
        reply = f"{name}\n```python\nx = 1\n```\n"
    else:
        reply = f"{name}\n```python\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n"
    result = session(cli, "", "--edit-format", edit_format, "-m", "hi", replies=[reply])
    assert result.returncode == 1
    assert f"Edit to {SHOWN}evil.py rejected: the file is not in the chat" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert not list(repo.glob("*evil.py"))


def test_a_models_reply_cannot_drive_the_terminal(cli: Any, repo: Path) -> None:
    # A reply can be steered by what the checkout's files say: its escape codes, bell and
    # bidirectional overrides are shown escaped; its lines, tabs and other text are kept.
    reply = f"Here:\n\tstep one{ESCAPES}\nnaïve \u202eevil\u202c — done ✓"
    result = session(cli, "hello\n", replies=[reply])
    assert result.returncode == 0, result.stderr
    no_escape_codes(result)
    assert "\u202e" not in result.stdout
    assert f"Here:\n\tstep one{SHOWN}\nnaïve \\u202eevil\\u202c — done ✓\n" in result.stdout


def test_a_reply_in_crlf_lines_prints_as_plain_lines(cli: Any, repo: Path) -> None:
    result = session(cli, "hello\n", replies=["First line.\r\nSecond line.\r\n"])
    assert result.returncode == 0, result.stderr
    assert "First line.\nSecond line.\n" in result.stdout and "\\r" not in result.stdout


def test_ordinary_names_in_any_script_are_shown_as_they_are(cli: Any, repo: Path) -> None:
    # Joiners (Persian, emoji) and non-breaking spaces are text, not terminal commands.
    names = ["می\u200cخواهم.md", "rapport\xa0final.md", "👨\u200d💻-notes.md"]
    for name in names:
        (repo / name).write_text("x\n")
    result = session(cli, "/ls\n", *names)
    assert result.returncode == 0, result.stderr
    for name in names:
        assert f"  {name}\n" in result.stdout
