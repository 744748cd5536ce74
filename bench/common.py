"""Shared by every section: paths, sizes, isolated child environments, children, uploaders.

Every child runs in the repository root, as the runner does (`python -m bench.run`): `-c` puts
the working directory first on sys.path, so a baseline child imports `bench.baseline` as the
runner imports its own modules."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from blackboxai.analytics.consent.rules import CI_VARIABLES
from tests.loopback import Backend, refused_url
from tests.support import uploaders, wait_until

ROOT = Path(__file__).resolve().parent.parent  # the repository: every child's working directory
BENCH = ROOT / "bench"

__all__ = [
    "BENCH",
    "CHILD_TIMEOUT",
    "KEY",
    "ROOT",
    "TOKEN",
    "Backend",
    "Background",
    "Run",
    "Sizes",
    "Workspace",
    "checked",
    "refused_url",
    "run_child",
    "settle_uploader",
    "wait_until",
]

KEY = "phc_bench_project_key"
TOKEN = "mp_bench_token"
CHILD_TIMEOUT = 120.0  # for our children and the baseline runs expected to finish on their own


@dataclass(frozen=True)
class Sizes:
    startup_runs: int
    events: int
    event_rounds: int
    exit_runs: int
    base_exit_runs: int
    base_exit_cap: float
    base_exit_mixpanel: bool
    memory_events: int


class Workspace:
    """Fresh HOME/XDG dirs under one temp root; children never see the user's real state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0
        self.homes: list[Path] = []

    def uploaders(self) -> list[int]:
        """Pids of our detached uploaders still running for any home of this workspace."""
        return [pid for home in self.homes for pid in uploaders(home)]

    def fresh(self) -> Path:
        self._count += 1
        home = self.root / f"home{self._count}"
        (home / ".local" / "share").mkdir(parents=True)
        self.homes.append(home)
        return home

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _scrubbed(k)}
        env.update(
            # Bytecode cached for both sides, as after a pip install; with PYTHONDONTWRITEBYTECODE
            # an editable checkout would recompile our modules on every start.
            PYTHONPYCACHEPREFIX=str(self.root / "pycache"),
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_CONFIG_DIRS=str(home / "site"),  # no machine policy (#21) skews a measure
        )
        return env


def _scrubbed(name: str) -> bool:
    dropped = ("DO_NOT_TRACK", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    proxy = name.lower() in ("http_proxy", "https_proxy", "all_proxy")  # loopback stays direct
    return proxy or name in CI_VARIABLES or name in dropped or name.startswith("BLACKBOXAI_")


@dataclass
class Run:
    wall: float  # seconds, spawn to exit as seen by the parent
    stdout: str
    stderr: str
    timed_out: bool
    returncode: int | None

    def bench(self) -> str:
        """The payload of the child's last BENCH line."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("BENCH "):
                return line[6:]
        raise RuntimeError(f"child printed no BENCH line; stderr:\n{self.stderr[-2000:]}")


def run_child(code: str, args: list[str], env: dict[str, str], timeout: float) -> Run:
    argv = [sys.executable, "-c", code, *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        return Run(time.perf_counter() - start, _text(exc.stdout), _text(exc.stderr), True, None)
    return Run(time.perf_counter() - start, done.stdout, done.stderr, False, done.returncode)


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def checked(run: Run, what: str) -> Run:
    if run.timed_out:
        raise RuntimeError(f"{what}: timed out after {run.wall:.0f} s")
    if run.returncode != 0:
        raise RuntimeError(f"{what}: exit {run.returncode}; stderr:\n{run.stderr[-2000:]}")
    return run


class Background:
    """A child run in a thread, so slow baseline runs can wait on their timeouts together."""

    def __init__(self, code: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        self.result: Run | None = None
        self._thread = threading.Thread(target=self._go, args=(code, args, env, timeout))
        self._thread.start()

    def _go(self, code: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        self.result = run_child(code, args, env, timeout)

    def join(self) -> Run:
        self._thread.join()
        assert self.result is not None
        return self.result


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process, or None once it has exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def settle_uploader(home: Path) -> None:
    """Keep our detached uploaders' CPU off the next measurement without waiting on the network:
    wait until each has exited or sits idle (no CPU for 0.3 s, e.g. blocked on a silent host).
    They are never counted in a measurement."""
    deadline = time.monotonic() + 20.0
    last: dict[int, int | None] = {}
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        now = {pid: cpu_ticks(pid) for pid in uploaders(home)}
        busy = any(ticks is not None and last.get(pid) != ticks for pid, ticks in now.items())
        quiet = 0 if busy else quiet + 1
        last = now
        time.sleep(0.1)
