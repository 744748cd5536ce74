"""What the machine's policy locks wins over every source, and whoever tried is told in one line.

Through the real CLI, with the consent rules and the destinations: tests/cli/test_policy.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blackboxai.config.options import CONFIG_NAME, DEFAULTS
from blackboxai.config.settings import Settings, load_settings
from blackboxai.policy import HOSTED_OPTIONS, NO_POLICY, Policy, read_policy

ON = {
    "home": ("file", "analytics: true\n"),
    "--config": ("file", "analytics: true\n"),
    "env": ("env", {"BLACKBOXAI_ANALYTICS": "yes"}),
    "cli": ("cli", {"analytics": True}),
}


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A home, a git work tree as the working directory, and the policy's directory."""
    home, root = tmp_path / "h", tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    home.mkdir()
    return {"home": home, "root": root, "tmp": tmp_path}


def policy(tree: dict[str, Path], text: str) -> Policy:
    path = tree["tmp"] / "etc" / "policy.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return read_policy(path)


def load(
    tree: dict[str, Path],
    machine: Policy,
    *,
    cli: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Settings:
    """Settings with YAML in the named places (home, git-root, --config)."""
    places = {
        "home": tree["home"] / CONFIG_NAME,
        "git-root": tree["root"] / CONFIG_NAME,
        "--config": tree["tmp"] / "flag.yml",
    }
    for where, text in (files or {}).items():
        places[where].write_text(text)
    config = places["--config"] if "--config" in (files or {}) else None
    return load_settings(
        cli or {}, env=env or {}, home=tree["home"], cwd=tree["root"], config=config, policy=machine
    )


@pytest.mark.parametrize("layer", list(ON))
def test_analytics_false_wins_over_every_source_that_says_true(
    tree: dict[str, Path], layer: str
) -> None:
    machine = policy(tree, "analytics: false\n")
    kind, given = ON[layer]
    files = {layer: str(given)} if kind == "file" else None
    s = load(
        tree,
        machine,
        files=files,
        env=given if kind == "env" else None,  # type: ignore[arg-type]
        cli=given if kind == "cli" else None,  # type: ignore[arg-type]
    )
    assert s.analytics is False
    assert s.source("analytics") == machine.path
    assert s.locked("analytics") == f"analytics are turned off by {machine.path}"
    [line] = s.warnings  # one line, naming what tried and the policy
    who = {"cli": "--analytics", "env": "BLACKBOXAI_ANALYTICS"}.get(layer, "analytics: true in")
    assert line.startswith(f"blackboxai: {who}")
    assert line.endswith(f"has no effect: analytics are turned off by {machine.path}")


def test_a_project_file_cannot_undo_it_either(tree: dict[str, Path]) -> None:
    """A project may only say false (the project-file rule); what it says is locked all the same."""
    machine = policy(tree, "analytics: false\n")
    s = load(tree, machine, files={"git-root": "analytics: true\n"})
    assert s.analytics is False and s.source("analytics") == machine.path
    assert not any("has no effect" in w for w in s.warnings)  # the project rule said it already


def test_the_same_value_is_no_attempt(tree: dict[str, Path]) -> None:
    machine = policy(tree, "analytics: false\n")
    s = load(tree, machine, cli={"analytics": False}, files={"home": "analytics: false\n"})
    assert s.analytics is False and s.warnings == ()


def test_the_hosted_options_go_back_to_their_defaults_with_one_line(tree: dict[str, Path]) -> None:
    machine = policy(tree, "analytics-hosted: false\n")
    s = load(
        tree,
        machine,
        files={"home": "analytics-posthog-project-api-key: phc_mine\n"},
        env={"BLACKBOXAI_ANALYTICS_MIXPANEL_TOKEN": "mp_mine"},
        cli={"analytics-posthog-host": "http://127.0.0.1:9"},
    )
    for option in HOSTED_OPTIONS:
        assert getattr(s, option.replace("-", "_")) == DEFAULTS[option]
        assert s.source(option) == machine.path
    [line] = s.warnings
    assert line == (
        "blackboxai: --analytics-posthog-host, analytics-posthog-project-api-key in "
        f"{tree['home'] / CONFIG_NAME} and BLACKBOXAI_ANALYTICS_MIXPANEL_TOKEN have no effect: "
        f"PostHog and Mixpanel are turned off by {machine.path}"
    )


def test_an_unreadable_policy_says_so_first_and_locks_analytics_off(
    tree: dict[str, Path],
) -> None:
    machine = policy(tree, "analytics: maybe\n")
    s = load(tree, machine, cli={"analytics": True})
    assert s.analytics is False
    first, second = s.warnings
    assert first.startswith(f"blackboxai: policy file {machine.path}, line 1: analytics must be")
    assert first.endswith("; analytics are off in this run (it may have said so)")
    assert second == (
        f"blackboxai: --analytics has no effect: analytics are turned off by {machine.path}, "
        "which cannot be read"
    )


def test_without_a_policy_nothing_is_locked(tree: dict[str, Path]) -> None:
    s = load(tree, NO_POLICY, cli={"analytics": True})
    assert s.analytics is True and s.source("analytics") == "--analytics"
    assert s.locked("analytics") is None and s.warnings == ()


def test_a_policy_log_locks_nothing(tree: dict[str, Path]) -> None:
    """`analytics-log` in a policy is the organisation's own record, beside the user's."""
    machine = policy(tree, "analytics-log: /var/log/b.jsonl\n")
    s = load(tree, machine, cli={"analytics-log": str(tree["tmp"] / "mine.jsonl")})
    assert s.analytics_log == str(tree["tmp"] / "mine.jsonl") and s.warnings == ()
