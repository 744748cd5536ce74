"""The machine's policy file: where it is looked for, how it is read, and what it decides.

What it does to a session, a command and the library is tested where those live
(tests/cli/test_policy.py, tests/config/test_locks.py, tests/analytics/test_policy_library.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs
import pytest

from blackboxai.config.options import OPTIONS, Kind
from blackboxai.policy import (
    HOSTED_OPTIONS,
    KEYS,
    NO_POLICY,
    Policy,
    find_policy,
    policy_dirs,
    read_policy,
    resolve_policy,
    system_policy,
)
from tests.support import imported_by_a_session

linux = pytest.mark.skipif(sys.platform != "linux", reason="the XDG rule is computed on Linux")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- where ----------------------------------------------------------------------------------------


@linux
@pytest.mark.parametrize(
    "xdg",
    [None, "", "/etc/xdg", "/opt/corp/xdg:/etc/xdg", "/a/:/b//c", "/srv/conf:/etc/xdg:/usr/x"],
)
def test_the_dirs_are_the_ones_platformdirs_names(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_DIRS", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_DIRS", xdg)
    theirs = platformdirs.site_config_dir("blackboxai", appauthor=False, multipath=True)
    assert policy_dirs() == theirs.split(os.pathsep)


@linux
def test_relative_entries_are_ignored_as_the_xdg_spec_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative entry would be read from whatever directory blackboxai runs in: a checkout."""
    monkeypatch.setenv("XDG_CONFIG_DIRS", "etc/xdg:~/conf:/opt/corp")
    assert policy_dirs() == ["/opt/corp/blackboxai"]
    monkeypatch.setenv("XDG_CONFIG_DIRS", "relative:also/relative")
    assert policy_dirs() == ["/etc/xdg/blackboxai"]


def test_the_first_dir_that_has_a_policy_wins(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = isolated / "first", isolated / "second"
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{first}{os.pathsep}{second}")
    if policy_dirs()[:2] != [str(first / "blackboxai"), str(second / "blackboxai")]:
        pytest.skip("XDG_CONFIG_DIRS does not name the site config dirs here")
    assert find_policy() is None and system_policy() == NO_POLICY
    write(second / "blackboxai" / "policy.yml", "analytics: false\n")
    assert system_policy().off == f"turned off by {second / 'blackboxai' / 'policy.yml'}"
    write(first / "blackboxai" / "policy.yml", "analytics-hosted: false\n")
    found = system_policy()
    assert found.path == str(first / "blackboxai" / "policy.yml")
    assert found.off is None and not found.hosted  # the second file no longer counts at all


@linux
def test_a_session_without_a_policy_imports_neither_yaml_nor_platformdirs(
    tmp_path: Path,
) -> None:
    """What a machine without a policy pays at start-up: a stat() per site config dir."""
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_DIRS": str(tmp_path / "site"),
    }
    found, stderr = imported_by_a_session(env, "yaml", "platformdirs")
    assert found == ["False", "False", "0"], stderr


# -- what it says ---------------------------------------------------------------------------------


def test_each_key_is_read(isolated: Path) -> None:
    path = write(
        isolated / "p" / "policy.yml",
        "analytics-hosted: false\nanalytics-log: /var/log/b.jsonl\nanalytics-otlp-required: true\n"
        "analytics-otlp-endpoint: https://otel.example:4318\nanalytics-otlp-protocol: http/json\n"
        "analytics-otlp-headers: authorization=Bearer%20t\n",
    )
    policy = read_policy(path)
    assert policy.problem is None and policy.path == str(path)
    assert (policy.off, policy.hosted, policy.log, policy.otlp_required) == (
        None,
        False,
        "/var/log/b.jsonl",
        True,
    )
    assert policy.collector == (
        "https://otel.example:4318",
        "http/json",
        "authorization=Bearer%20t",
    )
    off = read_policy(write(isolated / "q" / "policy.yml", "analytics: false\n"))
    assert off.off == f"turned off by {isolated / 'q' / 'policy.yml'}"
    assert off.hosted and off.log is None and not off.otlp_required


def test_a_log_path_starts_at_the_policy_or_at_the_users_home(isolated: Path) -> None:
    path = write(isolated / "etc" / "policy.yml", "analytics-log: audit.jsonl\n")
    assert read_policy(path).log == str(isolated / "etc" / "audit.jsonl")
    path.write_text("analytics-log: ~/audit.jsonl\n")
    assert read_policy(path).log == str(Path.home() / "audit.jsonl")


def test_an_empty_file_decides_nothing(isolated: Path) -> None:
    policy = read_policy(write(isolated / "policy.yml", "# nothing yet\n"))
    assert policy.exists and policy.problem is None and not policy.locked
    assert policy.off is None and policy.hosted and policy.log is None


