"""Delivery: a detached process claims waiting events and sends them; failures wait."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from blackboxai.analytics.backends import Record, Sink, SinkError
from blackboxai.analytics.consent import Stored
from blackboxai.analytics.defaults import (
    UPLOAD_CONNECT_TIMEOUT,
    UPLOAD_LIFETIME,
    UPLOAD_READ_TIMEOUT,
    UPLOAD_RETRY_CAP,
)
from blackboxai.analytics.fileops import LockTimeout, atomic_write, locked
from blackboxai.analytics.spool import Spool
from blackboxai.analytics.state import StateStore

__all__ = ["Outcome", "UploadConfig", "deliver", "launch", "main"]

CONFIG_ENV = "BLACKBOXAI_UPLOAD_CONFIG"
# `python -m` and `-c` put the working directory first on sys.path, and a session's working
# directory is a project that may not be trusted: a `posthog/` or `requests.py` there must
# never be imported. Drop that entry before importing anything (`-P` exists only from 3.11).
BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "from blackboxai.analytics.upload import main; sys.exit(main())"
)
LAST_FILE = "upload.last.json"


@dataclass(frozen=True)
class UploadConfig:
    data_dir: str
    posthog: tuple[str, str] | None = None  # (host, project api key)
    mixpanel: tuple[str, str] | None = None  # (host, token)
    connect_timeout: float = UPLOAD_CONNECT_TIMEOUT
    read_timeout: float = UPLOAD_READ_TIMEOUT

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> UploadConfig:
        data = json.loads(text)
        ph, mp = data.get("posthog"), data.get("mixpanel")
        return cls(
            str(data["data_dir"]),
            (str(ph[0]), str(ph[1])) if ph else None,
            (str(mp[0]), str(mp[1])) if mp else None,
            float(data.get("connect_timeout", UPLOAD_CONNECT_TIMEOUT)),
            float(data.get("read_timeout", UPLOAD_READ_TIMEOUT)),
        )


@dataclass
class Outcome:
    """What one delivery run did, per backend; saved for `analytics status`."""

    sent: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    discarded: int = 0  # opted out or reset-id while waiting: deleted, never sent
    busy: bool = False  # another uploader held the lock


def make_sinks(config: UploadConfig) -> tuple[dict[str, Sink], dict[str, str]]:
    """Build the configured adapters; an SDK that fails to load is reported, not raised."""
    sinks: dict[str, Sink] = {}
    errors: dict[str, str] = {}
    timeouts = (config.connect_timeout, config.read_timeout)
    if config.posthog:
        try:
            from blackboxai.analytics.backends.posthog_sink import PostHogSink

            sinks["posthog"] = PostHogSink(*config.posthog, *timeouts)
        except Exception as exc:
            errors["posthog"] = f"unavailable ({type(exc).__name__})"
    if config.mixpanel:
        try:
            from blackboxai.analytics.backends.mixpanel_sink import MixpanelSink

            sinks["mixpanel"] = MixpanelSink(*config.mixpanel, *timeouts)
        except Exception as exc:
            errors["mixpanel"] = f"unavailable ({type(exc).__name__})"
    return sinks, errors


def _send_with_retry(sink: Sink, batch: list[Record], sleep: Callable[[float], None]) -> None:
    """At most two attempts: a second only for answers worth retrying, after a short capped wait."""
    try:
        sink.send(batch)
    except SinkError as exc:
        if exc.kind != "retry":
            raise
        sleep(min(exc.retry_after if exc.retry_after is not None else 1.0, UPLOAD_RETRY_CAP))
        sink.send(batch)
    except Exception as exc:  # an SDK that changed or broke: same as a failed network
        raise SinkError("network", f"SDK error {type(exc).__name__}") from None


def _consented(store: StateStore) -> str | None:
    """The current uuid if sending is still allowed right now, else None."""
    state = store.load()
    return state.uuid if state.stored is Stored.CONSENTED else None


def _still_owned(store: StateStore, owner: object) -> bool:
    """Sending is still allowed, and still for the same anonymous id."""
    return _consented(store) == owner


def _read_records(path: Path) -> list[Record]:
    records: list[Record] = []
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # an opt-out cleared it under us
        return records
    with handle:
        for line in handle:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and "id" in record and "event" in record:
                    records.append(record)
    return records


def _deliver_file(
    path: Path,
    sinks: dict[str, Sink],
    configured: set[str],
    store: StateStore,
    outcome: Outcome,
    sleep: Callable[[float], None],
) -> list[Record]:
    """Send one claimed file; returns the records still owed to some backend."""
    records = _read_records(path)
    uuid = _consented(store)
    owed: dict[str, set[str]] = {}
    for record in records:
        targets = record.get("to")
        wanted = set(targets) if isinstance(targets, list) else set()
        # A backend no longer configured is dropped; one configured but broken (its SDK failed
        # to import or construct) keeps its events for a later run.
        owed[str(record["id"])] = wanted & configured
    for name, sink in sinks.items():
        mine = [r for r in records if name in owed[str(r["id"])]]
        for start in range(0, len(mine), sink.max_batch):
            uuid = _consented(store)
            if uuid is None:  # the user opted out while we were sending: stop, send nothing more
                outcome.discarded += len(records)
                return []
            batch = [r for r in mine[start : start + sink.max_batch] if r.get("user_id") == uuid]
            outcome.discarded += sum(
                1 for r in mine[start : start + sink.max_batch] if r.get("user_id") != uuid
            )
            if not batch:
                continue
            outcome.requests[name] = outcome.requests.get(name, 0) + 1
            try:
                _send_with_retry(sink, batch, sleep)
            except SinkError as exc:
                outcome.errors[name] = exc.detail
                if exc.kind == "rejected":
                    outcome.rejected[name] = outcome.rejected.get(name, 0) + len(batch)
                    for r in batch:
                        owed[str(r["id"])].discard(name)
                    continue
                break  # network trouble: stop trying this backend for the rest of the run
            outcome.sent[name] = outcome.sent.get(name, 0) + len(batch)
            for r in batch:
                owed[str(r["id"])].discard(name)
    if uuid is None:
        outcome.discarded += len(records)
        return []
    left = []
    for record in records:
        remaining = owed[str(record["id"])]
        if remaining and record.get("user_id") == uuid:
            left.append({**record, "to": sorted(remaining)})
            for name in remaining:
                outcome.kept[name] = outcome.kept.get(name, 0) + 1
    return left


def deliver(
    config: UploadConfig,
    *,
    sinks: dict[str, Sink] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """One run under the upload lock: claim by rename, send, put back what is still owed."""
    directory = Path(config.data_dir)
    spool, store, outcome = Spool(directory), StateStore(directory), Outcome()
    try:
        with locked(directory / "upload.lock", timeout=0):
            return _deliver_locked(config, directory, spool, store, outcome, sinks, sleep)
    except LockTimeout:
        outcome.busy = True
        return outcome


def _deliver_locked(
    config: UploadConfig,
    directory: Path,
    spool: Spool,
    store: StateStore,
    outcome: Outcome,
    sinks: dict[str, Sink] | None,
    sleep: Callable[[float], None],
) -> Outcome:
    spool.claim()
    if not spool.claimed():
        return outcome
    built: dict[str, Sink] = {}
    if sinks is None:
        built, outcome.errors = make_sinks(config)
    active = sinks if sinks is not None else built
    configured = set(active) | {
        n for n, c in (("posthog", config.posthog), ("mixpanel", config.mixpanel)) if c
    }
    try:
        # Events spooled while we send are picked up too, for a few rounds; after any
        # failure we stop, or we would resend what we just put back.
        for _ in range(3):
            for path in spool.claimed():
                left = _deliver_file(path, active, configured, store, outcome, sleep)
                if left:
                    owner = left[0].get("user_id")  # all of `left` belongs to one uuid
                    spool.append(
                        [json.dumps(r, separators=(",", ":")) for r in left],
                        still_wanted=functools.partial(_still_owned, store, owner),
                    )
                path.unlink(missing_ok=True)  # a kill before this: a resend (at-least-once)
            if outcome.errors:
                break
            spool.claim()
            if not spool.claimed():
                break
    finally:
        for sink in built.values():
            with contextlib.suppress(Exception):
                sink.close()
    _save_outcome(directory, outcome)
    return outcome


def _save_outcome(directory: Path, outcome: Outcome) -> None:
    body = {"time": int(time.time()), **asdict(outcome)}
    with contextlib.suppress(OSError):
        atomic_write(directory / LAST_FILE, json.dumps(body).encode())


def launch(config: UploadConfig) -> int:
    """Start the uploader detached: own session, stdio on /dev/null, nothing to wait on."""
    env = dict(os.environ)
    env[CONFIG_ENV] = config.to_json()
    argv = [sys.executable, "-c", BOOTSTRAP]
    devnull = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
    ]
    try:
        return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setsid=True)
    except (AttributeError, NotImplementedError, OSError, TypeError):
        import subprocess

        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ).pid


def main() -> int:
    """Entry point of the detached process; bounded lifetime, silent SDK loggers."""
    import logging
    import signal

    if hasattr(signal, "alarm"):
        signal.alarm(UPLOAD_LIFETIME)
    for name in ("posthog", "mixpanel", "urllib3", "requests"):
        logging.getLogger(name).disabled = True
    try:
        config = UploadConfig.from_json(os.environ[CONFIG_ENV])
    except (KeyError, ValueError, TypeError):
        return 2
    deliver(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
