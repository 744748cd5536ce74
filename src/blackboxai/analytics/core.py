"""The Analytics object: consent state, the anonymous id, and an event() that stays local."""

from __future__ import annotations

# Only os, sys and time at import: on a slow machine `import json` alone costs ~15 ms (it pulls
# in `re`), and this module sits on every session's path to the prompt. The rest loads on use.
import os
import sys
import time

from blackboxai.analytics.defaults import (
    ASK_PERCENT,
    BUFFER_EVENTS,
    MIXPANEL_DEFAULT_HOST,
    POSTHOG_DEFAULT_HOST,
    POSTHOG_PROJECT_API_KEY,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from types import TracebackType
    from typing import Any, TextIO

    from blackboxai.analytics.auditlog import AuditLog
    from blackboxai.analytics.consent import Decision
    from blackboxai.analytics.spool import Spool
    from blackboxai.analytics.state import State, StateStore
    from blackboxai.analytics.upload import UploadConfig

__all__ = ["Analytics", "new_event_id"]

# Launch the uploader mid-session once this many events were spooled by this process.
_LAUNCH_AFTER = 2_000


def new_event_id() -> str:
    """A UUID4 string from os.urandom, without paying for `import uuid` on the start-up path."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Analytics:
    """Opt-in, anonymous analytics. No public method raises into the host."""

    def __init__(
        self,
        *,
        logfile: str | os.PathLike[str] | None = None,
        permanently_disable: bool = False,
        posthog_host: str | None = None,
        posthog_project_api_key: str | None = None,
        mixpanel_token: str | None = None,
        mixpanel_host: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        debug: bool = False,
        debug_stream: TextIO | None = None,
    ) -> None:
        self.reporting = False
        self.debug = debug
        self.failures = 0  # contained errors, for the debug setting and tests
        self.last_error: str | None = None
        self.decision: Decision | None = None
        self._debug_stream = debug_stream
        self._warned: set[str] = set()
        self._buffer: list[str] = []
        self._spooled = 0
        self._launched = False
        self._children: list[int] = []  # uploaders we started, reaped so none lingers as a zombie
        self._spool: Spool | None = None
        self._names: dict[str, str] = {}  # event name -> scrubbed name
        self._session_id: str | None = None
        posthog_key = posthog_project_api_key or POSTHOG_PROJECT_API_KEY
        self.posthog = (posthog_host or POSTHOG_DEFAULT_HOST, posthog_key) if posthog_key else None
        self.mixpanel = (
            (mixpanel_host or MIXPANEL_DEFAULT_HOST, mixpanel_token) if mixpanel_token else None
        )
        # Each event names its destinations (Backend.to_json()) when recorded: later settings
        # never redirect it. json is loaded by the state file's module just below anyway.
        import json

        self._targets = [
            {"name": name, "host": pair[0], "key": pair[1]}
            for name, pair in (("posthog", self.posthog), ("mixpanel", self.mixpanel))
            if pair is not None
        ]
        self._to_prefix = '{"to":' + json.dumps(self._targets, separators=(",", ":")) + ","
        self._log: AuditLog | None = None
        self.log_error: str | None = None
        if logfile is not None:
            self._open_log(os.fspath(logfile))
        self._data_dir = _as_path(data_dir) if data_dir is not None else None
        self._store: StateStore | None = None
        self.state = self._load_state()
        if permanently_disable:
            self.disable(permanently=True)

    # -- state -------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            from blackboxai.analytics.paths import default_data_dir

            self._data_dir = default_data_dir()
        return self._data_dir

    @property
    def store(self) -> StateStore:
        if self._store is None:
            from blackboxai.analytics.state import StateStore

            self._store = StateStore(self.data_dir)
        return self._store

    @property
    def state_path(self) -> Path:
        return self.store.path

    def _load_state(self) -> State:
        from blackboxai.analytics.state import State

        try:
            return self.store.load()
        except Exception as exc:  # e.g. no home directory at all
            self._contain("state", exc)
            return State(problem=f"it cannot be located ({type(exc).__name__})")

    @property
    def user_id(self) -> str:
        """The stored anonymous uuid, made on first use; a throwaway one if it cannot be stored."""
        if self.state.uuid is not None:
            return self.state.uuid
        if self.state.problem is None:
            try:
                self.state = self.store.ensure_uuid()
            except Exception as exc:
                self._contain("state", exc)
        if self.state.uuid is not None:
            return self.state.uuid
        if self._session_id is None:
            self._session_id = new_event_id()
        return self._session_id

    def _store_change(self, **changes: Any) -> bool:
        from dataclasses import replace

        from blackboxai.analytics.state import StateError

        overwrite_odd = changes.pop("overwrite_odd", False)

        def change(current: State) -> State:
            fresh = replace(current, **changes)
            return fresh if fresh.uuid else replace(fresh, uuid=new_event_id())

        try:
            self.state = self.store.update(change, overwrite_odd=overwrite_odd)
        except StateError as exc:
            self.last_error = str(exc)
            return False
        except Exception as exc:
            self._contain("state", exc)
            self.last_error = f"cannot store analytics settings: {type(exc).__name__}"
            return False
        self.last_error = None
        return True

    # -- consent -----------------------------------------------------------------
    def decide(
        self,
        args_analytics: bool | None,
        *,
        env: Mapping[str, str] | None = None,
        tty: bool | None = None,
        flag_source: str = "--analytics",
    ) -> Decision:
        """Apply the consent rules to this user's stored state and the session's inputs."""
        from blackboxai.analytics.consent import decide, do_not_track, in_ci, in_rollout

        env = os.environ if env is None else env
        if tty is None:
            tty = _isatty(sys.stdin) and _isatty(sys.stdout)
        self.decision = decide(
            self.state.stored,
            args_analytics,
            flag_source=flag_source,
            dnt=do_not_track(env),
            ci=in_ci(env),
            tty=tty,
            rollout=in_rollout(self.state.uuid, ASK_PERCENT),
        )
        return self.decision

    def need_to_ask(self, args_analytics: bool | None) -> bool:
        return self.decide(args_analytics).ask

    def enable(self) -> bool:
        """Report in this session, but only on top of stored consent."""
        from blackboxai.analytics.consent import Stored

        self.reporting = self.state.stored is Stored.CONSENTED
        return self.reporting

    def opt_in(self) -> bool:
        """Store consent (the question's Yes, or `analytics on`) and report from now on."""
        ok = self._store_change(asked_opt_in=True, permanently_disable=False, overwrite_odd=True)
        return ok and self.enable()

    def disable(self, permanently: bool) -> bool:
        """Stop reporting; permanently also stores the opt-out and deletes waiting events."""
        self.reporting = False
        self._buffer.clear()
        if not permanently:
            return True
        ok = self._store_change(asked_opt_in=True, permanently_disable=True, overwrite_odd=True)
        if ok:
            self.clear_pending()
        return ok

    def reset_id(self) -> bool:
        """A new anonymous id; events waiting under the old one are dropped."""
        from blackboxai.analytics.state import State

        if self.state.problem is not None:  # it might hold an opt-out we cannot read: keep it
            self.last_error = (
                f"{self.state_path} is unusable ({self.state.problem}); "
                "run `blackboxai analytics off` or `on` to start it afresh"
            )
            return False
        self._buffer.clear()
        old = self.state
        self.state = State(
            asked_opt_in=old.asked_opt_in, permanently_disable=old.permanently_disable
        )
        ok = self._store_change(uuid=new_event_id(), overwrite_odd=True)
        if ok:
            self.clear_pending()
        else:
            self.state = old
        return ok

    # -- events ------------------------------------------------------------------
    def event(self, event_name: str, **properties: object) -> None:
        """Record one event: scrub, stamp, log, queue it if this session reports. All local."""
        try:
            self._event(event_name, properties)
        except Exception as exc:
            self._contain("event", exc)

    def _event(self, name: str, properties: Mapping[str, object]) -> None:
        import json

        from blackboxai.analytics.scrub import scrub_properties
        from blackboxai.analytics.system import system_properties

        props = scrub_properties(properties)
        props.update(system_properties())
        record = {
            "event": self._event_name(name),
            "properties": props,
            "user_id": self.user_id,
            "time": round(time.time(), 3),  # milliseconds: the order within a second stays
            "id": new_event_id(),
        }
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        if self._log is not None:
            self._write_log(line)
        if self.debug:
            verdict = "would send" if self.reporting else "not sending"
            self._say(f"analytics debug: {verdict}: {line}", force=True)
        elif self.reporting:
            self._buffer.append(self._to_prefix + line[1:])
            if len(self._buffer) >= BUFFER_EVENTS:
                self._flush()

    def _event_name(self, name: object) -> str:
        """Names are literals at call sites; scrub them anyway, once each, in case one is not."""
        key = str(name)[:100]
        clean = self._names.get(key)
        if clean is None:
            from blackboxai.analytics.scrub import scrub_text

            clean = scrub_text(key)[:100]
            if len(self._names) < 1000:
                self._names[key] = clean
        return clean

    def _open_log(self, path: str) -> None:
        from blackboxai.analytics.auditlog import LogError, open_log

        try:
            self._log = open_log(path)
        except LogError as exc:
            self.log_error = str(exc)

    def _write_log(self, line: str) -> None:
        assert self._log is not None
        try:
            self._log.write_line(line)
        except OSError as exc:
            path = self._log.path
            self._log.close()
            self._log = None
            self._contain("log", exc)
            self._say(f"blackboxai: analytics log {path} stopped: {exc.strerror or exc}", key="log")

    # -- spool and delivery ------------------------------------------------------
    @property
    def spool(self) -> Spool:
        from blackboxai.analytics.spool import Spool

        if self._spool is None:  # one instance, so its amortised bound check carries across flushes
            self._spool = Spool(self.data_dir)
        return self._spool

    def _flush(self) -> None:
        lines, self._buffer = self._buffer, []
        if not lines:
            return
        try:
            self.spool.append(lines)
            self._spooled += len(lines)
        except Exception as exc:
            self._contain("spool", exc)
            return
        self._reap()
        if self._spooled >= _LAUNCH_AFTER and not self._launched:
            self._launch()

    def upload_config(self) -> UploadConfig:
        """What a delivery run needs to know: where the spool is (each event names its own
        destination), with the default bounds."""
        from blackboxai.analytics.upload import UploadConfig

        return UploadConfig(str(self.data_dir))

    def _launch(self) -> None:
        from blackboxai.analytics.upload import launch

        try:
            pid = launch(self.upload_config())
            self._launched = True
            if pid:
                self._children.append(pid)
        except Exception as exc:
            self._contain("launch", exc)

    def _reap(self) -> None:
        """Collect uploaders that have finished; never waits for one that has not."""
        for pid in list(self._children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self._children.remove(pid)

    def pending_count(self) -> int:
        try:
            return self.spool.count()
        except Exception:
            return 0

    def clear_pending(self) -> int:
        try:
            return self.spool.clear()
        except Exception as exc:
            self._contain("spool", exc)
            return 0

    def close(self) -> None:
        """Move queued events to disk for a detached uploader; never waits on the network."""
        try:
            # Deliver only when this session's decision allows it: `analytics on` run under
            # DO_NOT_TRACK stores consent, but must not send anything itself.
            allowed = self.decision is None or self.decision.report
            if self.reporting and allowed and not self.debug:
                self._flush()
                self._reap()
                if self.pending_count() > 0:
                    self._launch()
        except Exception as exc:
            self._contain("close", exc)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> Analytics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- containment -------------------------------------------------------------
    def _contain(self, where: str, exc: BaseException) -> None:
        """Count a failure; show it only with the debug setting (the terminal stays clean)."""
        self.failures += 1
        if self.debug:
            self._say(f"analytics debug: {where} failed: {type(exc).__name__}: {exc}", force=True)

    def _say(self, message: str, *, key: str | None = None, force: bool = False) -> None:
        if key is not None:
            if key in self._warned:
                return
            self._warned.add(key)
        stream = self._debug_stream or sys.stderr
        try:  # noqa: SIM105 - contextlib would add an import to the start-up path
            print(message, file=stream, flush=True)
        except Exception:
            pass


def _as_path(value: str | os.PathLike[str]) -> Path:
    from pathlib import Path

    return Path(value)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except Exception:
        return False
