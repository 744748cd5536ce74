"""The start-up benchmark's yardstick: the bare argparse CLI declares exactly our options."""

from __future__ import annotations

import subprocess
import sys

from bench.cli_startup import bare_options_match
from bench.common import BENCH


def test_the_bare_cli_has_exactly_blackboxais_options() -> None:
    assert bare_options_match() == set()


def test_the_bare_cli_parses_exit_and_files_like_ours() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bare_cli.py"), "--exit", "a.py", "--model", "m"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
