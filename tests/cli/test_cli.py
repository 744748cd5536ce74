"""The `blackboxai` command line: options, precedence of settings, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from blackboxai import __version__
from blackboxai.analytics import Analytics
from blackboxai.analytics.destinations import Destination
from blackboxai.commands import app
from blackboxai.config.settings import CONFIG_NAME, OPTIONS
from tests.fake_openai import FakeOpenAI
from tests.loopback import Backend, refused_url
from tests.support import cli_runner, spooled

SYSTEM_KEYS = {"python_version", "os_platform", "os_release", "machine", "blackboxai_version"}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """The app in-process; the environment is passed explicitly, the cwd is the test's."""
    return cli_runner().invoke(app, list(args), env={**os.environ, **(env or {})})


def status(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`analytics status --json`, with a PostHog key set: no destination means no reporting."""
    key = {"BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_test"}
    result = invoke(*args, "analytics", "status", "--json", env={**key, **(env or {})})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def opt_in() -> None:
    result = invoke("analytics", "on")
    assert result.exit_code == 0, result.stderr


def read_log(path: Path | str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


OPTED_OUT = "Analytics are now permanently disabled; nothing will be sent."
ALREADY = "Analytics are permanently disabled; nothing will be sent."


def opted_out(data_dir: Path) -> bool:
    path = data_dir / "analytics.json"
    return path.is_file() and json.loads(path.read_text())["permanently_disable"] is True


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], *fragments: str, code: int = 2, after: str = ""
) -> None:
    """Exit `code`, and on stderr (after the notice `after`, if given) one line naming it all."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    if after:
        assert lines[:1] == [after], result.stderr
        lines = lines[1:]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("blackboxai: ")
    for fragment in fragments:
        assert fragment in lines[0]


# -- options exist and work -----------------------------------------------------------------------


def test_help_lists_every_option_and_the_analytics_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    flags = [f"--{name}" for name in OPTIONS] + [
        "--no-analytics",
        "--config",
        "--exit",
        "--version",
        "--help",
        "--message",
    ]
    for flag in flags:
        assert flag in result.stdout, flag
    assert "analytics" in result.stdout.split("Commands:")[1]


def test_version_prints_name_and_version(cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"blackboxai {__version__}\n"


def test_console_script_and_python_m_print_the_same_version(cli) -> None:
    script = Path(sys.executable).parent / "blackboxai"
    if not script.exists():
        pytest.skip("the blackboxai console script is not installed next to this interpreter")
    via_script = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60
    )
    assert via_script.returncode == 0
    assert via_script.stdout == cli("--version").stdout


def test_analytics_disable_stores_the_opt_out_once_and_the_session_carries_on(
    cli, data_dir: Path
) -> None:
    first = cli("--analytics-disable", "--exit", "--analytics-log", "log.jsonl")
    assert first.returncode == 0, first.stderr
    assert (first.stdout, first.stderr) == ("", OPTED_OUT + "\n")  # notices never go to stdout
    state = json.loads((data_dir / "analytics.json").read_text())
    assert state["permanently_disable"] is True
    assert state["asked_opt_in"] is True
    assert [e["event"] for e in read_log("log.jsonl")] == ["launched", "exit"]

    second = cli("--analytics-disable", "--exit", "--analytics-log", "log.jsonl")
    assert second.returncode == 0, second.stderr
    assert (second.stdout, second.stderr) == ("", "")
    assert [e["event"] for e in read_log("log.jsonl")] == ["launched", "exit"] * 2
    assert json.loads((data_dir / "analytics.json").read_text()) == state


@pytest.mark.parametrize(
    "flags", [[], ["--no-analytics"], ["--analytics"], ["--analytics-disable"]]
)
def test_analytics_log_records_the_session_whatever_the_consent(flags: list[str]) -> None:
    result = invoke(*flags, "--exit", "--analytics-log", "events.jsonl")
    assert result.exit_code == 0, result.stderr
    events = read_log("events.jsonl")
    assert [e["event"] for e in events] == ["launched", "exit"]
    for event in events:
        assert set(event) == {"event", "properties", "user_id", "time", "id"}
        assert type(event["time"]) is float and round(event["time"], 3) == event["time"]
        assert uuid.UUID(event["id"]).version == 4
        assert event["user_id"] is None  # no id exists before the user opts in
        assert set(event["properties"]) >= SYSTEM_KEYS
        assert event["properties"]["blackboxai_version"] == __version__
    assert events[0]["user_id"] == events[1]["user_id"]
    assert events[1]["properties"]["reason"] == "exit_flag"
    assert events[0]["id"] != events[1]["id"]


def test_analytics_log_appends_across_sessions() -> None:
    for _ in range(2):
        assert invoke("--exit", "--analytics-log", "events.jsonl").exit_code == 0
    assert [e["event"] for e in read_log("events.jsonl")] == ["launched", "exit"] * 2


def test_the_four_backend_options_are_accepted() -> None:
    data = status(
        "--analytics-posthog-host",
        "http://127.0.0.1:9/ph",
        "--analytics-posthog-project-api-key",
        "phc_test",
        "--analytics-mixpanel-token",
        "mp_token",
        "--analytics-mixpanel-host",
        "http://127.0.0.1:9/mp",
    )
    assert data["backends"] == {
        "posthog": {"host": "http://127.0.0.1:9/ph"},
        "mixpanel": {"host": "http://127.0.0.1:9/mp"},
    }


def test_mixpanel_is_off_without_a_token() -> None:
    data = status("--analytics-mixpanel-host", "http://127.0.0.1:9/mp")
    assert data["backends"]["mixpanel"] is None


def test_backend_options_route_an_opted_in_session_to_both_backends(cli, backend: Backend) -> None:
    opt_in()
    result = cli(
        "--exit",
        "--analytics-posthog-host",
        backend.url,
        "--analytics-posthog-project-api-key",
        "phc_test_key",
        "--analytics-mixpanel-token",
        "mp_test_token",
        "--analytics-mixpanel-host",
        backend.url,
    )
    assert result.returncode == 0, result.stderr
    assert backend.wait_for(posthog=2, mixpanel=2, timeout=30)
    assert [e["event"] for e in backend.posthog] == ["launched", "exit"]
    assert [e["event"] for e in backend.mixpanel] == ["launched", "exit"]
    assert backend.posthog_bodies[0]["api_key"] == "phc_test_key"
    assert backend.mixpanel[0]["properties"]["token"] == "mp_test_token"


@pytest.mark.parametrize(
    ("flags", "would_report", "why"),
    [
        ([], True, "opted in"),
        (["--analytics"], True, "--analytics"),
        (["--no-analytics"], False, "--no-analytics"),
    ],
)
def test_analytics_flag_is_tri_state(flags: list[str], would_report: bool, why: str) -> None:
    opt_in()
    data = status(*flags)
    assert data["would_report"] is would_report
    assert why in data["why"]


@pytest.mark.parametrize(
    ("flags", "reporting"),
    [
        ([], "yes"),
        (["--analytics"], "yes"),
        (["--no-analytics"], "no"),
    ],
)
def test_session_reports_only_as_the_analytics_flag_allows(
    flags: list[str], reporting: str
) -> None:
    """--analytics-debug is a dry run: it says whether the session reports and sends nothing."""
    opt_in()
    result = invoke(
        *flags,
        "--analytics-debug",
        "--exit",
        env={
            "BLACKBOXAI_ANALYTICS_POSTHOG_HOST": refused_url(),
            "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_test",
        },
    )
    assert result.exit_code == 0, result.stderr
    assert f"analytics debug: reporting: {reporting}" in result.stderr
    verdict = "would send" if reporting == "yes" else "not sending"
    assert result.stderr.count(f"analytics debug: {verdict}:") == 2


def test_config_option_reads_the_named_file(isolated: Path) -> None:
    config = isolated / "elsewhere.yml"
    config.write_text(f"analytics-log: {isolated / 'from-config.jsonl'}\n")
    for flag in ("--config", "-c"):
        assert invoke(flag, str(config), "--exit").exit_code == 0
    assert len(read_log(isolated / "from-config.jsonl")) == 4


def test_exit_does_all_start_up_work_then_exits_zero(cli, data_dir: Path) -> None:
    result = cli("--exit", "--analytics-log", "log.jsonl")
    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert read_log("log.jsonl")[-1]["properties"]["reason"] == "exit_flag"
    assert not data_dir.exists()  # nothing is written before the user opts in


def waiting(data_dir: Path, host: str, n: int = 2) -> None:
    """Consent, and n events waiting for PostHog at `host`, as a session's spool holds them."""
    spooled(data_dir, n, event="launched", properties={}, to=[Destination("posthog", host, "phc")])
    assert Analytics().pending_count() == n


def test_analytics_send_honours_analytics_disable(cli, data_dir: Path, backend: Backend) -> None:
    waiting(data_dir, backend.url)
    result = cli(
        "--analytics-posthog-host",
        backend.url,
        "analytics",
        "send",
        env={"BLACKBOXAI_ANALYTICS_DISABLE": "1"},
    )
    assert backend.posthog == []
    assert result.returncode != 0


# -- precedence -----------------------------------------------------------------------------------

LAYERS = ["home", "git-root", "cwd", "--config", "env", "cli"]


@pytest.fixture
def repo(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """cwd in a subdirectory of a git work tree; config file paths for every file layer."""
    root = isolated / "repo"
    sub = root / "src" / "deep"
    (root / ".git").mkdir(parents=True)
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    return {
        "home": isolated / "home" / CONFIG_NAME,
        "git-root": root / CONFIG_NAME,
        "cwd": sub / CONFIG_NAME,
        "--config": isolated / "flag.yml",
        "logs": isolated,
        "root": root,
    }


def set_layers(
    repo: dict[str, Path], values: dict[str, str], key: str
) -> tuple[list[str], dict[str, str]]:
    """Write `key: value` into each file layer named in `values`; return (cli args, env)."""
    args: list[str] = []
    env: dict[str, str] = {}
    for layer, value in values.items():
        if layer == "env":
            env["BLACKBOXAI_" + key.upper().replace("-", "_")] = value
        elif layer == "cli":
            args += (
                [f"--{key}", value]
                if key != "analytics"
                else ["--analytics" if value == "true" else "--no-analytics"]
            )
        else:
            repo[layer].write_text(f"{key}: {value}\n")
            if layer == "--config":
                args += ["--config", str(repo[layer])]
    return args, env


@pytest.mark.parametrize("top", ["defaults", *LAYERS])
def test_analytics_log_comes_from_the_highest_layer(repo: dict[str, Path], top: str) -> None:
    """The project's own files may name no log at all: below them, the user's layer counts."""
    layers = [] if top == "defaults" else LAYERS[: LAYERS.index(top) + 1]
    logs = {layer: repo["logs"] / f"log-{layer.strip('-')}.jsonl" for layer in LAYERS}
    args, env = set_layers(repo, {layer: str(logs[layer]) for layer in layers}, "analytics-log")
    result = invoke(*args, "--exit", env=env)
    assert result.exit_code == 0, result.stderr
    written = {layer for layer, path in logs.items() if path.exists()}
    users = [layer for layer in layers if layer not in ("git-root", "cwd")]
    assert written == set(users[-1:])
    refused = [layer for layer in layers if layer in ("git-root", "cwd")]
    assert result.stderr.count("ignoring analytics-log in config file") == len(refused)


@pytest.mark.parametrize("top", LAYERS)
def test_analytics_false_in_the_highest_layer_wins_and_is_named(
    repo: dict[str, Path], top: str
) -> None:
    opt_in()
    layers = LAYERS[: LAYERS.index(top) + 1]
    values = {layer: "true" for layer in layers} | {top: "false"}
    args, env = set_layers(repo, values, "analytics")
    data = status(*args, env=env)
    assert data["would_report"] is False
    named = {"env": "BLACKBOXAI_ANALYTICS", "cli": "--no-analytics"}.get(top) or str(repo[top])
    assert data["why"] == f"turned off for this session by {named}"


def test_analytics_true_from_env_overrides_false_in_every_file(repo: dict[str, Path]) -> None:
    opt_in()
    args, env = set_layers(
        repo,
        {"home": "false", "git-root": "false", "cwd": "false", "--config": "false", "env": "true"},
        "analytics",
    )
    data = status(*args, env=env)
    assert data["would_report"] is True
    assert "BLACKBOXAI_ANALYTICS" in data["why"]


def test_analytics_flag_overrides_false_from_env(repo: dict[str, Path]) -> None:
    opt_in()
    data = status("--analytics", env={"BLACKBOXAI_ANALYTICS": "false"})
    assert data["would_report"] is True
    assert "--analytics" in data["why"]


def test_env_variable_overrides_config_files_in_a_real_process(cli, repo: dict[str, Path]) -> None:
    repo["cwd"].write_text(f"analytics-log: {repo['logs'] / 'file.jsonl'}\n")
    env_log = repo["logs"] / "env.jsonl"
    result = cli("--exit", env={"BLACKBOXAI_ANALYTICS_LOG": str(env_log)})
    assert result.returncode == 0, result.stderr
    assert env_log.exists() and not (repo["logs"] / "file.jsonl").exists()


# -- bad configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("syntax", "model: m\nanalytics: x: y\n", ["line 2"]),
        ("bad-bool", "model: m\n\nanalytics: maybe\n", ["line 3", "analytics", "maybe"]),
        ("list", "- analytics\n- model\n", ["mapping"]),
        ("scalar", "analytics\n", ["mapping"]),
    ],
)
@pytest.mark.parametrize("where", ["home", "--config"])
def test_a_bad_config_file_is_one_line_and_exit_2(
    cli, name: str, text: str, fragments: list[str], where: str
) -> None:
    """The user's own files: a project's is in test_a_bad_value_in_a_project_file_..."""
    path = Path.home() / CONFIG_NAME if where == "home" else Path.cwd() / f"{name}.yml"
    path.write_text(text)
    args = ["--config", str(path)] if where == "--config" else []
    result = cli(*args, "--exit")
    assert_one_line_error(result, str(path), *fragments)
    assert result.stdout == ""


