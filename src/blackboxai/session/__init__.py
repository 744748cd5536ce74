"""The coding-assistant session whose real work (messages, edits, commands) yields analytics."""

from __future__ import annotations

from blackboxai.session.chat import Session
from blackboxai.session.state import SessionConfig

__all__ = ["Session", "SessionConfig"]
