"""What tests (and bench/) share: sinks in memory, spooled records, uploader processes, a git
work tree, the in-process CLI runner."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.rules import Stored
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.delivery.outcome import LAST_FILE
from blackboxai.analytics.delivery.sinks import Answer
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.queue.launch import CONFIG_ENV, UploadConfig
from blackboxai.analytics.queue.spool import Spool
from blackboxai.analytics.queue.waiting import Record

if TYPE_CHECKING:
    from typer.testing import CliRunner

__all__ = [
    "FAILURES",
    "OMIT",
    "REPO",
    "Destination",
    "FailingSink",
    "FullDiskSpool",
    "MemorySink",
    "cli_runner",
    "config",
    "hosted_env",
    "imported_by_a_session",
    "make_repo",
    "mixpanel_at",
    "posthog_at",
    "server_thread",
    "spooled",
    "start_uploader",
    "threads_left",
    "uploaders",
    "wait_for_last",
    "wait_for_no_uploaders",
    "wait_until",
]

# The repository's root: the docs, the sample log and src/ are found from here, wherever a test is.
REPO = Path(__file__).resolve().parent.parent
KEY = "phc_test"
OMIT = ...  # a field value for spooled(): leave the field out
TOKEN = "mp_token"


def posthog_at(url: str, key: str = KEY) -> Destination:
    return Destination("posthog", url, key)


def mixpanel_at(url: str, token: str = TOKEN) -> Destination:
    return Destination("mixpanel", url, token)


class MemorySink:
    """A Sink that keeps every batch it is given and answers from a script (default: 200).

    `answers` items are Answers, HTTP statuses, or functions of the batch returning either. It
    stands for the service: a 400 or 413 given as a status is in the service's own words (a
    verdict on the data); an Answer says for itself."""

    def __init__(
        self,
        name: str = "posthog",
        *,
        max_batch: int = 250,
        max_bytes: int = 10**9,
        answers: Iterable[Answer | int | Callable[[list[Record]], Answer | int]] = (),
    ) -> None:
        self.name = name
        self.max_batch = max_batch
        self.max_bytes = max_bytes
        self.batches: list[list[Record]] = []
        self.closed = False
        self._answers = list(answers)

    @property
    def ids(self) -> list[str]:
        return [str(r["id"]) for batch in self.batches for r in batch]

    def send(self, batch: list[Record]) -> Answer:
        self.batches.append([dict(r) for r in batch])
        answer = self._answers.pop(0) if self._answers else Answer(200)
        if callable(answer):
            answer = answer(batch)
        if isinstance(answer, int):
            return Answer(answer, from_service=answer in (400, 413))
        return answer

    def close(self) -> None:
        self.closed = True


FAILURES: dict[str, Answer] = {
    "network": Answer(0, detail="ConnectionError"),
    "timeout": Answer(0, detail="timed out"),
    "429": Answer(429, retry_after=0, detail="HTTP 429"),
    "503": Answer(503, detail="HTTP 503"),
    "401": Answer(401, detail="HTTP 401"),
    "403": Answer(403, detail="HTTP 403"),
    "400": Answer(400, detail="HTTP 400", from_service=True),
    "413": Answer(413, detail="HTTP 413", from_service=True),
    "400-html": Answer(400, detail="HTTP 400"),  # a proxy's page, not the service's words
    "404": Answer(404, detail="HTTP 404"),
}


class FullDiskSpool(Spool):
    """A spool on a disk that has just filled up: every append fails."""

    def append(self, lines: list[str], **kwargs: object) -> bool:
        raise OSError(28, "No space left on device")


class FailingSink(MemorySink):
    """Fails every request the same way (a FAILURES kind); "raise" raises, as a broken SDK."""

    def __init__(self, kind: str, name: str = "posthog", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.kind = kind

    def send(self, batch: list[Record]) -> Answer:
        self.batches.append([dict(r) for r in batch])
        if self.kind == "raise":
            raise RuntimeError("an SDK bug")
        return FAILURES[self.kind]


def spooled(data_dir: Path, n: int, **fields: Any) -> list[Record]:
    """Write `n` valid spool records as a consented session would, and return them.

    Consent is stored first if it is not. Defaults: event "e", properties {"i": index}, the
    stored id and generation, times 1 ms apart ending now, a fresh uuid4, no destination. Any
    field may be given, as a value or a function of the index (`time=lambda i: t0 + i`);
    `to` takes Destinations or raw JSON values (an old-format record: `to=["posthog"]`)."""
    state = StateStore(data_dir).load()
    if state.stored is not Stored.CONSENTED or state.uuid is None:
        assert Analytics(data_dir=data_dir).opt_in()
        state = StateStore(data_dir).load()
    now = time.time()
    records: list[Record] = []
    for i in range(n):
        record: Record = {
            "event": "e",
            "properties": {"i": i},
            "user_id": state.uuid,
            "time": round(now - (n - i) / 1000, 3),
            "id": str(uuid.uuid4()),
            "gen": state.generation,
            "to": [],
        }
        for key, value in fields.items():
            record[key] = value(i) if callable(value) else value
            if value is OMIT:
                del record[key]
        to = record["to"]
        assert isinstance(to, list)
        record["to"] = [d.to_json() if isinstance(d, Destination) else d for d in to]
        records.append(record)
    Spool(data_dir).append([json.dumps(r, separators=(",", ":")) for r in records])
    return records


def config(data_dir: Path, **bounds: float) -> UploadConfig:
    """Short bounds for tests; any may be overridden."""
    values = {
        "connect_timeout": 1.0,
        "request_timeout": 3.0,
        "lock_wait": 20.0,
        "send_time": 30.0,
        **bounds,
    }
    return UploadConfig(str(data_dir), **values)


def start_uploader(data_dir: Path, **bounds: float) -> subprocess.Popen[bytes]:
    """The real uploader process, as `launch()` runs it, but a child we can wait on or kill."""
    from blackboxai.analytics.queue.launch import BOOTSTRAP

    env = {**os.environ, CONFIG_ENV: config(data_dir, **bounds).to_json()}
    return subprocess.Popen([sys.executable, "-c", BOOTSTRAP], env=env)


def hosted_env(url: str) -> dict[str, str]:
    """PostHog and Mixpanel at the loopback stand-in, as a user's own variables."""
    return {
        "BLACKBOXAI_ANALYTICS_POSTHOG_HOST": url,
        "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_mine",
        "BLACKBOXAI_ANALYTICS_MIXPANEL_HOST": url,
        "BLACKBOXAI_ANALYTICS_MIXPANEL_TOKEN": "mp_mine",
    }