def test_a_bad_home_config_names_the_home_file(cli, isolated: Path) -> None:
    path = isolated / "home" / CONFIG_NAME
    path.write_text("edit-format: sideways\n")
    assert_one_line_error(cli("--exit"), str(path), "line 1", "edit-format")


def test_a_missing_config_file_is_exit_2(cli) -> None:
    assert_one_line_error(cli("--config", "missing.yml", "--exit"), "missing.yml")


def test_a_bad_variable_is_exit_2_naming_it(cli) -> None:
    result = cli("--exit", env={"BLACKBOXAI_ANALYTICS": "maybe"})
    assert_one_line_error(result, "BLACKBOXAI_ANALYTICS", "maybe")


def test_a_bad_config_stops_subcommands_too(cli) -> None:
    (Path.home() / CONFIG_NAME).write_text("analytics: maybe\n")
    assert_one_line_error(cli("analytics", "status"), CONFIG_NAME, "analytics")


PROJECT_COMMANDS = [
    ["analytics", "status"],
    ["analytics", "events"],
    ["analytics", "pending", "--clear"],
    ["analytics", "reset-id"],
    ["analytics", "on"],
    ["--no-analytics", "--exit"],
]


@pytest.mark.parametrize("args", PROJECT_COMMANDS, ids=" ".join)
def test_a_bad_value_in_a_project_file_is_a_warning_and_the_command_runs(
    cli, args: list[str]
) -> None:
    """One mistake in a cloned repository's file must not block every command: the entry is
    ignored with one line naming the file and line, and the rest of the file still counts."""
    path = Path.cwd() / CONFIG_NAME
    path.write_text("edit-format: diff\nmodel: 1\nanalytics: maybe\n")
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:2] == [
        f"blackboxai: ignoring model in config file {path}, line 2: it must be a string, not 1",
        f"blackboxai: ignoring analytics in config file {path}, line 3: it must be true or "
        "false, not 'maybe'; not reporting analytics in this run (it may have said so)",
    ]


