"""Each test gets its own HOME, data dir and cwd; no CI or tracking variables leak in; no server
or non-daemon thread a test started outlives it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from blackboxai.analytics.consent.rules import CI_VARIABLES
from tests.loopback import Backend
from tests.support import server_thread, threads_left

THREAD_GRACE = 2.0  # seconds a test's threads get, in all, to end once it is over


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker, execnet's I/O thread (started with _thread: no test sees it)
    makes the process multi-threaded, and Python 3.12+ warns at every fork (pexpect's forkpty,
    test_event's fork) that the child could deadlock on a lock that thread held. The child never
    touches execnet's pipes, so the warning is ignored there. Anywhere else it stays: a second
    thread there is a test's."""
    if hasattr(config, "workerinput"):
        config.addinivalue_line(
            "filterwarnings",
            r"ignore:This process \(pid=\d+\) is multi-threaded, use of (fork|forkpty)\(\)"
            ":DeprecationWarning",
        )


@pytest.fixture(autouse=True)
def no_thread_outlives_the_test() -> Iterator[None]:
    """Fails a test that leaves a thread running: a loopback server's (serve_forever, a request
    handler) or any non-daemon thread. Torn down after the test's own fixtures (an autouse
    fixture is set up first), so a server stopped by its fixture counts as stopped."""
    before = set(threading.enumerate())
    yield
    left = threads_left(before, THREAD_GRACE, lambda t: server_thread(t) or not t.daemon)
    if left:
        pytest.fail(f"threads still running {THREAD_GRACE:g} s after the test: {left}")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, XDG_DATA_HOME, the site config dirs (XDG_CONFIG_DIRS: no policy but a test's) and cwd
    in tmp_path; CI, proxy, DO_NOT_TRACK, OTEL_* and our variables unset, and the CA bundles that
    requests reads from the environment."""
    for name in list(os.environ):
        proxy = name.lower() in ("http_proxy", "https_proxy", "all_proxy")  # keep loopback direct
        ours = name.startswith(("BLACKBOXAI_", "OPENAI_")) or name in CI_VARIABLES
        # A team collector's settings come from OTEL_* too; REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE
        # would decide which CA requests trusts (this machine sets both).
        otel = name.startswith("OTEL_") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        if proxy or ours or otel or name == "DO_NOT_TRACK":
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "site"))  # tests.policy.site_policy
    monkeypatch.chdir(work)
    return tmp_path


@pytest.fixture
def data_dir(isolated: Path) -> Path:
    return isolated / "home" / ".local" / "share" / "blackboxai"


@pytest.fixture
def site_policy(isolated: Path) -> Callable[[str], Path]:
    """Writes the machine's policy where blackboxai looks for it, put in a temp dir the standard
    way ($XDG_CONFIG_DIRS, set by `isolated`); skips where that way does not reach the site
    config dir (Windows; macOS with an older platformdirs)."""
    from blackboxai.policy import POLICY_FILE, policy_dirs

    where = isolated / "site" / "blackboxai"
    if Path(policy_dirs()[0]) != where:
        pytest.skip("the site config dir cannot be pointed at a temp dir here")

    def write(text: str) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        path = where / POLICY_FILE
        path.write_text(text)
        return path

    return write


@pytest.fixture
def backend() -> Iterator[Backend]:
    with Backend() as server:
        yield server


def run_cli(
    *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a child process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "blackboxai", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
