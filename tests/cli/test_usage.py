"""Command-line mistakes and help: one clear line and a truthful exit status, on both paths
(the fast parser in a child process, the Typer app in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blackboxai.commands import app
from blackboxai.config.options import CONFIG_NAME, OPTIONS
from tests.support import cli_runner

OPTED_OUT = "Analytics are now permanently disabled; nothing will be sent.\n"
LONG = "/tmp/" + "x" * 5000


def one_line(code: int, stderr: str, *fragments: str) -> str:
    lines = stderr.splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith("blackboxai: ") and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- a misspelt subcommand is no file --------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        ("status", "blackboxai analytics status"),
        ("analytic", "blackboxai analytics"),
        ("off", "blackboxai analytics off"),
        ("reset-id", "blackboxai analytics reset-id"),
    ],
)
def test_a_misspelt_command_is_one_line_and_exit_2_and_starts_nothing(
    cli, data_dir: Path, word: str, meant: str
) -> None:
    result = cli(word, "--analytics-log", "log.jsonl")
    message = f"blackboxai: no such file or command: {word!r} (did you mean {meant!r}?)"
    assert one_line(result.returncode, result.stderr) == message
    assert result.stdout == ""
    assert not Path("log.jsonl").exists()  # nothing was opened
    assert not Path(word).exists()


def test_the_typer_path_says_the_same() -> None:
    result = cli_runner().invoke(app, ["status"], env=dict(os.environ))
    assert result.exit_code == 2
    assert result.stderr == (
        "blackboxai: no such file or command: 'status' "
        "(did you mean 'blackboxai analytics status'?)\n"
    )


def test_an_existing_file_named_like_a_command_is_a_file(cli) -> None:
    Path("status").write_text("notes\n")
    result = cli("status", "--exit")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_path_to_a_file_named_like_a_command_is_a_file(cli) -> None:
    result = cli("./status", "--exit")
    assert (result.returncode, result.stderr) == (0, "")


def test_an_opt_out_beside_a_misspelt_command_is_still_stored(cli, data_dir: Path) -> None:
    result = cli("--analytics-disable", "off")
    notice, mistake = result.stderr.splitlines(keepends=True)
    assert notice == OPTED_OUT  # stored first, on stderr like every notice
    one_line(result.returncode, mistake, "'off'", "blackboxai analytics off")
    assert result.stdout == ""
    assert json.loads((data_dir / "analytics.json").read_text())["permanently_disable"] is True


# -- empty and very long values ------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--analytics-log", ""], ["--analytics-log="]])
def test_an_empty_analytics_log_is_one_clear_line(cli, args: list[str]) -> None:
    result = cli(*args, "--exit")
    line = one_line(result.returncode, result.stderr)
    assert line == "blackboxai: --analytics-log needs a file name, not an empty string"


def test_an_empty_analytics_log_in_a_file_names_the_file_and_line(cli) -> None:
    (Path.home() / CONFIG_NAME).write_text("model: m\nanalytics-log: ''\n")
    result = cli("--exit")
    one_line(result.returncode, result.stderr, CONFIG_NAME, "line 2", "needs a file name")


def test_an_empty_config_is_one_clear_line(cli) -> None:
    result = cli("--config", "", "--exit")
    line = one_line(result.returncode, result.stderr)
    assert line == "blackboxai: --config needs a file name, not an empty string"


def test_a_very_long_config_path_is_not_echoed_whole(cli) -> None:
    result = cli("--config", LONG, "--exit")
    line = one_line(result.returncode, result.stderr, "config file /tmp/xxx", "...")
    assert len(line) < 300


def test_very_long_values_in_a_project_file_are_not_echoed_whole(cli) -> None:
    Path(".git").mkdir()
    Path(CONFIG_NAME).write_text(
        f"file: [../{'y' * 5000}]\nanalytics-log: /{'z' * 5000}\nmodel: {'m' * 5000}\n"
        f"? {'k' * 5000}\n: 1\n"  # an explicit key: plain ones stop at 1024 characters
    )
    result = cli("--exit")
    assert result.returncode == 0, result.stderr[:500]
    lines = result.stderr.splitlines()
    assert len(lines) == 3  # two paths outside the project, one unknown key
    assert all(len(line) < 500 for line in lines), [len(line) for line in lines]


# -- help reads well -------------------------------------------------------------------------------


def test_help_shows_every_option_once_with_its_default_and_the_commands(cli) -> None:
    result = cli("--help")
    assert result.returncode == 0 and result.stderr == ""
    text = result.stdout
    flat = " ".join(text.split())
    for name in OPTIONS:
        assert text.count(f"--{name} ") + text.count(f"--{name}\n") >= 1, name
    assert "[default: gpt-4o-mini]" in flat and "[default: whole]" in flat
    assert "(gpt-4o-mini)" not in text
    commands = text.split("Commands:")[1]
    assert "analytics" in commands and "..." not in commands  # the summary is not cut off
    assert "BLACKBOXAI_" in flat and ".blackboxai.conf.yml" in flat


def test_only_the_first_file_stands_where_a_command_would(cli) -> None:
    result = cli("notes.md", "status", "--exit")
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("args", "code"), [(["--exit"], 0), (["analytics", "status"], 1)], ids=["--exit", "status"]
)
def test_a_reader_that_went_away_never_stops_the_opt_out_on_either_path(
    data_dir: Path, args: list[str], code: int
) -> None:
    """stdout is closed: the opt-out is stored and said on stderr all the same; a command whose
    output is lost (status) exits 1 quietly, as click does, and a session runs on."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "blackboxai", "--analytics-disable", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (code, OPTED_OUT)
    assert json.loads((data_dir / "analytics.json").read_text())["permanently_disable"] is True


