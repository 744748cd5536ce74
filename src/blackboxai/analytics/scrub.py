"""Strip secrets, emails and home paths from analytics properties before they are logged or sent."""

from __future__ import annotations

import json
import os
import re

from blackboxai.analytics.models import redact_model

TYPE_CHECKING = False  # avoids importing typing at runtime; mypy treats the name as True
if TYPE_CHECKING:
    from collections.abc import Mapping


__all__ = [
    "MAX_STRING",
    "model_name",
    "scrub_name",
    "scrub_properties",
    "scrub_text",
    "scrub_value",
]

Scalar = str | int | float | bool | None

MAX_STRING = 1000
MAX_KEY = 100
SECRET, EMAIL, HOME = "<secret>", "<email>", "~"

# Scrub at most this much: long enough that whatever lands in the first MAX_STRING characters
# of the output was scrubbed in full context, short enough to bound regex work on huge inputs.
_SCAN_LIMIT = 4 * MAX_STRING
# Shortest secret any pattern matches ("bearer" + space + 8, "xoxb-" + 10 chars): see _may_match.
_MIN_MATCH = 15
_MAX_SAFE_INT = 2**53  # beyond this JSON consumers (JavaScript) silently lose precision

# "sk-" and "bearer" must start a token: no alphanumeric before them, unless it is a JSON-escaped
# \n, \r or \t (containers are json.dumps-ed first). The lookbehinds come after the literal so
# that the engine rejects most positions on their first character.
_SK = r"sk-(?:(?<![A-Za-z0-9]sk-)|(?<=\\[nrt]sk-)|(?<=\\u[0-9a-fA-F]{4}sk-))"
_BEARER = r"(?i:bearer)(?:(?<![A-Za-z0-9](?i:bearer))|(?<=\\[nrt](?i:bearer)))"
_B64 = "A-Za-z0-9+/_-"  # '=' is padding only, so "key=<secret>" keeps the key's name
_NAME = r"[\w$-]+(?:\.[\w$-]+)*"  # a user name; a trailing '.' is sentence punctuation
# A match takes the rest of its token along (_TAIL): otherwise "AKIA...<more>" would leave
# its tail, as the base64 rule only starts at a token's beginning. That includes a JWT-shaped
# ".payload.signature": a run like "\\neyJ<header>" matches before "eyJ" is reached.
_TAIL = rf"[={_B64}]*(?:\.[A-Za-z0-9_-]{{8,}}\.[={_B64}]*)?"
_PATTERN_PARTS = (
    r"(?P<s>(?:" + _SK + r"[A-Za-z0-9_-]{20,}"  # OpenAI / Anthropic (sk-proj-, sk-ant-)
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,}|pypi-[A-Za-z0-9_-]{16,}"  # HF, GitLab, PyPI
    r"|[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT (signature may be empty)
    r"|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[A-Za-z0-9_-]{30,})" + _TAIL + ")",
    r"(?P<b>" + _BEARER + r"[ \t]+)[A-Za-z0-9._~+/=-]{8,}",  # keeps the word "Bearer"
    # An email is tried only at the start of a run of local-part characters (the lookbehind):
    # otherwise a long run without '@' would cost quadratic time.
    r"(?P<e>[\w.%+-](?<![\w.%+-][\w.%+-])[\w.%+-]*@(?:[\w-]+\.)+[A-Za-z]{2,})",
    r"(?P<h>/(?:home|Users)/" + _NAME + r"|[A-Za-z]:[\\/]+(?i:users)[\\/]+"
    r"(?:[\w$-]+(?:[ .][\w$-]+)*(?=[\\/])|" + _NAME + "))",  # Windows names may hold spaces
    # Long base64-ish runs need a letter and a digit; checked once per run (lookbehind), so
    # this stays linear. Listed before hex so a run is replaced whole, not just its hex head.
    rf"(?P<l>(?:(?<![{_B64}])(?=[{_B64}]*?[0-9])(?=[{_B64}]*?[A-Za-z])[{_B64}]{{40,}}"
    r"|[0-9a-fA-F]{32,})" + _TAIL + ")",
)
_MARKERS = {"s": SECRET, "e": EMAIL, "h": HOME, "l": SECRET}
_pattern: re.Pattern[str] | None = None
_home_patterns: dict[str, re.Pattern[str]] = {}
_default_home: tuple[str | None, str] = (None, "")
_key_cache: dict[str, str] = {}
_name_cache: dict[str, str] = {}


def _combined() -> re.Pattern[str]:
    global _pattern
    if _pattern is None:  # compiled on first use so importing this module stays cheap
        _pattern = re.compile("|".join(_PATTERN_PARTS))
    return _pattern


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup or "s"
    if kind == "b":
        return match.group("b") + SECRET
    return _MARKERS[kind]


def _resolve_home(home: str | None) -> str:
    """The home path to replace, or "" when there is none worth replacing (e.g. "/")."""
    global _default_home
    if home is None:
        env = os.environ.get("HOME")
        if _default_home[0] != env or env is None:
            _default_home = (env, os.path.expanduser("~"))
        home = _default_home[1]
    home = home.rstrip("/\\")
    return home if len(home) > 1 and ("/" in home or "\\" in home) else ""


def _home_pattern(home: str) -> re.Pattern[str]:
    pattern = _home_patterns.get(home)
    if pattern is None:
        if len(_home_patterns) > 16:
            _home_patterns.clear()
        # A path prefix only: "/home/ann/x" and "/home/ann." match, "/home/annabel" does not.
        pattern = _home_patterns[home] = re.compile(re.escape(home) + r"(?!\.?[\w$-])")
    return pattern


