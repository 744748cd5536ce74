"""What the team-collector tests through the real CLI share (test_otlp, test_otlp_status,
test_otlp_endpoint): the option, waiting for the detached uploader, reading status's lines."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from tests.support import wait_for_last, wait_for_no_uploaders


def otlp(url: str, *extra: str) -> list[str]:
    return ["--analytics-otlp-endpoint", url, *extra]


def delivered(data_dir: Path, home: Path, after: float = 0.0) -> dict[str, Any]:
    """The outcome of the run that ended after `after`, once every uploader has ended (so the
    stand-in holds all it will ever be sent by them)."""
    last = wait_for_last(data_dir, after=after)
    wait_for_no_uploaders(home)
    return last


def destination_lines(text: str) -> list[str]:
    """The Destinations: lines of `analytics status`, one per destination."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Destinations:"))
    found = [lines[start].removeprefix("Destinations:").strip()]
    found += [line.strip() for line in lines[start + 1 :] if line.startswith(" " * 15)]
    return found


def free_port() -> int:
    """A loopback port nobody listens on (as the test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
