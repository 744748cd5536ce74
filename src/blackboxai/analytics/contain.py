"""Our failures never reach the host program: one context manager contains them all."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

__all__ = ["Containment", "one_line"]


class Containment:
    """Counts what failed inside the analytics layer and says so only in the dry run (debug):
    a failing backend, disk or bug leaves the terminal exactly as a working one would."""

    def __init__(self, *, verbose: bool = False, stream: TextIO | None = None) -> None:
        self.verbose = verbose
        self.failures = 0
        self._stream = stream

    @contextmanager
    def guard(self, where: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            self.record(where, exc)

    def record(self, where: str, exc: BaseException) -> None:
        self.failures += 1
        if self.verbose:
            with suppress(Exception):
                message = f"analytics debug: {where} failed: {type(exc).__name__}: {exc}"
                print(message, file=self._stream or sys.stderr, flush=True)


def one_line(*reasons: str | None) -> str | None:
    """Reasons for a message, each once, in one line; None when there are none (an opt-out and
    its marker often fail for the same reason, which is said once)."""
    return "; ".join(dict.fromkeys(r for r in reasons if r)) or None