def _cut_for_scan(text: str) -> str:
    if len(text) <= _SCAN_LIMIT:
        return text
    text = text[:_SCAN_LIMIT]
    # The cut may halve a secret so that it no longer matches. If the text before it then
    # shrinks a lot (a huge blob becomes "<secret>"), the fragment could reach the output,
    # so drop a short trailing token; long fragments still match the length-based patterns.
    end = len(text)
    while end > len(text) - 64 and not text[end - 1].isspace():
        end -= 1
    return text[:end] if end > len(text) - 64 else text


def _may_match(text: str) -> bool:
    """Cheap pre-check: every match needs '@' (email), a path separator (home), "bearer", or a
    whitespace-free token of _MIN_MATCH+ chars (all other secrets). Most values have none."""
    if "@" in text or "/" in text or "\\" in text:
        return True
    if len(text) < _MIN_MATCH:
        return False
    return "bearer" in text.lower() or max(map(len, text.split()), default=0) >= _MIN_MATCH


def _scrub(text: str, home: str) -> str:
    text = _cut_for_scan(text)
    if not _may_match(text):
        return text[:MAX_STRING]
    if home and home in text:
        text = _home_pattern(home).sub(HOME, text)
    return _combined().sub(_replace, text)[:MAX_STRING]


def scrub_text(text: str, home: str | None = None) -> str:
    """Replace secrets, emails and home paths in ``text``; the result is at most MAX_STRING."""
    return _scrub(text, _resolve_home(home))


def _json_default(obj: object) -> object:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return "<bytes>"
    name = _object_name(obj)  # a Model inside a list is still a model name
    return redact_model(name) if name is not None else _stringify(obj)


def _stringify(value: object) -> str:
    if isinstance(value, (list, tuple)) and len(value) > _SCAN_LIMIT:
        value = value[:_SCAN_LIMIT]  # every item prints >= 1 char: the output is unchanged
    try:
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            return json.dumps(
                value,
                sort_keys=True,
                default=_json_default,
                ensure_ascii=False,
                separators=(",", ":"),
            )
    except Exception:
        pass  # e.g. circular, too deep, or keys of mixed types: fall back to str()
    try:
        return str.__str__(str(value))  # a plain str: a subclass could dodge the scrubber
    except Exception:
        return "<unprintable>"


def _value(value: object, home: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return int(value)
        try:
            return _scrub(str(int(value)), home)
        except ValueError:  # more digits than sys.get_int_max_str_digits() allows
            return "<unprintable>"
    if isinstance(value, float):
        return float(value) if value - value == 0.0 else None  # inf - inf and nan are nan
    if isinstance(value, str):
        return _scrub(str.__str__(value), home)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return _scrub(_stringify(value), home)


def scrub_value(value: object, home: str | None = None) -> Scalar:
    """Turn any value into a JSON-safe scalar with secrets removed. Never raises."""
    try:
        return _value(value, _resolve_home(home))
    except Exception:
        return "<unprintable>"


def _key(key: object, home: str) -> str:
    if isinstance(key, str) and len(key) <= 64 and "/" not in key and "\\" not in key:
        cached = _key_cache.get(key)  # keys come from a small fixed set; home cannot matter
        if cached is None:
            if len(_key_cache) > 512:
                _key_cache.clear()
            cached = _key_cache[key] = _scrub(key, home)[:MAX_KEY]
        return cached
    text = key if isinstance(key, str) else _stringify(key)
    return _scrub(text, home)[:MAX_KEY]


def model_name(value: object) -> str | None:
    """The model name a value stands for: a string, or an object's string `.name` (aider passes
    its Model objects); None for None. Anything else is turned into a string first."""
    if value is None:
        return None
    if isinstance(value, str):
        return str.__str__(value)
    name = getattr(value, "name", None)
    return str.__str__(name) if isinstance(name, str) else _stringify(value)


def _is_model_key(key: str) -> bool:
    return key == "model" or key.endswith("_model")


def _property(key: str, value: object, home: str) -> Scalar:
    """A value made safe by its type: JSON scalars are kept (scrubbed); a model name, or any
    object with a string `.name`, is redacted like a model name; anything else becomes a string
    first, then is scrubbed like one."""
    if _is_model_key(key) or not isinstance(value, (str, int, float, bool, type(None))):
        name = model_name(value) if _is_model_key(key) else _object_name(value)
        if name is not None:
            return redact_model(name)
    return _value(value, home)


def _object_name(value: object) -> str | None:
    name = getattr(value, "name", None)
    return str.__str__(name) if isinstance(name, str) else None


def scrub_properties(props: Mapping[str, object], home: str | None = None) -> dict[str, Scalar]:
    """Scrub every key and value of an analytics event; model names are redacted. Never raises."""
    out: dict[str, Scalar] = {}
    try:
        resolved = _resolve_home(home)
        for raw_key, value in props.items():
            try:
                key = _key(raw_key, resolved)
                out[key] = _property(key, value, resolved)
            except Exception:
                continue  # drop one broken property rather than the whole event
    except Exception:
        pass  # a broken mapping: keep what was scrubbed so far
    return out


def scrub_name(name: object) -> str:
    """An event name, scrubbed and cut to MAX_KEY. Names are literals at call sites; scrub them
    anyway (once each: the cache is bounded) in case one is not."""
    key = _stringify(name)[:MAX_KEY] if not isinstance(name, str) else name[:MAX_KEY]
    clean = _name_cache.get(key)
    if clean is None:
        clean = scrub_text(key)[:MAX_KEY]
        if len(_name_cache) < 1000:
            _name_cache[key] = clean
    return clean
