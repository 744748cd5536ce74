"""Symlinks in a name the user types, through the real CLI: a clone's link never carries a private
file to the model endpoint, or an edit outside the checkout, wherever the user runs from, even
when it is swapped in after the file was added. The loopback request log and the files outside
prove it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, ReplySpec
from tests.support import make_repo

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- c2VjcmV0LWtleQ"


@pytest.fixture
def home(isolated: Path) -> Path:
    """The test's HOME with ~/.ssh/id_rsa, and a cloned repository at ~/repo."""
    home = isolated / "home"
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
    repo = make_repo(home / "repo")
    (repo / "README.md").write_text("# the project\n")
    return home


def chat(cli: Any, cwd: Path, *args: str, input: str = "", replies: int = 1) -> tuple[Any, str]:
    """The real CLI in `cwd`; its result and everything the model endpoint received."""
    with FakeOpenAI(["Nothing to change."] * replies) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        old = Path.cwd()
        os.chdir(cwd)
        try:
            result = cli(*args, input=input, env=env)
        finally:
            os.chdir(old)
        sent = json.dumps([r.body for r in api.requests])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result, sent


def refusal(name: str, key: Path) -> str:
    return (
        f"{name} is a symbolic link to {key}, outside the project; not added (name {key} itself "
        "if you mean it).\n"
    )


# -- the checkout is the one the name lies in, not the current directory's ----------------


def test_a_clones_link_is_refused_when_run_from_home_above_the_checkout(
    cli: Any, home: Path
) -> None:
    (home / "repo" / "notes.md").symlink_to("../.ssh/id_rsa")
    key = home / ".ssh" / "id_rsa"
    result, sent = chat(cli, home, "-m", "summarise", "repo/README.md", "repo/notes.md")
    assert "# the project" in sent and SECRET not in sent and "id_rsa" not in sent
    assert result.stderr == refusal("repo/notes.md", key)
    result, sent = chat(cli, home, input="/add repo/notes.md\n/ls\nhi\n")
    assert SECRET not in sent and "id_rsa" not in sent
    assert result.stderr == refusal("repo/notes.md", key)
    assert "No files in the chat." in result.stdout


def test_a_clones_link_is_refused_when_run_from_the_directory_holding_it(
    cli: Any, home: Path, isolated: Path
) -> None:
    """Outside home, from the checkout's parent (a directory of clones, not itself in git)."""
    repo = make_repo(isolated / "work" / "clone")
    (repo / "notes.md").symlink_to("../../home/.ssh/id_rsa")
    (repo / "docs").symlink_to(home / ".ssh")
    key = home / ".ssh" / "id_rsa"
    result, sent = chat(cli, isolated / "work", "-m", "hi", "clone/notes.md", "clone/docs/id_rsa")
    assert SECRET not in sent and "id_rsa" not in sent
    assert result.stderr.splitlines() == [
        refusal("clone/notes.md", key).rstrip("\n"),
        f"clone/docs/id_rsa is in clone/docs, a symbolic link to {home / '.ssh'}, outside the "
        f"project; not added (name {key} itself if you mean it).",
    ]


def test_a_climbing_name_into_another_checkout_is_bounded_by_that_checkout(
    cli: Any, home: Path, isolated: Path
) -> None:
    """`../clone/notes.md` from a sibling project: the clone still chose where it leads."""
    mine = make_repo(isolated / "work" / "mine")
    clone = make_repo(isolated / "work" / "clone")
    (clone / "notes.md").symlink_to(home / ".ssh" / "id_rsa")
    result, sent = chat(cli, mine, "-m", "hi", "../clone/notes.md")
    assert SECRET not in sent
    assert result.stderr == refusal("../clone/notes.md", home / ".ssh" / "id_rsa")


