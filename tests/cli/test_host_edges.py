"""Issue #11 through the real CLI: bad paths, --message's exit status, symlinks, nested fences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI

KEY = "sk-test-edges-0123456789"


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def exit_reason(log: Path) -> str:
    [record] = [e for e in events(log) if e["event"] == "exit"]
    return str(record["properties"]["reason"])


def endpoint(api: FakeOpenAI, log: Path) -> list[str]:
    return ["--openai-api-base", api.url, "--openai-api-key", KEY, "--analytics-log", str(log)]


@pytest.fixture
def work(isolated: Path) -> Path:
    return isolated / "work"


# -- a slash command never ends the session ----------------------------------------------


def test_bad_paths_at_the_prompt_get_one_line_each_and_the_prompt_returns(
    cli, work: Path, tmp_path: Path
) -> None:
    (work / "loop").symlink_to("loop")
    (work / "app.py").write_text("x = 1\n")
    log = tmp_path / "events.jsonl"
    typed = ["/add ~nosuchuser/x", "/add a\x00b", "/drop ~typo/x", "/add loop/y.py", "/add app.py"]
    run = cli("--analytics-log", str(log), input="\n".join([*typed, "/ls", "/exit", ""]))
    assert run.returncode == 0, run.stderr
    assert "unexpected error" not in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        "Cannot use ~nosuchuser/x: there is no user nosuchuser, so ~nosuchuser cannot be expanded.",
        "Cannot use a\\x00b: a path cannot contain a NUL byte.",
        "Cannot use ~typo/x: there is no user typo, so ~typo cannot be expanded.",
        "Cannot use loop/y.py: too many levels of symbolic links.",
    ]
    assert "Files in the chat:\n  app.py\n" in run.stdout
    assert exit_reason(log) == "exit_command"
    assert "exception" not in [e["event"] for e in events(log)]


# -- --message tells the truth -----------------------------------------------------------


@pytest.mark.parametrize(
    ("edit_format", "reply", "reason"),
    [
        ("diff", "app.py\n<<<<<<< SEARCH\nnope\n=======\ny\n>>>>>>> REPLACE\n", "no_match"),
        ("whole", "other.py\n```\nx = 2\n```\n", "not_in_chat"),
        ("whole", "app.py\n```python\nx = 2\n", "malformed"),
        ("whole", "app.py\n```\n# a\n```\nrun\n```\nb\n```\n", "ambiguous_fence"),
    ],
    ids=["no_match", "not_in_chat", "malformed", "ambiguous_fence"],
)
def test_a_message_whose_edit_failed_exits_1_as_message_failed(
    cli, work: Path, tmp_path: Path, edit_format: str, reply: str, reason: str
) -> None:
    app = work / "app.py"
    app.write_text("x = 1\n")
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([reply]) as api:
        run = cli(*endpoint(api, log), "--edit-format", edit_format, "-m", "change x", "app.py")
    assert run.returncode == 1, run.stderr
    assert app.read_text() == "x = 1\n"
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    failed = [e["properties"] for e in events(log) if e["event"] == "edit_failed"]
    assert [f["reason"] for f in failed] == [reason]
    assert exit_reason(log) == "message_failed"


def test_a_message_whose_edits_all_landed_exits_0(cli, work: Path, tmp_path: Path) -> None:
    readme = work / "README.md"
    readme.write_text("old\n")
    content = "# Tool\n\n```sh\npip install tool\n```\n"
    log = tmp_path / "events.jsonl"
    with FakeOpenAI([f"README.md\n```markdown\n{content}```\n"]) as api:
        run = cli(*endpoint(api, log), "-m", "document install", "README.md")
    assert run.returncode == 0, run.stderr
    assert readme.read_text() == content
    assert exit_reason(log) == "message_sent"


# -- symlinks that leave the project -----------------------------------------------------


def test_ls_at_the_prompt_names_a_symlink_that_leaves_the_project(
    cli, work: Path, isolated: Path
) -> None:
    secret = isolated / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("keep\n")
    (work / "notes.md").symlink_to(secret)
    run = cli(str(work / "notes.md"), input="/ls\n/exit\n")  # named in full: the user's choice
    assert run.returncode == 0, run.stderr
    assert f"  notes.md -> {secret} (outside the project)\n" in run.stdout
