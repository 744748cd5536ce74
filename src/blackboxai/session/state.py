"""What a session holds, shared by the chat loop and the slash commands: its settings, the files
in the chat and their names, the token counts, and where it writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from blackboxai.config.trust import user_home
from blackboxai.session.edits import EDIT_FORMATS
from blackboxai.session.files import display_path
from blackboxai.session.paths import ChatFile, PathProblem, admit
from blackboxai.terminal import escaped, say

__all__ = ["Analytics", "ChatState", "SessionConfig"]


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


def _project(root: Path, home: Path | None) -> Path:
    """The checkout root belongs to: its git work tree (not one holding the home directory,
    dotfiles kept in git), or root itself. A symlink leading out of it is named, not followed
    silently."""
    from blackboxai.config.trust import checkout_root

    return root if home is None else checkout_root(root, home).resolve()


class ChatState:
    """A session's state and the names it shows; the files named at start-up are added here."""

    def __init__(
        self,
        config: SessionConfig,
        analytics: Analytics,
        *,
        out: Callable[[str], None] = print,
        err: Callable[[str], None] = say,
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
        self.home = user_home()  # None: no HOME, and the narrowest project
        self.project = _project(self.root, self.home)  # the checkout holding root, or root
        self.files: list[ChatFile] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.total_tokens = 0
        # Start-up names come from the command line (or the user's settings): they may climb
        # out of the working directory, as the shell allowed. A name given twice (--file and
        # an argument) is one file, and one line if it cannot be used.
        self._each_path(
            list(dict.fromkeys(str(path) for path in config.files)),
            lambda raw: self._add(raw, climb=True),
        )

    @property
    def model(self) -> str:
        return self.config.model

    def _name(self, file: ChatFile) -> str:
        """A chat file as the user named it (relative to the root when inside it): what the
        model sees and names in its edits."""
        return display_path(file.given, self.root)

    def _shown(self, file: ChatFile) -> str:
        """That name for the terminal: a project's config, the user or a symlink may have put
        control characters in it, which must not drive the terminal."""
        return escaped(self._name(file))

    def _each_path(self, args: list[str], action: Callable[[str], object]) -> None:
        """action for each path argument: a bad one is one line and the others still count."""
        for raw in args:
            try:
                action(raw)
            except PathProblem as problem:
                self.err(str(problem))

    def _add(self, raw: str, *, announce: bool = False, climb: bool = False) -> None:
        file, exists = admit(raw, self.root, self.project, climb=climb, home=self.home)
        if any(known.path == file.path for known in self.files):
            if announce:
                self.out(f"{self._shown(file)} is already in the chat.")
            return
        self.files.append(file)
        if announce:
            self.out(f"Added {self._shown(file)} to the chat{'' if exists else ' (new file)'}.")