def test_the_link_named_is_the_part_of_the_name_that_is_one_and_each_name_is_said_once(
    cli: Any, home: Path
) -> None:
    repo = home / "repo"
    (repo / "sub").mkdir()
    (repo / "sub" / "lnk").symlink_to("../../.ssh")
    (repo / "notes.md").symlink_to("../.ssh/id_rsa")
    args = ["repo/sub/lnk/new.txt", "--file", "repo/notes.md", "repo/notes.md", "--"]
    result, _ = chat(cli, home, "-m", "hi", *args, "repo/notes.md")
    assert result.stderr.splitlines() == [
        refusal("repo/notes.md", home / ".ssh" / "id_rsa").rstrip("\n"),
        f"repo/sub/lnk/new.txt is in repo/sub/lnk, a symbolic link to {home / '.ssh'}, outside "
        f"the project; not added (name {home / '.ssh' / 'new.txt'} itself if you mean it).",
    ]
    assert not (home / ".ssh" / "new.txt").exists()


def test_links_inside_the_checkout_absolute_names_and_home_names_still_work(
    cli: Any, home: Path
) -> None:
    repo = home / "repo"
    (repo / "real.md").write_text("real text\n")
    (repo / "inner.md").symlink_to("real.md")
    (home / "todo.txt").write_text("my todo\n")
    key = home / ".ssh" / "id_rsa"
    result, sent = chat(cli, home, "-m", "hi", "repo/inner.md", str(key))
    assert "real text" in sent and SECRET in sent and result.stderr == ""
    result, sent = chat(cli, repo, input="/add inner.md ~/todo.txt\n/ls\nhi\n")
    assert "real text" in sent and "my todo" in sent and result.stderr == ""
    assert f"  inner.md -> real.md\n  {home / 'todo.txt'}\n" in result.stdout


def test_ls_says_where_any_link_leads_even_outside_every_project(
    cli: Any, home: Path, isolated: Path
) -> None:
    """A climbing name (`../other/x`) is the user's choice; /ls names its target."""
    other = isolated / "other"
    other.mkdir()
    (other / "target.txt").write_text("t\n")
    (other / "x").symlink_to("target.txt")
    result, _ = chat(cli, home / "repo", "../../other/x", input="/ls\n")
    assert f"  {other / 'x'} -> {other / 'target.txt'} (outside the project)\n" in result.stdout


# -- a link swapped in after the file was added -------------------------------------------


class SwapsMidSession(FakeOpenAI):
    """Runs `swap` while the first request is being answered: the session added the file and
    read it before, and reads and writes it after."""

    def __init__(self, replies: list[ReplySpec], swap: Callable[[], None]) -> None:
        super().__init__(replies)
        self.swap = swap

    def _next(self) -> ReplySpec:
        if len(self.requests) == 1:
            self.swap()
        return super()._next()


@pytest.mark.parametrize(
    "edit",
    [
        ("whole", "notes.md\n```\nPWNED\n```\n"),
        ("diff", "notes.md\n<<<<<<< SEARCH\nOUTSIDE\n=======\nPWNED\n>>>>>>> REPLACE\n"),
    ],
    ids=["whole", "diff"],
)
def test_a_link_swapped_in_after_add_is_neither_read_nor_written(
    cli: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str]
) -> None:
    repo = make_repo(isolated / "work" / "repo")
    monkeypatch.chdir(repo)
    notes = repo / "notes.md"
    notes.write_text("our notes\n")
    outside = isolated / "secret\x1b[2J"  # its name would clear the screen if printed raw
    outside.mkdir()
    (outside / "id_rsa2").write_text("OUTSIDE KEY\n")

    def swap() -> None:
        notes.unlink()
        notes.symlink_to(f"../../{outside.name}/id_rsa2")

    edit_format, reply = edit
    with SwapsMidSession(["first", reply], swap) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        lines = "/add notes.md\nhello\n/ls\nagain\n"
        result = cli("--edit-format", edit_format, input=lines, env=env)
        sent = [json.dumps(r.body) for r in api.requests]
    assert result.returncode == 0, result.stderr
    assert "our notes" in sent[0] and "OUTSIDE" not in sent[1] and "id_rsa2" not in sent[1]
    assert (outside / "id_rsa2").read_text() == "OUTSIDE KEY\n" and notes.is_symlink()
    shown = str(outside).replace("\x1b", "\\x1b") + "/id_rsa2"
    assert "\x1b" not in result.stdout + result.stderr
    assert f"  notes.md -> {shown} (outside the project; not read or written)\n" in result.stdout
    assert "Applied edit" not in result.stdout
    assert result.stderr.splitlines() == [
        f"notes.md now leads outside the project ({shown}); not read.",
        f"notes.md now leads outside the project ({shown}); not written.",
    ]