def test_no_file_is_no_policy(isolated: Path) -> None:
    assert read_policy(isolated / "absent.yml") == NO_POLICY
    assert not NO_POLICY.exists and NO_POLICY.off is None and NO_POLICY.hosted


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("analytics: [false\n", "but got '<stream end>'"),  # not YAML
        ("analytcs: false\n", "unknown key 'analytcs' (a policy can set analytics,"),
        ("analytics-disable: true\n", "unknown key 'analytics-disable'"),  # the user's own
        ("analytics: maybe\n", "analytics must be true or false, not 'maybe'"),
        ("analytics: true\n", "analytics can only be false in a policy"),
        ("analytics-hosted: 0\n", "analytics-hosted must be true or false, not 0"),
        ("analytics-log: 3\n", "analytics-log must be a string, not 3"),
        ('analytics-log: ""\n', "analytics-log must not be empty"),
        ('analytics-log: "a\\0b"\n', "not a valid file name"),
        ("- analytics\n", "expected a mapping"),
        (
            "analytics-hosted: false\nanalytics-hosted: true\n",
            "line 2: 'analytics-hosted' is set twice",
        ),
        ("analytics: false\nanalytics-otlp-required: true\n", "contradict each other"),
        ("analytics-otlp-required: true\n", "needs the collector it requires"),
        ("analytics-otlp-endpoint: otel:4318\n", "must be an http:// or https:// address"),
        ("analytics-otlp-protocol: grpc\n", "must be one of http/protobuf, http/json, not 'grpc'"),
    ],
)
def test_a_policy_that_cannot_be_read_turns_analytics_off(
    isolated: Path, text: str, problem: str
) -> None:
    path = write(isolated / "site" / "policy.yml", text)
    policy = read_policy(path)
    assert policy.problem is not None and problem in policy.problem
    assert policy.problem.startswith(f"policy file {path}")  # one line naming the file
    assert "\n" not in policy.problem
    assert policy.off == f"turned off by {path}, which cannot be read"
    assert policy.locked == {"analytics": (False, f"analytics are {policy.off}")}
    assert not policy.hosted and policy.log is None and not policy.otlp_required


def test_a_directory_or_an_unreadable_file_is_a_problem_not_an_absence(isolated: Path) -> None:
    directory = isolated / "policy.yml"
    directory.mkdir()
    assert read_policy(directory).off is not None
    if os.name == "posix" and os.geteuid() != 0:
        locked = write(isolated / "locked" / "policy.yml", "analytics-hosted: false\n")
        locked.chmod(0)
        assert "permission denied" in (read_policy(locked).problem or "").lower()


def test_nothing_a_program_passes_raises(isolated: Path) -> None:
    assert resolve_policy(Policy()) == NO_POLICY
    assert resolve_policy(3).off is not None  # type: ignore[arg-type]  # not a path: in doubt, off
    assert resolve_policy(isolated / "absent.yml") == NO_POLICY


# -- what it locks --------------------------------------------------------------------------------


def test_every_key_that_locks_an_option_names_one_of_the_same_kind() -> None:
    """A key the policy locks by name must be an option, or it would lock nothing."""
    kinds = {"bool": Kind.BOOL, "str": Kind.STR, "path": Kind.PATH, "url": Kind.URL}
    locking = [key for key, rule in KEYS.items() if key == "analytics" or rule.group]
    for key in locking:
        assert key in OPTIONS, key
        if KEYS[key].choices:  # the same values as the option's
            assert (OPTIONS[key].kind, OPTIONS[key].choices) == (Kind.CHOICE, KEYS[key].choices)
        else:
            assert OPTIONS[key].kind is kinds[KEYS[key].kind], key
    assert all(option in OPTIONS for option in HOSTED_OPTIONS)


def test_analytics_hosted_false_locks_every_hosted_option(isolated: Path) -> None:
    policy = read_policy(write(isolated / "policy.yml", "analytics-hosted: false\n"))
    assert set(policy.locked) == set(HOSTED_OPTIONS)
    assert all(value is None for value, _ in policy.locked.values())


def test_a_group_is_locked_whole_and_a_secret_is_never_shown(isolated: Path) -> None:
    """The collector's keys: set one, and the user's own values for the rest of its group are
    dropped too (their headers must never reach the organisation's endpoint)."""
    path = write(isolated / "policy.yml", "analytics-otlp-endpoint: https://otel.corp:4318\n")
    why = f"the OpenTelemetry collector is set by {path}"
    assert read_policy(path).locked == {
        "analytics-otlp-endpoint": ("https://otel.corp:4318", why),
        "analytics-otlp-protocol": (None, why),
        "analytics-otlp-headers": (None, why),
    }
    path.write_text("analytics-otlp-headers: 'authorization=Bearer s3cret'\n")
    assert read_policy(path).shown_value("analytics-otlp-headers") == "<set>"


@pytest.mark.parametrize(
    ("url", "seen"),
    [
        ("https://org:s3cret@otel.corp:4318/", "https://<set>@otel.corp:4318/"),
        ("https://t0ken@[::1]:4318", "https://<set>@[::1]:4318"),
        ("http://o:p@q@otel.corp/v1/logs?x=@y#@z", "http://<set>@otel.corp/v1/logs?x=@y#@z"),
        ("https://otel.corp/team@example", "https://otel.corp/team@example"),
        ("HTTPS://otel.corp:4318", "HTTPS://otel.corp:4318"),
    ],
)
def test_the_credentials_in_the_collector_s_url_are_never_shown(
    isolated: Path, url: str, seen: str
) -> None:
    policy = read_policy(write(isolated / "policy.yml", f"analytics-otlp-endpoint: '{url}'\n"))
    assert policy.collector[0] == url  # what the request is sent to, credentials and all
    assert policy.public("analytics-otlp-endpoint") == seen
    assert policy.shown_value("analytics-otlp-endpoint") == seen
