"""A session's life: consent, then `launched`, the work, and `exit` on every way out."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from blackboxai.analytics import Analytics
from blackboxai.choice import apply_disable, decide, resolve_consent
from blackboxai.config.settings import Settings
from blackboxai.config.trust import user_home
from blackboxai.terminal import escaped, say, silence_stdout

__all__ = [
    "StartError",
    "decide",
    "make_analytics",
    "prepare",
    "run",
    "run_session",
    "wants_opt_out",
]


class StartError(Exception):
    """Start-up cannot go on: one line for the user and the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def wants_opt_out(args: list[str]) -> bool:
    """Whether a subcommand line is `analytics off` (not its --help)."""
    return args[:2] == ["analytics", "off"] and not {"-h", "--help"} & set(args[2:])


def asks_opt_out(argv: list[str]) -> bool:
    """Whether a whole command line asks for a permanent opt-out, read before any parser can
    refuse it: `--analytics-disable` (even misused) before `--`, or `analytics off`."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    if any(w == "--analytics-disable" or w.startswith("--analytics-disable=") for w in words):
        return True
    return asks_off(argv)


def asks_off(argv: list[str]) -> bool:
    """Whether a whole command line is (or holds) `analytics off`, which always answers."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return any(wants_opt_out(words[i:]) for i, w in enumerate(words) if w == "analytics")


def store_opt_out(*, confirm: bool = False) -> int | None:
    """Store a permanent opt-out with nothing but the defaults (no settings are read, so no
    broken setting can stop it); an exit status if it could not be stored, said on stderr.
    `confirm`: say the state even when nothing changed (`analytics off`)."""
    first = Analytics()
    failed = apply_disable(first, confirm=confirm)
    first.close()
    return failed


def prepare(
    cli_values: dict[str, object],
    *,
    config: Path | None,
    opt_out: bool = False,
    session: bool = True,
    tried: bool = False,
) -> tuple[Settings, Analytics]:
    """Settings from every source, then the Analytics object. A requested opt-out (`opt_out`:
    `--analytics-disable` or `analytics off` on the command line) is stored before anything
    else is read, so no broken config file, log path or backend setting can block it.
    `tried`: cli.main() already stored it, or said in one line why it could not; it is not
    tried (nor said) again, and the command stops if it did not land.
    Subcommands (`session=False`) record no events, so they do not open the audit log.
    The machine's policy is read before any setting: what it locks, nothing below undoes."""
    from blackboxai.config.settings import ConfigError, load_settings
    from blackboxai.policy import system_policy

    failed = store_opt_out() if opt_out else None
    policy = system_policy()
    try:
        settings = load_settings(
            cli_values, env=os.environ, home=_home(), config=config, policy=policy
        )
    except ConfigError as exc:
        raise StartError(str(exc)) from None
    if failed is not None:
        raise StartError("", failed)  # apply_disable said why
    for warning in settings.warnings:
        say(warning)
    tracker = make_analytics(settings, log=session)
    for problem in tracker.warnings:  # a team collector's variables that could not be used
        say(f"blackboxai: {escaped(problem)}")
    # Before any subcommand: an opt-out always holds (stored above already when requested).
    if settings.analytics_disable and not opt_out:
        code = _landed(tracker) if tried else apply_disable(tracker)
        if code is not None:
            tracker.close()
            raise StartError("", code)
    if tracker.log_error:
        tracker.close()
        raise StartError(tracker.log_error)
    return settings, tracker


def _landed(tracker: Analytics) -> int | None:
    """None if the opt-out cli.main() stored holds; else exit status 1 (it said why)."""
    from blackboxai.analytics.consent.rules import Stored

    return None if tracker.state.stored is Stored.DISABLED else 1


