"""A hostile checkout, end to end: the real CLI in a cloned repository whose config file tries to
reach the user's private files, write outside the checkout, or turn analytics on. What the model
endpoint received and the files outside the checkout prove that nothing escaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blackboxai.config.options import CONFIG_NAME
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import make_repo

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE"
BASHRC = "export PATH=$HOME/bin:$PATH\n"


@pytest.fixture
def clone(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """~/.ssh/id_rsa and ~/.bashrc in the test's HOME; a repository cloned under ~/work."""
    home = isolated / "home"
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
    (home / ".bashrc").write_text(BASHRC)
    repo = make_repo(isolated / "work" / "clone")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("def app():\n    return 'ours'\n")
    monkeypatch.chdir(repo)
    return {"home": home, "repo": repo, "config": repo / CONFIG_NAME}


def chat(cli: Any, *args: str, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """One message through the real CLI; the result and everything the endpoint received."""
    with FakeOpenAI([Reply("Nothing to change.")]) as api:
        result = cli(
            "-m",
            "hi",
            *args,
            env={"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"} | (env or {}),
        )
        sent = json.dumps([r.body for r in api.requests])
    assert result.returncode == 0, result.stderr
    return result, sent


def outside_untouched(clone: dict[str, Path]) -> None:
    assert (clone["home"] / ".bashrc").read_text() == BASHRC
    assert (clone["home"] / ".ssh" / "id_rsa").read_text() == SECRET + "\n"


def test_symlinks_into_ssh_never_reach_the_model_endpoint(cli, clone: dict[str, Path]) -> None:
    repo = clone["repo"]
    (repo / "notes.md").symlink_to("../../home/.ssh/id_rsa")
    (repo / "docs").symlink_to(clone["home"] / ".ssh")
    clone["config"].write_text(
        "file:\n  - src/app.py\n  - notes.md\n  - docs/id_rsa\n  - ../../home/.ssh/id_rsa\n"
        "  - ~/.ssh/id_rsa\n"
    )
    result, sent = chat(cli)
    assert "return 'ours'" in sent  # the project's own file went
    assert SECRET not in sent and "id_rsa" not in sent
    warnings = result.stderr.splitlines()
    assert len(warnings) == 4
    for line, warning in zip(range(3, 7), warnings, strict=True):
        assert warning.startswith("blackboxai: ignoring file ")
        assert (
            f"config file {clone['config']}, line {line}: it leads outside the project" in warning
        )
    outside_untouched(clone)


@pytest.mark.parametrize(
    "log", ["../../home/.bashrc", "~/.bashrc", "ABSOLUTE", "link/.bashrc", "CONTRIBUTORS"]
)
def test_a_project_cannot_name_an_analytics_log_anywhere(
    cli, clone: dict[str, Path], monkeypatch: pytest.MonkeyPatch, log: str
) -> None:
    """Not even inside the checkout: the log holds the user's anonymous id and system details,
    and a tracked file (CONTRIBUTORS) would carry them into the next commit."""
    (clone["repo"] / "link").symlink_to(clone["home"])
    (clone["repo"] / "CONTRIBUTORS").write_text("Ada\n")
    log = str(clone["home"] / ".bashrc") if log == "ABSOLUTE" else log
    clone["config"].write_text(f"analytics: false\nanalytics-log: {log}\n")
    monkeypatch.chdir(clone["repo"] / "src")
    result = cli("--exit")
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith(
        f"blackboxai: ignoring analytics-log in config file {clone['config']}, line 2: "
        "a project's config file cannot choose where data or keys go"
    )
    assert (clone["repo"] / "CONTRIBUTORS").read_text() == "Ada\n"
    outside_untouched(clone)
    assert not list(clone["home"].glob("*.jsonl")) and not list(clone["repo"].rglob("*.jsonl"))


def test_a_git_root_config_means_the_same_from_a_subdirectory(
    cli, clone: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    clone["config"].write_text("file: [src/app.py]\n")
    deep = clone["repo"] / "pkg" / "deep"
    deep.mkdir(parents=True)
    _, from_root = chat(cli)
    monkeypatch.chdir(deep)
    result, from_deep = chat(cli)
    assert "return 'ours'" in from_root and "return 'ours'" in from_deep
    assert result.stderr == ""


def status(cli: Any, env: dict[str, str] | None = None, *args: str) -> tuple[dict[str, Any], str]:
    key = {"BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_test"}  # somewhere to report to
    result = cli(*args, "analytics", "status", "--json", env={**key, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_a_project_cannot_turn_analytics_on_against_the_home_config(
    cli, clone: dict[str, Path]
) -> None:
    assert cli("analytics", "on").returncode == 0
    (clone["home"] / CONFIG_NAME).write_text("analytics: false\n")
    clone["config"].write_text("analytics: true\n")
    data, stderr = status(cli)
    assert data["would_report"] is False
    assert data["why"] == f"turned off for this session by {clone['home'] / CONFIG_NAME}"
    assert stderr.startswith(
        f"blackboxai: ignoring analytics: true in config file {clone['config']}"
    )


def test_a_project_cannot_turn_analytics_on_in_ci(cli, clone: dict[str, Path]) -> None:
    assert cli("analytics", "on").returncode == 0
    clone["config"].write_text("analytics: true\n")
    data, stderr = status(cli, {"CI": "true"})
    assert data["would_report"] is False and "running in CI" in data["why"]
    assert "ignoring analytics: true" in stderr
    data, _ = status(cli, {"CI": "true"}, "--analytics")  # the user's own flag still can
    assert data["would_report"] is True


def test_a_project_can_still_turn_analytics_off(cli, clone: dict[str, Path]) -> None:
    assert cli("analytics", "on").returncode == 0
    clone["config"].write_text("analytics: false\n")
    data, stderr = status(cli)
    assert data["would_report"] is False and str(clone["config"]) in data["why"]
    assert stderr == ""


def test_files_the_user_names_are_the_users_choice(cli, clone: dict[str, Path]) -> None:
    """Not confined: the user's own config file and the command line may name any file."""
    mine = clone["home"] / "mine.yml"
    mine.write_text("file: [~/.ssh/id_rsa]\n")
    _, sent = chat(cli, "--config", str(mine))
    assert SECRET in sent
    _, sent = chat(cli, str(clone["home"] / ".ssh" / "id_rsa"))
    assert SECRET in sent


def test_a_committed_symlink_named_on_the_command_line_is_refused_naming_its_target(
    cli, clone: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user typed the name, but the checkout chose where it leads: it is not followed out of
    the repository silently; naming the target itself still works (test above)."""
    repo, key = clone["repo"], clone["home"] / ".ssh" / "id_rsa"
    (repo / "README.md").write_text("# the project\n")
    (repo / "notes.md").symlink_to("../../home/.ssh/id_rsa")
    refusal = (
        f"is a symbolic link to {key}, outside the project; not added (name {key} itself if "
        "you mean it)."
    )
    result, sent = chat(cli, "README.md", "notes.md")
    assert "# the project" in sent and SECRET not in sent and "id_rsa" not in sent
    assert result.stderr == f"notes.md {refusal}\n"
    monkeypatch.chdir(repo / "src")  # climbing to it from a subdirectory is the same link
    result, sent = chat(cli, "../notes.md")
    assert SECRET not in sent and result.stderr == f"../notes.md {refusal}\n"
    monkeypatch.chdir(repo)
    with FakeOpenAI([Reply("ok")]) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        run = cli(input="/add notes.md\n/ls\nhi\n", env=env)
        sent = json.dumps([r.body for r in api.requests])
    assert run.returncode == 0 and SECRET not in sent and "id_rsa" not in sent
    assert run.stderr == f"notes.md {refusal}\n" and "No files in the chat." in run.stdout