def test_a_project_files_other_entries_still_apply_beside_a_bad_one(cli) -> None:
    Path(CONFIG_NAME).write_text("model: [a, b]\nanalytics: false\n")
    result = cli("analytics", "status", "--json")
    assert result.returncode == 0, result.stderr
    assert "turned off for this session by" in json.loads(result.stdout)["why"]
    assert result.stderr.count("\n") == 1 and "it must be a string, not a list" in result.stderr


def test_an_unknown_key_is_a_one_line_warning_and_the_session_runs(cli) -> None:
    Path(CONFIG_NAME).write_text("model: m\nanalytics-lgo: x.jsonl\n")
    result = cli("--exit")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "'analytics-lgo'" in lines[0] and CONFIG_NAME in lines[0] and "line 2" in lines[0]


def test_deeply_nested_config_of_the_users_own_is_exit_2(cli) -> None:
    (Path.home() / CONFIG_NAME).write_text("model: " + "[" * 1000 + "]" * 1000 + "\n")
    assert_one_line_error(cli("--exit"), CONFIG_NAME)


# -- bad --analytics-log --------------------------------------------------------------------------


def test_analytics_log_in_a_missing_directory_is_exit_2(cli) -> None:
    assert_one_line_error(
        cli("--exit", "--analytics-log", "nodir/log.jsonl"), "nodir/log.jsonl", "does not exist"
    )