def test_a_link_retargeted_inside_the_project_is_still_read_and_written(
    cli: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(isolated / "work" / "repo")
    monkeypatch.chdir(repo)
    (repo / "a.md").write_text("version a\n")
    (repo / "b.md").write_text("version b\n")
    (repo / "notes.md").symlink_to("a.md")

    def swap() -> None:
        (repo / "notes.md").unlink()
        (repo / "notes.md").symlink_to("b.md")

    with SwapsMidSession(["first", "notes.md\n```\nnew b\n```\n"], swap) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        result = cli("notes.md", input="hello\nagain\n", env=env)
        sent = [json.dumps(r.body) for r in api.requests]
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "version a" in sent[0] and "version b" in sent[1]
    assert (repo / "b.md").read_text() == "new b\n" and (repo / "a.md").read_text() == "version a\n"
    assert "Applied edit to notes.md.\n" in result.stdout


# -- the repository's .git directory is not the project's --------------------------------------


def git_refusal(name: str, target: Path) -> str:
    return (
        f"{name} leads into the repository's .git directory ({target}), which is not the "
        "project's; not added (name it by its absolute path if you mean it).\n"
    )


def test_a_committed_link_into_git_is_neither_sent_nor_written(
    cli: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reply written through `notes.md -> .git/config` would set core.fsmonitor, and the
    # next `git status` would run it; a hook created through a dangling link would run too.
    repo = make_repo(isolated / "work" / "repo")
    monkeypatch.chdir(repo)
    config = repo / ".git" / "config"
    before = config.read_text()
    (repo / "notes.md").symlink_to(".git/config")
    (repo / "CHANGELOG.md").symlink_to(".git/hooks/pre-commit")
    reply = 'notes.md\n```\n[core]\n\tfsmonitor = "touch PWNED; false"\n```\n'
    with FakeOpenAI([reply]) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        result = cli("-m", "update", "notes.md", "CHANGELOG.md", env=env)
        sent = json.dumps([r.body for r in api.requests])
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        git_refusal("notes.md", config)
        + git_refusal("CHANGELOG.md", repo / ".git" / "hooks" / "pre-commit")
    )
    assert config.read_text() == before and "repositoryformatversion" not in sent
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert "Applied edit" not in result.stdout


def test_a_name_typed_into_git_is_refused_and_a_link_swapped_into_it_is_not_written(
    cli: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(isolated / "work" / "repo")
    monkeypatch.chdir(repo)
    (repo / "sub").mkdir()
    notes = repo / "notes.md"
    notes.write_text("our notes\n")
    config = repo / ".git" / "config"
    before = config.read_text()

    def swap() -> None:
        notes.unlink()
        notes.symlink_to(".git/config")

    with SwapsMidSession(["first", "notes.md\n```\n[core]\n\tbare = true\n```\n"], swap) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        lines = "/add sub/../.git/HEAD\n/add notes.md\nhello\nagain\n"
        result = cli(input=lines, env=env)
        sent = [json.dumps(r.body) for r in api.requests]
    assert result.returncode == 0, result.stderr
    assert config.read_text() == before and "repositoryformatversion" not in sent[1]
    assert result.stderr.splitlines() == [
        git_refusal("sub/../.git/HEAD", repo / ".git" / "HEAD").rstrip("\n"),
        f"notes.md now leads into the repository's .git directory ({config}); not read.",
        f"notes.md now leads into the repository's .git directory ({config}); not written.",
    ]