def test_a_double_dash_makes_command_names_files_and_runs_no_command(cli, data_dir: Path) -> None:
    result = cli("--exit", "--", "analytics", "on")
    assert (result.returncode, result.stderr) == (0, "")
    assert not data_dir.exists()  # `analytics on` did not run: no consent was stored


@pytest.mark.parametrize(
    "args",
    [
        ["--analytics-disable", "--bogus", "--exit"],
        ["--analytics-disable=1", "--exit"],
        ["--analytics-disable", "--model"],
        ["--bogus", "analytics", "off"],
    ],
    ids=" ".join,
)
def test_a_usage_mistake_beside_an_opt_out_never_stops_it(
    cli, data_dir: Path, args: list[str]
) -> None:
    assert cli("analytics", "on").returncode == 0
    result = cli(*args)
    assert result.returncode == 2  # the mistake is still reported
    assert result.stderr.startswith(OPTED_OUT)  # but only after the opt-out was stored
    assert json.loads((data_dir / "analytics.json").read_text())["permanently_disable"] is True


@pytest.mark.parametrize(
    ("args", "flag", "command"),
    [
        (["--exit", "analytics"], "--exit", "analytics"),
        (["--exit", "analytics", "status"], "--exit", "analytics"),
        (["-m", "hi", "analytics", "events"], "--message", "analytics"),
        (["--no-analytics", "--message=hi", "analytics", "status"], "--message", "analytics"),
    ],
)
def test_a_session_option_before_a_command_is_a_usage_error(
    cli, args: list[str], flag: str, command: str
) -> None:
    """Not silently dropped: the command line does not mean what it says, so nothing runs."""
    result = cli(*args)
    line = one_line(result.returncode, result.stderr, flag, repr(command))
    assert line == (
        f"blackboxai: {flag} starts a session; it cannot go before the command {command!r} "
        "(only settings such as --no-analytics can)"
    )
    assert result.stdout == ""


def test_settings_before_a_command_still_apply(cli) -> None:
    result = cli("--no-analytics", "analytics", "status", "--json")
    assert result.returncode == 0, result.stderr
    assert "--no-analytics" in json.loads(result.stdout)["why"]