def test_analytics_log_that_is_a_directory_is_exit_2(cli) -> None:
    Path("adir").mkdir()
    assert_one_line_error(cli("--exit", "--analytics-log", "adir"), "adir", "directory")


def test_analytics_log_without_permission_is_exit_2(cli) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions, so a 0500 directory is still writable")
    locked = Path("locked")
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("--exit", "--analytics-log", "locked/log.jsonl")
    finally:
        locked.chmod(0o700)
    assert_one_line_error(result, "locked/log.jsonl", "permission denied")


def test_analytics_log_permission_denied_is_exit_2_even_as_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same path simulated in-process, so it is checked where the test above must skip."""
    from blackboxai.analytics.record import auditlog

    real_open = os.open

    def deny(path: str, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("denied.jsonl"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(auditlog.os, "open", deny)
    result = invoke("--exit", "--analytics-log", "locked/denied.jsonl")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "locked/denied.jsonl" in lines[0] and "permission denied" in lines[0]


def test_a_bad_analytics_log_from_the_environment_is_exit_2(cli) -> None:
    result = cli("--exit", env={"BLACKBOXAI_ANALYTICS_LOG": "nodir/env.jsonl"})
    assert_one_line_error(result, "nodir/env.jsonl")


def test_an_analytics_log_that_fails_mid_session_is_one_line_and_exit_0(cli) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    result = cli("--exit", "--analytics-log", "/dev/full")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "/dev/full" in lines[0]


# -- files as positionals -------------------------------------------------------------------------


def test_options_after_files_are_parsed(cli) -> None:
    result = cli("some.py", "--exit", "--analytics-log", "log.jsonl")
    assert result.returncode == 0, result.stderr
    assert [e["event"] for e in read_log("log.jsonl")] == ["launched", "exit"]


def test_files_after_options_are_accepted(cli) -> None:
    result = cli("--exit", "some.py", "other.py")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_files_between_options_are_accepted() -> None:
    result = invoke("--analytics-log", "log.jsonl", "a.py", "--exit", "b.py")
    assert result.exit_code == 0, result.stderr
    assert len(read_log("log.jsonl")) == 2


def test_a_subcommand_is_still_reached(cli) -> None:
    result = cli("analytics", "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Reporting:")


def test_root_options_before_a_subcommand_apply_to_it() -> None:
    data = status(
        "--analytics-posthog-host",
        "http://127.0.0.1:9",
        "--analytics-posthog-project-api-key",
        "phc_test",
    )
    assert data["backends"]["posthog"]["host"] == "http://127.0.0.1:9"


# -- a project's config file is not trusted with destinations or keys -----------------------------


def test_a_hostile_checkout_cannot_send_the_users_key_and_prompt_elsewhere(
    cli, repo: dict[str, Path]
) -> None:
    with FakeOpenAI(["Sure."]) as mine, FakeOpenAI(["Gotcha."]) as theirs:
        repo["home"].write_text(f"openai-api-base: {mine.url}\n")
        repo["cwd"].write_text(f"openai-api-base: {theirs.url}\nmodel: gpt-4o\n")
        repo["git-root"].write_text("openai-api-key: sk-theirs\n")
        result = cli("-m", "hi", env={"OPENAI_API_KEY": "sk-user-secret"})
    assert theirs.requests == []
    assert len(mine.requests) == 1, result.stderr
    assert mine.requests[0].headers["Authorization"] == "Bearer sk-user-secret"
    assert mine.requests[0].body["model"] == "gpt-4o"  # the project's other options still apply
    assert result.returncode == 0, result.stderr
    ignored = [line for line in result.stderr.splitlines() if "ignoring openai-api-" in line]
    assert len(ignored) == 2
    assert any(str(repo["cwd"]) in line for line in ignored)
    assert any(str(repo["git-root"]) in line for line in ignored)


BACKEND_KEYS = (
    "analytics-posthog-host",
    "analytics-posthog-project-api-key",
    "analytics-mixpanel-token",
    "analytics-mixpanel-host",
)


def test_a_hostile_checkout_cannot_redirect_analytics(repo: dict[str, Path]) -> None:
    opt_in()
    repo["cwd"].write_text(
        "analytics-posthog-host: http://127.0.0.1:9/theirs\n"
        "analytics-posthog-project-api-key: phc_theirs\n"
        "analytics-mixpanel-token: mp_theirs\n"
        "analytics-mixpanel-host: http://127.0.0.1:9/theirs-mp\n"
    )
    result = invoke("analytics", "status", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert "theirs" not in json.dumps(data["backends"])
    assert data["backends"]["mixpanel"] is None
    warnings = result.stderr.splitlines()
    assert len(warnings) == 4
    for key, line in zip(BACKEND_KEYS, warnings, strict=True):
        assert f"ignoring {key} in config file {repo['cwd']}" in line
        assert "~/.blackboxai.conf.yml" in line and "--config" in line


def test_a_hostile_checkout_cannot_collect_waiting_events(
    cli, data_dir: Path, repo: dict[str, Path], backend: Backend
) -> None:
    waiting(data_dir, refused_url())
    repo["home"].write_text(  # the user's choice
        f"analytics-posthog-host: {refused_url()}\nanalytics-posthog-project-api-key: phc_mine\n"
    )
    repo["git-root"].write_text(f"analytics-posthog-host: {backend.url}\n")
    result = cli("analytics", "send")
    assert backend.posthog == []
    assert "kept 2 for later" in result.stdout
    assert result.returncode == 1  # events had to be kept: the exit status says so
    assert f"ignoring analytics-posthog-host in config file {repo['git-root']}" in result.stderr


def test_the_users_own_files_still_choose_the_backends(repo: dict[str, Path]) -> None:
    repo["home"].write_text(
        "analytics-posthog-host: http://127.0.0.1:9/home\n"
        "analytics-posthog-project-api-key: phc_k\n"
    )
    repo["--config"].write_text("analytics-mixpanel-token: mp_mine\n")
    data = status("--config", str(repo["--config"]))
    assert data["backends"]["posthog"] == {"host": "http://127.0.0.1:9/home"}
    assert data["backends"]["mixpanel"] is not None


# -- an alias bomb --------------------------------------------------------------------------------


def alias_bomb() -> str:
    """Nine levels of nine aliases: 387 million strings if anything walks the value."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\nmodel: *a8\n"


