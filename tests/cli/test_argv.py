"""The fast command-line parser: it reads what the Typer app reads, or leaves the line to it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st

from blackboxai.argv import Invocation, from_params, parse, suggest
from blackboxai.commands import FILES_KEY, app
from blackboxai.config.options import OPTIONS


def typer_reads(argv: Sequence[str]) -> Invocation:
    """What the Typer app makes of argv: its parse only, nothing run (no callback, no session)."""
    command = typer.main.get_command(app)
    with command.make_context("blackboxai", list(argv)) as ctx:
        return from_params(ctx.params, ctx.meta.get(FILES_KEY, ()))


FLAGS = [f"--{name}" for name in OPTIONS] + [
    "--no-analytics",
    "--message",
    "-m",
    "--config",
    "-c",
    "--exit",
]
ODD = ["--", "-", "", "--help", "-h", "--version", "--bogus", "-x", "-hm", "--exit=1", "---x"]
WORDS = ["a.py", "src/b.py", "analytics", "status", "off", "gpt-4o", "diff", "two words", "é"]
GLUED = [f"{flag}=" for flag in FLAGS if flag.startswith("--")] + ["-mhi", "-m=x", "-cconf.yml"]
TOKEN = st.one_of(
    st.sampled_from(FLAGS),
    st.sampled_from(ODD),
    st.sampled_from(WORDS),
    st.sampled_from(GLUED),
    st.builds(lambda glued, tail: glued + tail, st.sampled_from(GLUED), st.text(max_size=4)),
    st.text(max_size=6),
    st.just("hi \udcff"),  # a non-UTF-8 byte as Python hands it over
)


@settings(max_examples=1500, deadline=None)
@given(argv=st.lists(TOKEN, max_size=8))
def test_every_command_line_the_fast_path_accepts_the_typer_app_reads_alike(
    argv: list[str],
) -> None:
    fast = parse(argv)
    if fast is not None:
        assert typer_reads(argv) == fast


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--exit"], Invocation(exit_now=True)),
        (["-m", "hi", "a.py"], Invocation(files=("a.py",), message="hi")),
        (["-mhi"], Invocation(message="hi")),
        (["a.py", "--model", "m", "b.py"], Invocation({"model": "m"}, ("a.py", "b.py"))),
        (["--model=m", "--model", "n"], Invocation({"model": "n"})),  # the last one wins
        (["--no-analytics", "--analytics"], Invocation({"analytics": True})),
        (["--file", "a", "--file=b"], Invocation({"file": ("a", "b")})),
        (["--analytics-log", ""], Invocation({"analytics-log": ""})),  # settings says why not
        (["--", "--exit", "-"], Invocation(files=("--exit", "-"))),
        (
            ["-c", "x.yml", "--analytics-disable"],
            Invocation({"analytics-disable": True}, config="x.yml"),
        ),
        (["off.py", "analytics", "off"], Invocation(files=("off.py", "analytics", "off"))),
    ],
)
def test_the_common_session_command_lines_take_the_fast_path(
    argv: list[str], expected: Invocation
) -> None:
    assert parse(argv) == expected
    assert typer_reads(argv) == expected


def test_after_a_double_dash_a_command_name_is_a_file_to_chat_about() -> None:
    invocation = parse(["--exit", "--", "analytics", "on"])
    assert invocation is not None and invocation.files == ("analytics", "on")
    assert invocation.literal and invocation.exit_now


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["a.py", "-h"],
        ["--version"],
        ["analytics", "status"],
        ["--no-analytics", "analytics", "off"],
        ["--bogus"],
        ["--exit=1"],
        ["--model"],
        ["-m"],
        ["-hm", "x"],
    ],
)
def test_help_subcommands_and_mistakes_go_to_the_typer_app(argv: list[str]) -> None:
    assert parse(argv) is None


def test_a_session_started_the_fast_way_never_imports_typer_or_pydantic(isolated) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted({'typer', 'click', 'pydantic', 'rich'}"
        " & set(sys.modules)), file=sys.stderr))\n"
        "sys.argv = ['blackboxai', '--exit']\n"
        "from blackboxai.cli import main\n"
        "main()\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "[]\n"


@pytest.mark.parametrize(
    ("word", "meant"),
    [
        ("status", "blackboxai analytics status"),
        ("Status", "blackboxai analytics status"),
        ("stauts", "blackboxai analytics status"),
        ("analytic", "blackboxai analytics"),
        ("anaytics", "blackboxai analytics"),
        ("off", "blackboxai analytics off"),
        ("on", "blackboxai analytics on"),
        ("reset-id", "blackboxai analytics reset-id"),
        ("reset_id", "blackboxai analytics reset-id"),
        ("resetid", "blackboxai analytics reset-id"),
        ("help", "blackboxai --help"),
    ],
)
def test_a_word_one_slip_from_a_command_is_suggested(word: str, meant: str) -> None:
    assert suggest(word) == meant


@pytest.mark.parametrize(
    "word", ["notes.md", "src/status", "status.py", "of", "statistics", "sends", "", "README"]
)
def test_file_names_and_distant_words_are_not_commands(word: str) -> None:
    assert suggest(word) is None


@given(argv=st.lists(st.text(max_size=10), max_size=6))
def test_the_fast_parser_never_raises(argv: list[str]) -> None:
    parse(argv)
