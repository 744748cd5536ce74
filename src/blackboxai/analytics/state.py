"""The consent state file: read it suspiciously, write it atomically under a lock."""

from __future__ import annotations

import json
import os
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from blackboxai.analytics.consent import Stored
from blackboxai.analytics.fileops import atomic_write, ensure_private_dir, locked

__all__ = ["State", "StateError", "StateStore"]

STATE_FILE = "analytics.json"


class StateError(Exception):
    """The state could not be stored; the message is one line for the user."""


@dataclass(frozen=True)
class State:
    uuid: str | None = None
    asked_opt_in: bool = False
    permanently_disable: bool = False
    problem: str | None = None  # set when the file exists but cannot be trusted

    @property
    def stored(self) -> Stored:
        if self.problem is not None:
            return Stored.ODD
        if self.uuid is None and not self.asked_opt_in and not self.permanently_disable:
            return Stored.FRESH
        if self.permanently_disable:
            return Stored.DISABLED
        return Stored.CONSENTED if self.asked_opt_in else Stored.NOT_ASKED


def _valid_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except ValueError:
        return False


def parse_state(raw: bytes) -> State:
    """Interpret file content; anything odd yields a State with `problem` set."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return State(problem="it is not valid JSON")
    if not isinstance(data, dict):
        return State(problem="it is not a JSON object")
    asked = data.get("asked_opt_in", False)
    disabled = data.get("permanently_disable", False)
    ident = data.get("uuid")
    # Strings like "true" are not true: only real booleans count.
    if not isinstance(asked, bool) or not isinstance(disabled, bool):
        return State(problem="asked_opt_in and permanently_disable must be true or false")
    if ident is not None and not _valid_uuid(ident):
        return State(problem="uuid is not a valid UUID")
    return State(uuid=ident, asked_opt_in=asked, permanently_disable=disabled)


class StateStore:
    """analytics.json in the user data dir, plus its lock file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE
        self.lock_path = directory / f"{STATE_FILE}.lock"

    def load(self) -> State:
        """Never raises: a missing file is fresh, anything else unreadable is odd."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return State()
        except IsADirectoryError:
            return State(problem="its path is a directory")
        except OSError as exc:
            return State(problem=f"it cannot be read ({exc.strerror or exc})")
        return parse_state(raw)

    def update(self, change: Callable[[State], State], *, overwrite_odd: bool = False) -> State:
        """Read-modify-write under the lock; raises StateError with a one-line reason."""
        try:
            ensure_private_dir(self.directory)
            with locked(self.lock_path):
                current = self.load()
                if current.problem is not None:
                    if not overwrite_odd:
                        raise StateError(f"{self.path} is unusable: {current.problem}")
                    current = State()
                new = change(current)
                if new == current and self.path.is_file():
                    return new
                self._write(new)
                return new
        except StateError:
            raise
        except OSError as exc:
            raise StateError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def ensure_uuid(self) -> State:
        """Give this user an id on first use; concurrent first runs agree on one."""
        current = self.load()
        if current.uuid is not None or current.problem is not None:
            return current
        return self.update(lambda s: s if s.uuid else replace(s, uuid=str(uuidlib.uuid4())))

    def _write(self, state: State) -> None:
        body = {
            "uuid": state.uuid,
            "asked_opt_in": state.asked_opt_in,
            "permanently_disable": state.permanently_disable,
        }
        atomic_write(self.path, (json.dumps(body, indent=2) + "\n").encode())
        os.chmod(self.path, 0o600)