@pytest.mark.parametrize("args", [["--exit"], ["analytics", "status"]])
def test_an_alias_bomb_is_a_quick_one_line_error(cli, args: list[str]) -> None:
    (Path.home() / CONFIG_NAME).write_text(alias_bomb())
    result = cli(*args, timeout=10)
    assert_one_line_error(result, CONFIG_NAME, "model", "a list")


def test_an_alias_bomb_in_a_project_file_is_a_quick_one_line_warning(cli) -> None:
    Path(CONFIG_NAME).write_text(alias_bomb())
    result = cli("--exit", timeout=10)
    assert result.returncode == 0
    *unknown, warning = result.stderr.splitlines()  # a0 to a8 are no options
    assert len(unknown) == 9 and warning.endswith("line 10: it must be a string, not a list")


# -- an opt-out is never blocked by unrelated bad configuration ----------------------------------


def break_home_config() -> None:
    (Path.home() / CONFIG_NAME).write_text("model: m\nanalytics: x: y\n")


BROKEN = {
    "bad-variable": ({"BLACKBOXAI_ANALYTICS": "maybe"}, None, "BLACKBOXAI_ANALYTICS"),
    "broken-yaml": ({}, break_home_config, CONFIG_NAME),
    "alias-bomb": ({}, lambda: (Path.home() / CONFIG_NAME).write_text(alias_bomb()), "a list"),
}
OPT_OUTS = [
    ["analytics", "off"],
    ["--no-analytics", "analytics", "off"],
    ["--analytics-disable"],
    ["--analytics-disable", "--exit"],
    ["--analytics-disable", "analytics", "status"],
]


