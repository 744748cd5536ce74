"""Issue #11 through the real CLI: bad paths at the prompt, symlinks that leave the project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def exit_reason(log: Path) -> str:
    [record] = [e for e in events(log) if e["event"] == "exit"]
    return str(record["properties"]["reason"])


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


# -- symlinks that leave the project -----------------------------------------------------


def test_ls_at_the_prompt_names_a_symlink_that_leaves_the_project(
    cli, work: Path, isolated: Path
) -> None:
    secret = isolated / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("keep\n")
    (work / "notes.md").symlink_to(secret)
    run = cli("notes.md", input="/ls\n/exit\n")
    assert run.returncode == 0, run.stderr
    assert f"  notes.md -> {secret} (outside the project)\n" in run.stdout
