"""What the program writes on the terminal: one line to stderr, text that someone else chose (a
project, a model, a server) made unable to drive the terminal, and a stdout that went away."""

from __future__ import annotations

import contextlib
import os
import re
import sys

__all__ = [
    "escaped",
    "for_terminal",
    "replace_unshowable",
    "say",
    "shown",
    "silence_stdout",
]

# What may not reach the terminal from a name or a reply: C0/C1 control characters (escape
# sequences, the bell, a carriage return that overwrites the line), the bidirectional overrides
# and isolates that make text read other than it is, and the line and paragraph separators.
# Everything else prints as it is: non-breaking spaces, joiners (Persian, emoji), any script.
# And lone surrogates: a file name's bytes that the file system's encoding could not decode
# (os.fsdecode keeps b"\xe9" as "\udce9"), which no terminal can be sent.
_OTHER = "\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_IN_NAME = re.compile(f"[\x00-\x1f{_OTHER}]")
_IN_REPLY = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHER}]")  # newline and tab are kept


def say(line: str) -> None:
    """One line on stderr, at once: notices, warnings and errors (stdout is the program's own,
    and JSON where asked)."""
    print(line, file=sys.stderr, flush=True)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # an undecodable byte: shown as Python writes bytes
        return f"\\x{ord(char) - 0xDC00:02x}"
    return repr(char)[1:-1]


def escaped(raw: str) -> str:
    """raw with what would drive the terminal escaped, whole: a name from a project's config,
    the user or a model's reply must not set colours or the title or clear the screen."""
    return _IN_NAME.sub(_escape, raw)


def for_terminal(text: str) -> str:
    """A model's reply as printed: lines (LF or CRLF) and tabs kept, anything else that would
    drive the terminal escaped (the reply can be steered by what the project's files say)."""
    return _IN_REPLY.sub(_escape, text.replace("\r\n", "\n"))


def shown(raw: object, limit: int = 160) -> str:
    """raw (a name, a path, a server's words) for a one-line message: escaped, and a long one
    cut in the middle, so that its start and its end both show ("...": any charset has it)."""
    text = escaped(str(raw))
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]}...{text[-(limit - 3 - half) :]}"


def replace_unshowable() -> None:
    """Print what the terminal's charset cannot show as '?' rather than fail on it, once for the
    whole process: a model's reply, a file name, the report's bars. Under a Latin-1 locale, or
    the cp1252 a redirected stdout gets on Windows, a "strict" stream raised UnicodeEncodeError
    at the first such character, ending the session (or `analytics report`) half-way. Only a
    "strict" stream is changed: stderr's default backslashreplace, or a handler the user chose
    with PYTHONIOENCODING, stays."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict":
            # Not a TextIOWrapper (a test's replacement), or closed: leave it as it is.
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]


def silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush cannot fail again (our
    reader went away: `| head`)."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
