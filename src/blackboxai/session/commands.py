"""The session's /commands: files in the chat, model, tokens, help, analytics, exit."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable

from blackboxai.session.files import display_path
from blackboxai.session.paths import (
    PATH_ERRORS,
    ChatFile,
    PathProblem,
    locate,
    printable,
)
from blackboxai.session.state import ChatState
from blackboxai.terminal import escaped

__all__ = ["SlashCommands"]

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


class SlashCommands(ChatState):
    """The /commands of a session; a bad path in any of them is one line, not the end."""

    def check_model(self) -> None:
        """Warn once when the model is not a known public one: counts and edits may be off."""
        from blackboxai.analytics.record.model_names import redact_model

        # One definition of "known": the name the analytics layer would keep as it is.
        if not redact_model(self.model).endswith("/REDACTED"):
            return
        self.err(
            f"Warning: unknown model {escaped(self.model)}; token counts and edit quality may vary."
        )
        self.analytics.event("model warning", main_model=self.config.model)

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
            self.err(f"Unknown command {printable(name)}. Type /help.")
            self.analytics.event("command_unknown")
            return True
        try:
            return handler(args)
        except PathProblem as problem:  # a command never ends the session over a path
            self.err(str(problem))
            return True

    def _drop(self, raw: str) -> None:
        wanted = locate(raw, self.root)
        for file in self.files:
            if wanted.path == file.path or wanted.given == file.given:
                self.files.remove(file)
                self.out(f"Dropped {self._shown(file)} from the chat.")
                return
        self.err(f"{printable(raw)} is not in the chat.")

    def _cmd_add(self, args: list[str]) -> bool:
        if not args:
            self.err("Usage: /add PATH...")
        self._each_path(args, lambda raw: self._add(raw, announce=True))
        self.analytics.event("command_add")
        return True

    def _cmd_drop(self, args: list[str]) -> bool:
        if not args:
            self.files.clear()
            self.out("Dropped all files from the chat.")
        self._each_path(args, self._drop)
        self.analytics.event("command_drop")
        return True

    def _leads(self, file: ChatFile) -> str:
        """Where a name in the chat leads, when that is not the name itself (a symlink along
        it), as it leads now; and whether that is outside the project, or will not be used."""
        try:
            now = file.now()
        except PATH_ERRORS:
            return ""
        if now == file.given:
            return ""
        note = ""
        if file.strays(now):
            note = " (outside the project; not read or written)"
        elif not now.is_relative_to(self.project):
            note = " (outside the project)"
        return f" -> {escaped(display_path(now, self.root))}{note}"

    def _cmd_ls(self, args: list[str]) -> bool:
        """List the chat; a name that a symlink leads elsewhere says where it leads."""
        if self.files:
            self.out("Files in the chat:")
            for file in self.files:
                self.out(f"  {self._shown(file)}{self._leads(file)}")
        else:
            self.out("No files in the chat.")
        self.analytics.event("command_ls")
        return True

    def _cmd_model(self, args: list[str]) -> bool:
        if args:
            self.config = dataclasses.replace(self.config, model=args[0])
        shown = escaped(self.model)
        self.out(f"Model set to {shown}." if args else f"Model: {shown}")
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
