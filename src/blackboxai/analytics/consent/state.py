"""The consent state file: read it suspiciously, write it atomically under a lock."""

from __future__ import annotations

import json
import os
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from blackboxai.analytics.consent.rules import Stored
from blackboxai.analytics.defaults import SESSION_LOCK_WAIT
from blackboxai.analytics.fileops import (
    LockTimeout,
    NotRegularFile,
    atomic_write,
    ensure_private_dir,
    lockable,
    locked,
    move_aside,
    read_regular,
)

__all__ = ["MARKER_FILE", "STATE_FILE", "State", "StateError", "StateStore", "parse_state"]

STATE_FILE = "analytics.json"
# While this exists, whatever is (or is not) in it, analytics are off: an opt-out is being
# stored, or analytics.json could not be written when it was (a full disk, a lock in the way).
MARKER_FILE = "analytics.disabled"
# A real state file is a few hundred bytes; anything far larger is not ours to parse.
_MAX_BYTES = 64 * 1024


class StateError(Exception):
    """The state could not be stored; the message is one line for the user."""


@dataclass(frozen=True)
class State:
    """What analytics.json holds. The first three keys are aider's, so its files read as ours.

    `generation` changes whenever consent starts, ends, the id is reset or waiting events are
    cleared: an event is sent only under the generation it was recorded in (consent.may_send).
    `catalogue_version` is the events catalogue the user agreed to (1 for files written before
    it existed), `declined` the catalogue items they said No to.
    """

    uuid: str | None = None
    asked_opt_in: bool = False
    permanently_disable: bool = False
    generation: int = 0
    catalogue_version: int = 1
    declined: tuple[str, ...] = ()
    problem: str | None = None  # set when the file exists but cannot be trusted
    marker: bool = False  # the opt-out is held by MARKER_FILE (see held_off)

    # -- the transitions an explicit choice makes (pure: the store writes the result) ----------
    def consented(self, version: int, new_id: str) -> State:
        """The question's Yes or `analytics on`: consent to catalogue `version`. Consent that
        starts anew starts a new generation, so nothing recorded before it is ever sent."""
        fresh = self.stored is not Stored.CONSENTED
        return State(
            uuid=self.uuid or new_id,
            asked_opt_in=True,
            generation=self.generation + 1 if fresh else self.generation,
            catalogue_version=version,
        )

    def opted_out(self) -> State:
        """A permanent opt-out: a new generation, so nothing waiting or in flight is sent.
        Opting out again changes nothing: nothing can be sent while it holds."""
        if self.stored is Stored.DISABLED:
            return self
        return replace(
            self, asked_opt_in=True, permanently_disable=True, generation=self.generation + 1
        )

    def id_reset(self, new_id: str) -> State:
        """A new anonymous id (if there was one); events under the old one are never sent."""
        return replace(self, uuid=new_id if self.uuid else None, generation=self.generation + 1)

    def cleared(self) -> State:
        """Waiting events deleted: a new generation, so none of them can come back."""
        return replace(self, generation=self.generation + 1)

    def reviewed(self, version: int, declined: tuple[str, ...]) -> State:
        """The answer to what the catalogue added: agreed to `version`, minus `declined`."""
        return replace(self, catalogue_version=version, declined=(*self.declined, *declined))

    def held_off(self) -> State:
        """The state every reader must act on while MARKER_FILE exists: opted out, whatever
        the file says, as opted_out() would have stored it (so a new generation)."""
        return replace(self.opted_out(), marker=True)

    @property
    def stored(self) -> Stored:
        if self.marker:  # an opt-out that could not be written yet still holds
            return Stored.DISABLED
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


def _count(value: object, least: int) -> bool:
    return type(value) is int and least <= value < 2**53