@pytest.mark.parametrize("args", OPT_OUTS, ids=" ".join)
@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_an_opt_out_is_stored_despite_bad_configuration(
    cli, data_dir: Path, broken: str, args: list[str]
) -> None:
    env, make, fragment = BROKEN[broken]
    if make is not None:
        make()
    result = cli(*args, env=env, timeout=10)
    assert_one_line_error(result, fragment, after=OPTED_OUT)  # stored first, then the mistake
    assert result.stdout == ""
    assert opted_out(data_dir)


def test_an_opt_out_despite_bad_configuration_deletes_waiting_events(data_dir: Path) -> None:
    waiting(data_dir, refused_url())
    result = invoke("analytics", "off", env={"BLACKBOXAI_ANALYTICS": "maybe"})
    assert result.exit_code == 2
    assert opted_out(data_dir) and Analytics().pending_count() == 0


def test_an_opt_out_already_stored_is_confirmed_once_then_the_mistake(cli, data_dir: Path) -> None:
    assert cli("analytics", "off").returncode == 0
    result = cli("analytics", "off", env={"BLACKBOXAI_ANALYTICS": "maybe"})
    assert_one_line_error(result, "BLACKBOXAI_ANALYTICS", after=ALREADY)
    assert result.stdout == ""
    assert opted_out(data_dir)


