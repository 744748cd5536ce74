"""The interactive session: sends messages, applies edits, runs slash commands, counts usage."""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from blackboxai.session.edits import EDIT_FORMATS, EditResult, apply_edits, display_path
from blackboxai.session.llm import LLMError, build_messages, complete

__all__ = ["Analytics", "Session", "SessionConfig", "resolve_chat_path"]

_HELP = """Commands:
  /add PATH...     add files to the chat
  /drop [PATH...]  remove files from the chat (all when no path is given)
  /ls              list the files in the chat
  /model [NAME]    show or switch the model
  /tokens          show the tokens used in this session
  /analytics       show the analytics status
  /help            show this help
  /exit            end the session
Anything else is sent to the model."""


class Analytics(Protocol):
    """The one call the session needs from the analytics layer; it never raises."""

    def event(self, event_name: str, **properties: object) -> None: ...


@dataclass(frozen=True)
class SessionConfig:
    """What a session starts with; the CLI builds it from options and environment."""

    model: str = "gpt-4o-mini"
    edit_format: str = "whole"
    api_base: str | None = None
    api_key: str | None = None
    files: tuple[Path, ...] = ()
    root: Path = field(default_factory=Path.cwd)
    timeout: float = 60.0


def resolve_chat_path(raw: str, root: Path) -> Path | str:
    """The resolved path for /add, or an error line: relative paths must stay inside root."""
    root = root.resolve()
    given = Path(raw).expanduser()
    path = (root / given).resolve()
    if not given.is_absolute() and not path.is_relative_to(root):
        return f"{raw} is outside the working directory; use an absolute path."
    if path.is_dir():
        return f"{raw} is a directory; add files one by one."
    return path


def _print_err(text: str) -> None:
    print(text, file=sys.stderr)