def parse_state(raw: bytes) -> State:
    """Interpret file content; anything odd yields a State with `problem` set."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return State(problem="it is not valid JSON")
    except RecursionError:
        return State(problem="it is nested too deeply")
    if not isinstance(data, dict):
        return State(problem="it is not a JSON object")
    asked = data.get("asked_opt_in", False)
    disabled = data.get("permanently_disable", False)
    ident = data.get("uuid")
    generation = data.get("generation", 0)
    version = data.get("catalogue_version", 1)
    declined = data.get("declined", [])
    # Strings like "true" are not true: only real booleans count.
    if not isinstance(asked, bool) or not isinstance(disabled, bool):
        return State(problem="asked_opt_in and permanently_disable must be true or false")
    if ident is not None and not _valid_uuid(ident):
        return State(problem="uuid is not a valid UUID")
    if ident is None and asked and not disabled:
        # Consent is made with its id (opt_in()), and aider writes the id on first run: a yes
        # without one was edited, or written by something else. Nothing can be sent without
        # an id, and none is made without an explicit choice: not consent, and said so.
        return State(problem="it records consent but no anonymous id; opt in again to make one")
    if not _count(generation, 0) or not _count(version, 1):
        return State(problem="generation and catalogue_version must be whole numbers")
    if not isinstance(declined, list) or not all(isinstance(d, str) for d in declined):
        return State(problem="declined must be a list of names")
    return State(ident, asked, disabled, generation, version, tuple(declined))


class StateStore:
    """analytics.json in the user data dir, its lock file, and the opt-out marker."""

    def __init__(self, directory: Path, *, lock_wait: float | None = SESSION_LOCK_WAIT) -> None:
        self.directory = directory
        self.lock_wait = lock_wait  # seconds update() waits for another holder; None: no limit
        self.path = directory / STATE_FILE
        self.lock_path = directory / f"{STATE_FILE}.lock"
        self.marker_path = directory / MARKER_FILE

    def load(self) -> State:
        """Never raises and never blocks: a missing file is fresh, anything else unreadable odd;
        with the marker present, opted out whatever the file says."""
        state = self._read()
        return state.held_off() if os.path.lexists(self.marker_path) else state

    def _read(self) -> State:
        try:
            raw = read_regular(self.path, _MAX_BYTES)
        except FileNotFoundError:
            return State()
        except NotRegularFile as exc:
            return State(problem=f"it is {exc.strerror}")
        except ValueError as exc:
            return State(problem=f"it is {exc}")
        except OSError as exc:
            return State(problem=f"it cannot be read ({exc.strerror or exc})")
        return parse_state(raw)

    def update(
        self,
        change: Callable[[State], State],
        *,
        overwrite_odd: bool = False,
        lock_wait: float | None = None,
    ) -> State:
        """Read-modify-write under the lock; raises StateError with a one-line reason.

        With `overwrite_odd`, an unusable file (torn, not JSON, a directory, a FIFO) is moved
        aside and the change applies to a fresh state: an explicit command must always land.
        The lock is waited for `lock_wait` seconds at most (default: the store's own)."""
        wait = self.lock_wait if lock_wait is None else lock_wait
        try:
            ensure_private_dir(self.directory)
            with locked(lockable(self.lock_path), timeout=wait):
                marked = os.path.lexists(self.marker_path)
                current = self._read()
                if current.problem is not None:
                    if not overwrite_odd:
                        raise StateError(f"{self.path} is unusable: {current.problem}")
                    current = State()
                current = current.held_off() if marked else current
                new = replace(change(current), marker=False)
                if not marked and new == current and self.path.is_file():
                    return new
                self._write(new)
                if marked:  # the file holds the opt-out now (or the user's later choice)
                    self._unmark()
                return new
        except StateError:
            raise
        except LockTimeout:
            raise StateError(f"{self.lock_path} is held by another process") from None
        except OSError as exc:
            where = exc.filename or self.path  # the data directory itself, when that is the trouble
            raise StateError(f"cannot write {where}: {exc.strerror or exc}") from None

    def hold_off(self) -> None:
        """Create the marker: from now on every reader takes analytics as opted out. It takes
        no lock and no disk space (an empty file), so it lands when analytics.json cannot."""
        try:
            ensure_private_dir(self.directory)
            flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            os.close(os.open(self.marker_path, flags | getattr(os, "O_NONBLOCK", 0), 0o600))
        except OSError as exc:
            if os.path.lexists(self.marker_path):  # something is there already: it counts
                return
            where = exc.filename or self.marker_path
            raise StateError(f"cannot write {where}: {exc.strerror or exc}") from None

    def _unmark(self) -> None:
        try:
            self.marker_path.unlink()
        except FileNotFoundError:
            pass
        except (IsADirectoryError, PermissionError):  # EPERM: a directory, on macOS
            move_aside(self.marker_path)

    def _write(self, state: State) -> None:
        if not self.path.is_file() and os.path.lexists(self.path):
            move_aside(self.path)  # only reached with overwrite_odd: the file was unusable
        body = {
            "uuid": state.uuid,
            "asked_opt_in": state.asked_opt_in,
            "permanently_disable": state.permanently_disable,
            "generation": state.generation,
            "catalogue_version": state.catalogue_version,
            "declined": list(state.declined),
        }
        atomic_write(self.path, (json.dumps(body, indent=2) + "\n").encode())
