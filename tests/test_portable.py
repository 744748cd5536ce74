"""Portability: our code's POSIX-only calls each have an alternative, and that alternative runs.

The alternatives are what Windows runs. Here they run for real, on this machine, in a pytest
whose every process has tests/nonposix active (see nonposix.py there): the lock, spool and
launch tests, with fcntl, posix_spawn, O_NONBLOCK, set_blocking, uname, alarm, SIGHUP... gone.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nonposix.nonposix import HIDDEN_MODULES, HIDDEN_OS, HIDDEN_SIGNAL
from tests.support import REPO

ROOT = REPO
NONPOSIX = ROOT / "tests" / "nonposix"

# Run with POSIX-only calls hidden. FIFOs exist only on POSIX, so their tests do not apply.
SIMULATED = [
    "tests/nonposix/windows_paths.py",
    "tests/analytics/queue/test_spool.py",
    "tests/analytics/consent/test_state.py",
    "tests/analytics/test_hostile.py::test_ten_sessions_appending_to_one_log_never_tear_a_line",
    "tests/analytics/test_hostile.py::test_sigkill_during_state_writes_never_leaves_a_torn_or_blocking_state",
    "tests/analytics/test_hostile.py::test_sigkill_during_spool_appends_never_blocks_later_sessions",
]

# What src may use from os and signal on every platform (present in Windows CPython 3.10+).
PORTABLE = {
    "os": {
        *("path", "open", "close", "read", "write", "lseek", "fstat", "fsync", "fdopen", "dup"),
        *("replace", "unlink", "chmod", "umask", "getpid", "urandom", "environ", "devnull"),
        *("fspath", "PathLike", "pathsep", "SEEK_SET", "O_RDONLY", "O_WRONLY", "O_RDWR"),
        *("O_APPEND", "O_CREAT", "O_EXCL", "O_TRUNC", "O_BINARY", "dup2", "sep", "getcwd"),
        *("_exit", "stat", "fsencode", "ftruncate", "SEEK_CUR"),
    },
    "signal": {"signal", "SIGINT", "SIGTERM", "SIG_DFL", "SIG_IGN", "default_int_handler"},
}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the whole suite runs these paths")
def test_lock_spool_and_launch_pass_with_posix_only_calls_hidden(tmp_path: Path) -> None:
    # The one path the suite sets: tests/nonposix first on the PYTHONPATH every process there
    # inherits, so its sitecustomize hides the POSIX-only calls before anything of ours runs.
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(NONPOSIX), *inherited])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not fifo",
         f"--basetemp={tmp_path / 'nested'}", *SIMULATED],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"\d+ (failed|error)", summary)


def _posix_names(tree: ast.AST) -> set[str]:
    """os./signal. names used (attributes, getattr/hasattr strings) and modules imported."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in PORTABLE:
                found.add(f"{node.value.id}.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id in ("getattr", "hasattr") and len(args) >= 2:
                owner, name = args[0], args[1]
                named = isinstance(name, ast.Constant) and isinstance(name.value, str)
                if isinstance(owner, ast.Name) and owner.id in PORTABLE and named:
                    found.add(f"{owner.id}.{name.value}")  # type: ignore[attr-defined]
        elif isinstance(node, ast.Import):
            found |= {f"import {a.name.partition('.')[0]}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(f"import {node.module.partition('.')[0]}")
    return found


def test_every_posix_only_name_src_uses_is_one_the_simulation_hides() -> None:
    """A new POSIX-only call in src must join nonposix.py's lists, so its alternative is run."""
    hidden = {
        *(f"os.{n}" for n in HIDDEN_OS),
        *(f"signal.{n}" for n in HIDDEN_SIGNAL),
        *(f"import {m}" for m in HIDDEN_MODULES),
    }
    portable = {f"{module}.{n}" for module, names in PORTABLE.items() for n in names}
    unknown: dict[str, str] = {}
    for source in sorted((ROOT / "src").rglob("*.py")):
        for name in _posix_names(ast.parse(source.read_text(), str(source))):
            if name.startswith("import "):
                continue
            if name not in hidden and name not in portable:
                unknown[name] = str(source.relative_to(ROOT))
    assert not unknown, f"POSIX-only or unclassified (list in nonposix.py or PORTABLE): {unknown}"
