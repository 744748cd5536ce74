"""Strip secrets, URLs' credentials, emails and paths from analytics properties before they are
logged or sent; what a value may say by its type is decided in values.py first."""

from __future__ import annotations

import os
import re

from blackboxai.analytics.record.model_names import redact_model
from blackboxai.analytics.record.patterns import PATH, URL, combined, names_secret
from blackboxai.analytics.record.values import (
    CONTAINERS,
    SCAN_LIMIT,
    SECRET,
    UNPRINTABLE,
    by_type,
    cut,
    is_model_key,
    object_name,
    printed,
    stringify,
)

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
EMAIL, HOME = "<email>", "~"

# Scrub at most SCAN_LIMIT (4 * MAX_STRING) characters: long enough that whatever lands in the
# first MAX_STRING characters of the output was scrubbed in full context, short enough to bound
# regex work on huge inputs.
# Shortest secret any token rule matches ("basic" + space + 8, "xoxb-" + 10): _may_hold_token.
_MIN_MATCH = 14
_MAX_SAFE_INT = 2**53  # beyond this JSON consumers (JavaScript) silently lose precision

_MARKERS = {"s": SECRET, "e": EMAIL, "l": SECRET, "p": PATH}
_home_patterns: dict[str, re.Pattern[str]] = {}
_default_home: tuple[str | None, str] = (None, "")
_key_cache: dict[str, str] = {}
# Terminal control sequences (colours, cursor moves), raw or JSON-escaped: dropped before scrubbing.
_ANSI = {
    False: re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]"),
    True: re.compile(r"(?:\x1b|\\u001b)\[[0-9;?]*[ -/]*[@-~]"),
}
_name_cache: dict[str, str] = {}


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup or "s"
    if kind in ("kv", "b"):  # keep "password=" and "Bearer ", replace what follows
        return match.group("a" if kind == "kv" else "b") + SECRET
    if kind == "m":
        return redact_model(match.group("m"))
    if kind == "url":
        return URL
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
        # A path prefix only: "/home/ann/x" and "/home/ann." match, "/home/annabel" does not;
        # nor does a home inside a URL or another path ("ssh://h/home/ann/x", "a/home/ann"):
        # the URL and path rules take those whole.
        pattern = _home_patterns[home] = re.compile(
            r"(?<![\w.:/\\@%-])" + re.escape(home) + r"(?!\.?[\w$-])"
        )
    return pattern


def _may_hold_token(text: str) -> bool:
    """Cheap pre-check for the rules that need none of "/", "\\", ":", "=" or "@": they need an
    HTTP auth scheme or a whitespace-free token of _MIN_MATCH+ chars. Most values have neither."""
    if len(text) < _MIN_MATCH:
        return False
    if max(map(len, text.split()), default=0) >= _MIN_MATCH:
        return True
    low = text.lower()
    return "bearer" in low or "basic" in low or "digest" in low


def _scrub(text: str, home: str, json_text: bool = False) -> str:
    """`json_text`: `text` is a json.dumps-ed container, where a lone backslash is an escape."""
    # The cut may halve a secret so that it no longer matches; if the text before it then shrinks
    # a lot (a huge blob becomes "<secret>"), the fragment could reach the output: cut() drops it.
    text = cut(text, SCAN_LIMIT)
    if "\x1b" in text or (json_text and "\\u001b" in text):  # colours would hide a path's start
        text = _ANSI[json_text].sub("", text)
    paths = "/" in text or "\\" in text  # paths, URLs
    named = ":" in text or "=" in text  # password=, ft:, drives (with a separator)
    emails = "@" in text  # emails, URL user info (with a separator)
    if not (paths or named or emails or _may_hold_token(text)):
        return text[:MAX_STRING]
    if home and home in text:
        text = _home_pattern(home).sub(HOME, text)
    return combined(json_text, paths, named, emails).sub(_replace, text)[:MAX_STRING]


