"""Named pipes, devices and directories where a file is expected: one line each, never a hang.
Each command runs in a child process with a timeout, so a regression fails instead of hanging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from blackboxai.config.options import CONFIG_NAME
from blackboxai.session import Session, SessionConfig
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import make_repo

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
GUARD = 20  # seconds: only a hang reaches it


@pytest.fixture
def repo(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_repo(isolated / "work" / "clone")
    (path / "app.py").write_text("print('app')\n")
    os.mkfifo(path / "pipe")
    monkeypatch.chdir(path)
    return path


def chat(cli: Any, *args: str, input: str = "") -> tuple[Any, str]:
    with FakeOpenAI([Reply("Nothing to change.")]) as api:
        env = {"OPENAI_API_BASE": api.url, "OPENAI_API_KEY": "sk-test"}
        result = cli(*args, input=input, env=env, timeout=GUARD)
        sent = json.dumps([r.body for r in api.requests])
    return result, sent


def test_a_pipe_named_by_a_project_file_is_skipped_with_one_line(cli: Any, repo: Path) -> None:
    (repo / CONFIG_NAME).write_text("file: [app.py, pipe]\n")
    result, sent = chat(cli, "-m", "hi")
    assert result.returncode == 0, result.stderr
    assert "print('app')" in sent and "pipe" not in sent
    assert result.stderr == (
        f"blackboxai: ignoring file 'pipe' in config file {repo / CONFIG_NAME}, line 1: it is "
        "a named pipe, not a regular file\n"
    )


def test_a_pipe_named_on_the_command_line_or_added_is_one_line(cli: Any, repo: Path) -> None:
    line = "pipe is a named pipe, not a regular file; not added.\n"
    result, sent = chat(cli, "-m", "hi", "app.py", "pipe")
    assert (result.returncode, result.stderr) == (0, line)
    assert "print('app')" in sent
    result, _ = chat(cli, input="/add pipe /dev/null\n/ls\n")
    assert result.returncode == 0
    assert result.stderr == line + "/dev/null is a device, not a regular file; not added.\n"
    assert "No files in the chat." in result.stdout


def test_a_chat_file_that_became_a_pipe_is_skipped_not_waited_for(repo: Path) -> None:
    (repo / "notes.md").write_text("notes\n")
    errors: list[str] = []
    with FakeOpenAI([Reply("ok")]) as api:
        config = SessionConfig(api_base=api.url, api_key="k", files=(Path("notes.md"),), root=repo)
        session = Session(config, analytics=_Quiet(), out=lambda _: None, err=errors.append)
        (repo / "notes.md").unlink()
        os.mkfifo(repo / "notes.md")
        worker = threading.Thread(target=session.send, args=("hi",), daemon=True)
        worker.start()
        worker.join(GUARD)
        assert not worker.is_alive()
    assert errors == [
        "Could not read notes.md: it is not a regular file (a pipe or a device); skipped."
    ]
    assert "notes" not in json.dumps(api.requests[0].body["messages"][1])


class _Quiet:
    def event(self, event_name: str, **properties: object) -> None:
        pass


@pytest.mark.parametrize("how", ["flag", "variable", "argument"])
def test_report_on_a_pipe_that_nothing_writes_ends_at_once(cli: Any, repo: Path, how: str) -> None:
    fifo = str(repo / "pipe")
    args = {
        "flag": ["--analytics-log", fifo, "analytics", "report"],
        "variable": ["analytics", "report"],
        "argument": ["analytics", "report", fifo],
    }[how]
    env = {"BLACKBOXAI_ANALYTICS_LOG": fifo} if how == "variable" else {}
    result = cli(*args, env=env, timeout=GUARD)
    assert result.returncode == 0, result.stderr
    assert "0 lines" in result.stdout and result.stderr == ""


def test_report_on_a_directory_is_one_line_with_the_reason(cli: Any) -> None:
    # Paths in the working directory (isolated's): a message cuts a path of over 80 characters
    # in the middle, and the temporary directory's length depends on the machine (xdist, macOS).
    Path("logs").mkdir()
    result = cli("analytics", "report", "logs", timeout=GUARD)
    assert result.returncode == 1
    assert result.stderr == "blackboxai: cannot read logs: it is a directory\n"
    assert "Could not read" not in result.stdout
    result = cli("analytics", "report", "missing.jsonl", timeout=GUARD)
    assert result.stderr == "blackboxai: cannot read missing.jsonl: no such file\n"


def _with_pipe(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with a pipe that has a writer, named /dev/fd/N: what `<(...)` in a shell passes."""
    read, write = os.pipe()
    os.write(write, text.encode())
    os.close(write)
    try:
        return subprocess.run(
            [sys.executable, "-m", "blackboxai", *(a.format(f"/dev/fd/{read}") for a in args)],
            capture_output=True,
            text=True,
            pass_fds=(read,),
            timeout=GUARD,
        )
    finally:
        os.close(read)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_report_on_a_device_is_one_line_not_an_endless_read(cli: Any, device: str) -> None:
    result = cli("analytics", "report", device, timeout=GUARD)
    assert result.returncode == 1
    assert result.stderr == (
        f"blackboxai: cannot read {device}: it is a device, not a file: "
        "reading it might never end\n"
    )


def test_report_reads_a_pipe_with_a_writer_and_standard_input(cli: Any) -> None:
    line = '{"event": "launched", "time": 1700000000}\n'
    result = _with_pipe(line, "analytics", "report", "--json", "{}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["by_event"] == {"launched": 1}
    result = cli("analytics", "report", "--json", "-", input=line, timeout=GUARD)
    assert json.loads(result.stdout)["by_event"] == {"launched": 1}


def test_a_config_pipe_that_nothing_writes_reads_as_empty_at_once(cli: Any, repo: Path) -> None:
    result = cli("--config", str(repo / "pipe"), "--exit", timeout=GUARD)
    assert (result.returncode, result.stderr) == (0, "")
    assert cli("--config", os.devnull, "--exit", timeout=GUARD).returncode == 0


def test_a_config_pipe_with_a_writer_is_read(cli: Any) -> None:
    result = _with_pipe("model: m\nedit-format: bogus\n", "--config", "{}", "--exit")
    assert result.returncode == 2
    assert result.stderr.endswith(", line 2: edit-format must be one of whole, diff, not 'bogus'\n")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_config_device_is_one_line_not_an_endless_read(cli: Any, device: str) -> None:
    result = cli("--config", device, "--exit", timeout=GUARD)
    assert (result.returncode, result.stderr) == (
        2,
        f"blackboxai: config file {device} is a device, not a file\n",
    )