class Session:
    """One chat with the model over a set of files; real work produces analytics events."""

    def __init__(
        self,
        config: SessionConfig,
        analytics: Analytics,
        *,
        out: Callable[[str], None] = print,
        err: Callable[[str], None] = _print_err,
        status: Callable[[], str] | None = None,
    ) -> None:
        if config.edit_format not in EDIT_FORMATS:
            raise ValueError(f"edit_format must be one of {EDIT_FORMATS}: {config.edit_format!r}")
        self.config = config
        self.analytics = analytics
        self.out = out
        self.err = err
        self.status = status
        self.root = config.root.resolve()
        self.files: list[Path] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.total_tokens = 0
        for path in config.files:
            added = resolve_chat_path(str(path), self.root)
            if isinstance(added, str):
                self.err(added)
            elif added not in self.files:
                self.files.append(added)

    @property
    def model(self) -> str:
        return self.config.model

    def _shown(self, path: Path) -> str:
        return display_path(path, self.root)

    def check_model(self) -> None:
        """Warn once when the model is not a known public one: counts and edits may be off."""
        from blackboxai.analytics.scrub import redact_model

        # One definition of "known": the name the analytics layer would keep as it is.
        if not redact_model(self.model).endswith("/REDACTED"):
            return
        self.err(f"Warning: unknown model {self.model}; token counts and edit quality may vary.")
        self.analytics.event("model warning", main_model=self.config.model)

    def _chat_contents(self) -> list[tuple[str, str | None]]:
        contents: list[tuple[str, str | None]] = []
        for path in self.files:
            try:
                text: str | None = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = None
            except OSError as exc:
                self.err(f"Could not read {self._shown(path)}: {exc.strerror or exc}; skipped.")
                continue
            contents.append((self._shown(path), text))
        return contents

    def send(self, message: str) -> bool:
        """Send one message, print the reply, apply its edits; False when the endpoint failed."""
        messages = build_messages(self.config.edit_format, self._chat_contents(), message)
        started = time.monotonic()
        try:
            reply = complete(
                self.config.api_base, self.config.api_key, self.model, messages, self.config.timeout
            )
        except LLMError as exc:
            self.err(f"Error: {exc.message}")
            self.analytics.event("api_error", error_class=exc.error_class, status=exc.status)
            return False
        duration = round(time.monotonic() - started, 3)
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.total_tokens += reply.total_tokens
        # Edits and events first: a closed stdout (`... | true`) must not cost the user the edit.
        result = apply_edits(reply.content, self.config.edit_format, self.root, self.files)
        self.analytics.event(
            "message_send",
            main_model=self.model,
            edit_format=self.config.edit_format,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            total_tokens=reply.total_tokens,
            duration_s=duration,
        )
        self._edit_events(result)
        self.out(reply.content)
        for path in result.changed:
            self.out(f"Applied edit to {self._shown(path)}.")
        for failure in result.failures:
            self.err(failure.message)
        return True

    def _edit_events(self, result: EditResult) -> None:
        if result.blocks_applied:
            self.analytics.event(
                "edit_applied",
                edit_format=self.config.edit_format,
                files_changed=result.files_changed,
                blocks=result.blocks_applied,
            )
        if result.failures:
            self.analytics.event(
                "edit_failed",
                edit_format=self.config.edit_format,
                blocks_failed=result.blocks_failed,
                reason=result.reason,
            )

    def run_command(self, line: str) -> bool:
        """Run one /command; False only when the session should end."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        name, args = (words[0], words[1:]) if words else ("/", [])
        handlers: dict[str, Callable[[list[str]], bool]] = {
            "/add": self._cmd_add,
            "/drop": self._cmd_drop,
            "/ls": self._cmd_ls,
            "/model": self._cmd_model,
            "/tokens": self._cmd_tokens,
            "/help": self._cmd_help,
            "/exit": self._cmd_exit,
            "/analytics": self._cmd_analytics,
        }
        handler = handlers.get(name)
        if handler is None:
            self.err(f"Unknown command {name}. Type /help.")
            self.analytics.event("command_unknown")
            return True
        return handler(args)

    def _cmd_add(self, args: list[str]) -> bool:
        if not args:
            self.err("Usage: /add PATH...")
        for raw in args:
            path = resolve_chat_path(raw, self.root)
            if isinstance(path, str):
                self.err(path)
            elif path in self.files:
                self.out(f"{self._shown(path)} is already in the chat.")
            else:
                self.files.append(path)
                new = "" if path.exists() else " (new file)"
                self.out(f"Added {self._shown(path)} to the chat{new}.")
        self.analytics.event("command_add")
        return True

    def _cmd_drop(self, args: list[str]) -> bool:
        if not args:
            self.files.clear()
            self.out("Dropped all files from the chat.")
        for raw in args:
            path = (self.root / Path(raw).expanduser()).resolve()
            if path in self.files:
                self.files.remove(path)
                self.out(f"Dropped {self._shown(path)} from the chat.")
            else:
                self.err(f"{raw} is not in the chat.")
        self.analytics.event("command_drop")
        return True

    def _cmd_ls(self, args: list[str]) -> bool:
        if self.files:
            self.out("Files in the chat:")
            for path in self.files:
                self.out(f"  {self._shown(path)}")
        else:
            self.out("No files in the chat.")
        self.analytics.event("command_ls")
        return True

    def _cmd_model(self, args: list[str]) -> bool:
        if args:
            self.config = dataclasses.replace(self.config, model=args[0])
        self.out(f"Model set to {self.model}." if args else f"Model: {self.model}")
        self.analytics.event("command_model", main_model=self.model)
        if args:
            self.check_model()
        return True

    def _cmd_tokens(self, args: list[str]) -> bool:
        self.out(
            f"Tokens used this session: prompt {self.prompt_tokens}, "
            f"completion {self.completion_tokens}, total {self.total_tokens}."
        )
        self.analytics.event("command_tokens")
        return True

    def _cmd_help(self, args: list[str]) -> bool:
        self.out(_HELP)
        self.analytics.event("command_help")
        return True

    def _cmd_exit(self, args: list[str]) -> bool:
        self.analytics.event("command_exit")
        return False

    def _cmd_analytics(self, args: list[str]) -> bool:
        self.out(self.status() if self.status is not None else "Analytics status is unavailable.")
        self.analytics.event("command_analytics")
        return True

    def _start(self) -> None:
        self.analytics.event(
            "cli session",
            main_model=self.model,
            edit_format=self.config.edit_format,
            files_in_chat=len(self.files),
        )

    def run_loop(self, read: Callable[[str], str] | None = None) -> str:
        """Read lines (default: input(), looked up now) until /exit or EOF; returns the reason."""
        self._start()
        if read is None and sys.stdin is not None:
            # A stray non-UTF-8 byte in piped input must not end the session with an error.
            with contextlib.suppress(AttributeError, ValueError):
                sys.stdin.reconfigure(errors="replace")  # type: ignore[union-attr]
        while True:
            if read is None and sys.stdin is None:  # `<&-`: no stdin at all is end of input
                return "eof"
            try:
                line = (input if read is None else read)("> ").strip()
            except EOFError:
                return "eof"
            if not line:
                continue
            if line.startswith("/"):
                if not self.run_command(line):
                    return "exit_command"
            else:
                self.send(line)

    def run_message(self, message: str) -> bool:
        """One-shot mode: a single message, then done."""
        self._start()
        return self.send(message)