def run(
    settings: Settings,
    tracker: Analytics,
    *,
    files: list[str],
    message: str | None,
    exit_now: bool,
) -> int:
    """A whole session: consent (and the questions), the work, and its exit code."""
    from blackboxai.question import ask_new_items, ask_opt_in

    def status() -> str:  # for /analytics: loaded when asked for, not on every start
        from blackboxai.analytics.views.status import collect_status, render_status

        return render_status(collect_status(tracker))

    resolve_consent(tracker, settings, ask=ask_opt_in, ask_new=ask_new_items)
    return run_session(
        tracker, settings, files=files, message=message, exit_now=exit_now, status=status
    )


def _home() -> Path:
    home = user_home()
    if home is None:
        raise StartError("cannot find your home directory: set HOME")
    return home


def make_analytics(settings: Settings, *, log: bool = True) -> Analytics:
    return Analytics(
        logfile=settings.analytics_log if log else None,
        posthog_host=settings.analytics_posthog_host,
        posthog_project_api_key=settings.analytics_posthog_project_api_key,
        mixpanel_token=settings.analytics_mixpanel_token,
        mixpanel_host=settings.analytics_mixpanel_host,
        otlp_endpoint=settings.analytics_otlp_endpoint,
        otlp_protocol=settings.analytics_otlp_protocol,
        otlp_headers=settings.analytics_otlp_headers,
        debug=bool(settings.analytics_debug),
        policy=settings.policy,
    )


def run_session(
    analytics: Analytics,
    settings: Settings,
    *,
    files: list[str],
    message: str | None,
    exit_now: bool,
    status: Callable[[], str],
) -> int:
    """Run the host program; whatever happens, record why it ended and hand events off."""
    from blackboxai.analytics.record.frames import exception_properties

    started = time.monotonic()
    analytics.event("launched")
    reason, code = "exit_flag", 0
    restore = _exit_on_hangup()
    try:
        if not exit_now:
            reason, code = _work(analytics, settings, files, message, status)
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            print()
        reason, code = "ctrl_c", 130
    except Terminated as stop:
        reason, code = "terminated", 128 + stop.signum
    except BrokenPipeError:  # our reader went away (`| head`): end quietly, it is no crash
        silence_stdout()
        reason, code = "broken_pipe", 1
    except Exception as exc:
        analytics.event("exception", **exception_properties(exc))
        say(f"blackboxai: unexpected error: {type(exc).__name__}: {exc}")
        reason, code = "error", 1
    finally:
        restore()
        duration = round(time.monotonic() - started, 1)
        analytics.event("exit", reason=reason, duration_s=duration)
        analytics.close()
    return code


class Terminated(BaseException):
    """SIGTERM or SIGHUP (the terminal closed): end like any other exit, events kept. Not an
    Exception, like KeyboardInterrupt: no `except Exception` (the analytics layer contains its
    own failures with one) may swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _exit_on_hangup() -> Callable[[], None]:
    """Turn SIGTERM and SIGHUP into Terminated so `finally` runs; returns the undo."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP", "SIGBREAK"):  # SIGBREAK: Ctrl-Break on Windows
        signum = getattr(signal, name, None)
        if signum is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread: leave it
                previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, old)

    return restore


def _work(
    analytics: Analytics,
    settings: Settings,
    files: list[str],
    message: str | None,
    status: Callable[[], str],
) -> tuple[str, int]:
    from blackboxai.session import Session, SessionConfig

    root = Path.cwd()
    # Relative names stay relative, so the session can tell a name the user typed from a
    # target they chose (a symlink leading out of the project is refused, not followed). A
    # leading ~ reached us unexpanded (quoted): it is a name in this directory.
    paths = tuple(root / f if f.startswith("~") else Path(f) for f in [*settings.file, *files])
    config = SessionConfig(
        model=settings.model,
        edit_format=settings.edit_format,
        api_base=settings.openai_api_base,
        api_key=settings.openai_api_key,
        files=paths,
        root=root,
    )
    session = Session(config, analytics, status=status)
    session.check_model()
    if message is not None:
        ok = session.run_message(message)
        return ("message_sent", 0) if ok else ("message_failed", 1)
    return session.run_loop(), 0