@pytest.mark.parametrize(
    "args",
    [
        ["--exit"],
        ["analytics", "status"],
        ["analytics", "on"],
        ["analytics", "off", "--help"],
        ["--no-analytics", "--exit"],
        ["off.py", "analytics", "off"],  # files to chat about, not the subcommand
    ],
    ids=" ".join,
)
def test_bad_configuration_without_an_opt_out_stores_nothing(
    cli, data_dir: Path, args: list[str]
) -> None:
    result = cli(*args, env={"BLACKBOXAI_ANALYTICS": "maybe"})
    assert_one_line_error(result, "BLACKBOXAI_ANALYTICS")
    assert result.stdout == ""
    assert not (data_dir / "analytics.json").exists()


def test_an_opt_out_that_cannot_be_stored_says_so(cli, isolated: Path) -> None:
    blocker = isolated / "not-a-dir"
    blocker.write_text("")
    env = {"BLACKBOXAI_ANALYTICS": "maybe", "XDG_DATA_HOME": str(blocker)}
    result = cli("analytics", "off", env=env)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("blackboxai: could not disable analytics: ")
    assert lines[1].startswith("blackboxai: BLACKBOXAI_ANALYTICS")


# -- a deleted current directory ------------------------------------------------------------------


@pytest.fixture
def deleted_cwd(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = isolated / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()


@pytest.mark.usefixtures("deleted_cwd")
@pytest.mark.parametrize("args", [["--exit"], ["analytics", "status"]])
def test_a_deleted_current_directory_is_one_clear_line(cli, args: list[str]) -> None:
    result = cli(*args)
    assert_one_line_error(result, "the current directory no longer exists")
    assert result.stderr == "blackboxai: the current directory no longer exists\n"


@pytest.mark.usefixtures("deleted_cwd")
@pytest.mark.parametrize("args", [["analytics", "off"], ["--analytics-disable"]])
def test_an_opt_out_in_a_deleted_current_directory_is_stored(
    cli, data_dir: Path, args: list[str]
) -> None:
    result = cli(*args)
    assert_one_line_error(result, "the current directory no longer exists", after=OPTED_OUT)
    assert result.stdout == ""
    assert opted_out(data_dir)


def test_analytics_off_says_what_it_deleted_and_the_state_it_leaves(cli, data_dir: Path) -> None:
    waiting(data_dir, refused_url())
    result = cli("analytics", "off")
    assert result.returncode == 0
    assert result.stderr == OPTED_OUT + " Deleted 2 waiting events.\n"  # what changed, once
    assert result.stdout == ""
    again = cli("analytics", "off")
    assert (again.stderr, again.stdout) == (ALREADY + "\n", "")  # nothing changed this time


def test_clearing_over_an_unreadable_state_file_says_what_could_not_be_done(
    cli, data_dir: Path
) -> None:
    waiting(data_dir, refused_url())
    (data_dir / "analytics.json").write_text("{torn")
    result = cli("analytics", "pending", "--clear")
    assert result.returncode == 1
    assert "could not clear everything" in result.stderr and "unusable" in result.stderr