def imported_by_a_session(env: dict[str, str], *modules: str) -> tuple[list[str], str]:
    """`blackboxai --exit` in a fresh interpreter: for each module whether it was imported
    ("True"/"False"), then the exit status; and its stderr, for a failing assertion."""
    code = (
        "import sys, runpy; sys.argv = ['blackboxai', '--exit']\n"
        "try:\n    runpy.run_module('blackboxai', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\n"
        f"print(*[m in sys.modules for m in {list(modules)!r}], code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    return done.stdout.split()[-len(modules) - 1 :], done.stderr


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    """Poll `check` until it holds or `timeout` seconds pass; whether it held. For what another
    process does (files it writes, processes that end): nothing here can be waited on."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return check()
        time.sleep(0.02)
    return True


def wait_for_last(data_dir: Path, timeout: float = 30, after: float = 0.0) -> dict[str, Any]:
    """upload.last.json once a run (ending after `after`, epoch seconds) has written it."""
    found: list[dict[str, Any]] = []

    def written() -> bool:
        try:
            last = json.loads((data_dir / LAST_FILE).read_text())
        except (OSError, ValueError):
            return False
        time_ = last.get("time") if isinstance(last, dict) else None
        if isinstance(time_, (int, float)) and time_ >= after:
            found[:] = [last]
            return True
        return False

    if not wait_until(written, timeout):
        raise AssertionError("no delivery run finished")
    return found[0]


def interrupt_when_reading(child: Any, timeout: float = 20) -> None:
    """Ctrl-C for a pexpect child once it is asleep reading its terminal. Sent between the
    prompt's write and input()'s read, CPython sets its flag and then blocks in read() until
    the next line (Parser/myreadline.c checks signals only when read() is interrupted): a
    user presses it again; a test waits for the read instead (/proc's state S, sleeping)."""
    stat = Path(f"/proc/{child.pid}/stat")

    def asleep() -> bool:
        try:  # the state follows the command name, which is in parentheses
            return stat.read_text().rpartition(")")[2].split()[0] == "S"
        except (OSError, IndexError):
            return False

    if Path("/proc/self/stat").exists() and not wait_until(asleep, timeout):
        raise AssertionError("the child never waited for input")
    child.sendintr()  # (without /proc, as macOS has, at once: the race stays open there)


def wait_for_no_uploaders(home: Path, timeout: float = 30) -> None:
    """Until every uploader of this HOME has exited (one that wrote its outcome is ending)."""
    if not wait_until(lambda: not uploaders(home), timeout):
        raise AssertionError("an uploader is still running")


def uploaders(home: Path) -> list[int]:
    """Pids of uploader processes running with this HOME (detached: not our children)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"blackboxai.analytics.upload" not in (proc / "cmdline").read_bytes():
                continue
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"HOME={home}".encode() in env:
            found.append(int(proc.name))
    return found


def make_repo(path: Path) -> Path:
    """A real git work tree (`git init`), or a bare `.git` directory where git is missing."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=30)
    except (OSError, subprocess.CalledProcessError):
        (path / ".git").mkdir()
    return path


def cli_runner() -> CliRunner:
    """Typer's in-process runner with stdout and stderr kept apart: click 8.2+ always does;
    click 8.1 (typer < 0.24 allows it) needs mix_stderr=False, which click 8.2 removed."""
    from typer.testing import CliRunner  # typer only where a test runs the app in-process

    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def server_thread(thread: threading.Thread) -> bool:
    """A socketserver's serve_forever loop or one of its request handlers (a loopback stand-in's,
    or any other server's). A running Thread still holds its target."""
    target = getattr(thread, "_target", None)
    return isinstance(getattr(target, "__self__", None), socketserver.BaseServer)


def threads_left(
    before: set[threading.Thread],
    timeout: float,
    which: Callable[[threading.Thread], bool] = lambda thread: True,
) -> list[threading.Thread]:
    """Threads started since `before` (those `which` picks) that are still alive after waiting
    up to `timeout` in all for them to end (joining each: no fixed sleep)."""
    deadline = time.monotonic() + timeout
    new = [t for t in threading.enumerate() if t not in before and which(t)]
    for thread in new:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in new if t.is_alive()]