def scrub_text(text: str, home: str | None = None) -> str:
    """Replace secrets, emails and home paths in ``text``; the result is at most MAX_STRING.
    Anything but a str is turned into text first, as stringify() does."""
    if isinstance(text, str):
        return _scrub(text, _resolve_home(home))
    return _scrub(stringify(text), _resolve_home(home), isinstance(text, CONTAINERS))


def _value(value: object, home: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return int(value)
        return _scrub(printed(value), home)  # too long to print in time: unprintable
    if isinstance(value, float):
        return float(value) if value - value == 0.0 else None  # inf - inf and nan are nan
    if isinstance(value, str):
        return _scrub(value, home)
    special = by_type(value)
    if special is not None:
        return special
    return _scrub(stringify(value), home, isinstance(value, CONTAINERS))


def scrub_value(value: object, home: str | None = None) -> Scalar:
    """Turn any value into a JSON-safe scalar with secrets removed. Never raises."""
    try:
        return _value(value, _resolve_home(home))
    except (Exception, SystemExit):  # a caller's object's SystemExit too
        return UNPRINTABLE


def _key(key: object, home: str) -> str:
    if isinstance(key, str) and len(key) <= 64 and "/" not in key and "\\" not in key:
        cached = _key_cache.get(key)  # keys come from a small fixed set; home cannot matter
        if cached is None:
            if len(_key_cache) > 512:
                _key_cache.clear()
            cached = _key_cache[key] = _scrub(key, home)[:MAX_KEY]
        return cached
    text = key if isinstance(key, str) else stringify(key)
    return _scrub(text, home, isinstance(key, CONTAINERS))[:MAX_KEY]


def model_name(value: object) -> str | None:
    """The model name a value stands for: a string, or an object's string `.name` (aider passes
    its Model objects); None for None. Anything else is turned into a string first."""
    if value is None:
        return None
    if isinstance(value, str):
        return cut(value, SCAN_LIMIT)
    name = object_name(value)
    return name if name is not None else stringify(value)


def _property(key: str, value: object, home: str) -> Scalar:
    """A value under a key that names a secret is "<secret>", whatever its type. Otherwise it is
    made safe by its type first: an exception, a path or bytes say only what they are; under a
    model key (and for any object with a string `.name`) a value is redacted like a model name, in
    containers too; anything else is scrubbed as text."""
    if names_secret(key):  # api_key=..., auth=("ann", "pw"): the value goes, whatever it is
        return SECRET
    model = is_model_key(key)
    if not model and isinstance(value, (str, int, float, bool, type(None))):
        return _value(value, home)
    special = by_type(value)
    if special is not None:
        return special
    if isinstance(value, CONTAINERS):
        return _scrub(stringify(value, model), home, json_text=True)
    name = model_name(value) if model else object_name(value)
    if name is not None:
        return UNPRINTABLE if name is UNPRINTABLE else redact_model(name)
    return _value(value, home)


def scrub_properties(props: Mapping[str, object], home: str | None = None) -> dict[str, Scalar]:
    """Scrub every key and value of an analytics event; model names are redacted. Never raises."""
    out: dict[str, Scalar] = {}
    try:
        resolved = _resolve_home(home)
        for raw_key, value in props.items():
            try:
                key = _key(raw_key, resolved)
                out[key] = _property(key, value, resolved)
            except (Exception, SystemExit):  # a caller's object's SystemExit too
                continue  # drop one broken property rather than the whole event
    except (Exception, SystemExit):
        pass  # a broken mapping: keep what was scrubbed so far
    return out


def scrub_name(name: object) -> str:
    """An event name, scrubbed and cut to MAX_KEY. Names are literals at call sites; scrub them
    anyway (once each: the cache is bounded) in case one is not."""
    key = cut(name, MAX_KEY) if isinstance(name, str) else stringify(name)[:MAX_KEY]
    clean = _name_cache.get(key)
    if clean is None:
        clean = scrub_text(key)[:MAX_KEY]
        if len(_name_cache) < 1000:
            _name_cache[key] = clean
    return clean
