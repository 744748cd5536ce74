"""The interactive session: sends messages, applies edits, runs slash commands, counts usage."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from blackboxai.session.commands import SlashCommands
from blackboxai.session.edits import EditResult, apply_edits
from blackboxai.session.files import display_path, read_bytes
from blackboxai.session.llm import LLMError, build_messages, complete
from blackboxai.session.paths import PATH_ERRORS, ChatFile, in_git_dir
from blackboxai.terminal import escaped, for_terminal

__all__ = ["Session"]


class Session(SlashCommands):
    """One chat with the model over a set of files; real work produces analytics events."""

    def _where(self, file: ChatFile, action: str) -> Path | str:
        """Where file's name leads now, checked before each read and write: a link swapped in
        since it was added may not carry the chat outside its project; else the one line why."""
        try:
            now = file.now()
        except PATH_ERRORS:
            return file.given  # opening it will say why
        if not file.strays(now):
            return now
        target = escaped(str(now))
        where = (
            "into the repository's .git directory"
            if file.bound and in_git_dir(now, file.bound)
            else "outside the project"
        )
        return f"{self._shown(file)} now leads {where} ({target}); not {action}."

    def _written(self, key: Path) -> Path | str:
        return next((self._where(f, "written") for f in self.files if f.path == key), key)

    def _find(self, name: str) -> Path | None:
        """The chat file a reply's name means: the one shown by that name, else the one it
        resolves to (a link's target), each as it was added, never as it leads now."""
        try:
            given = Path(os.path.normpath(self.root / name))
            for file in self.files:
                if file.given == given:
                    return file.path
            real = given.resolve()
        except PATH_ERRORS:
            return None
        return next((file.path for file in self.files if file.path == real), None)

    def _chat_contents(self) -> list[tuple[str, str | None]]:
        contents: list[tuple[str, str | None]] = []
        for file in self.files:
            text: str | None
            place = self._where(file, "read")
            if isinstance(place, str):
                self.err(place)
                continue
            try:
                data = read_bytes(place)  # a pipe or device: OSError, never a hang
            except FileNotFoundError:
                text = None
            except OSError as exc:
                self.err(f"Could not read {self._shown(file)}: {exc.strerror or exc}; skipped.")
                continue
            else:
                text = data.decode("utf-8", errors="replace")
                text = text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode reads
            contents.append((self._name(file), text))
        return contents

    def send(self, message: str) -> bool:
        """Send one message, print the reply, apply its edits; False when the endpoint failed."""
        return self._exchange(message) is not None

    def _exchange(self, message: str) -> EditResult | None:
        """One round trip with its edits applied and reported; None when the endpoint failed."""
        messages = build_messages(self.config.edit_format, self._chat_contents(), message)
        started = time.monotonic()
        try:
            reply = complete(
                self.config.api_base, self.config.api_key, self.model, messages, self.config.timeout
            )
        except LLMError as exc:
            self.err(f"Error: {exc.message}")
            self.analytics.event("api_error", error_class=exc.error_class, status=exc.status)
            return None
        duration = round(time.monotonic() - started, 3)
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.total_tokens += reply.total_tokens
        # Edits and events first: a closed stdout (`... | true`) must not cost the user the edit.
        names = {file.path: self._shown(file) for file in self.files}
        result = apply_edits(
            reply.content,
            self.config.edit_format,
            self.root,
            names.keys(),
            names,
            find=self._find,
            where=self._written,
        )
        self.analytics.event(
            "message_send",
            main_model=self.model,
            edit_format=self.config.edit_format,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            total_tokens=reply.total_tokens,
            duration_s=duration,
            **({} if reply.cost is None else {"cost_usd": reply.cost}),
        )
        self._edit_events(result)
        self.out(for_terminal(reply.content))
        for path in result.changed:
            shown = names.get(path) or escaped(display_path(path, self.root))
            self.out(f"Applied edit to {shown}.")
        for failure in result.failures:
            self.err(failure.message)
        return result

    def _edit_events(self, result: EditResult) -> None:
        if result.blocks_applied:
            self.analytics.event(
                "edit_applied",
                edit_format=self.config.edit_format,
                files_changed=result.files_changed,
                blocks=result.blocks_applied,
                lines_added=result.lines_added,
                lines_removed=result.lines_removed,
            )
        if result.failures:
            self.analytics.event(
                "edit_failed",
                edit_format=self.config.edit_format,
                blocks_failed=result.blocks_failed,
                reason=result.reason,
            )

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
        """One-shot mode: True only if the endpoint answered and every edit of it landed."""
        self._start()
        result = self._exchange(message)
        return result is not None and not result.failures
