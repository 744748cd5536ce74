"""Strip secrets, URLs' credentials, emails and paths from analytics properties before they are
logged or sent; what a value may say by its type is decided in values.py first."""

from __future__ import annotations

import os
import re

from blackboxai.analytics.record.model_names import redact_model, redacted_names
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
# Terminal control sequences (colours, cursor moves), raw or JSON-escaped: dropped before scrubbing.
_ANSI = {
    False: re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]"),
    True: re.compile(r"(?:\x1b|\\u001b)\[[0-9;?]*[ -/]*[@-~]"),
}
_name_cache: dict[str, str] = {}
_plans: dict[str, tuple[str, bool, bool]] = {}
_words: dict[str, str] = {}


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


def _home_arg(home: str | None) -> str | None:
    """A caller's home, made one to replace; None (the process's) stays None, for _scrub."""
    return None if home is None else _resolve_home(home)


def _may_hold_token(text: str) -> bool:
    """Cheap pre-check for the rules that need none of "/", "\\", ":", "=" or "@": they need an
    HTTP auth scheme or a whitespace-free token of _MIN_MATCH+ chars. Most values have neither."""
    if len(text) < _MIN_MATCH:
        return False
    if max(map(len, text.split()), default=0) >= _MIN_MATCH:
        return True
    low = text.lower()
    return "bearer" in low or "basic" in low or "digest" in low


def _scrub(text: str, home: str | None, json_text: bool = False) -> str:
    """`json_text`: `text` is a json.dumps-ed container, where a lone backslash is an escape.
    `home`: the home path to replace (None: the process's, looked up only for a text that holds
    a path separator; a home always holds one)."""
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
    if paths:
        home = _resolve_home(None) if home is None else home
        if home and home in text:
            text = _home_pattern(home).sub(HOME, text)
    return combined(json_text, paths, named, emails).sub(_replace, text)[:MAX_STRING]


def scrub_text(text: str, home: str | None = None) -> str:
    """Replace secrets, emails and home paths in ``text``; the result is at most MAX_STRING.
    Anything but a str is turned into text first, as stringify() does."""
    home = _home_arg(home)
    if isinstance(text, str):
        return _scrub(text, home)
    return _scrub(stringify(text), home, isinstance(text, CONTAINERS))


def _value(value: object, home: str | None) -> Scalar:
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
        return _value(value, _home_arg(home))
    except (Exception, SystemExit):  # a caller's object's SystemExit too
        return UNPRINTABLE


def _key(key: object, home: str | None) -> str:
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


def _word(text: str, home: str | None) -> str:
    """A short text value scrubbed: values come from a small set too ("diff", "ctrl_c"), so one
    without a path separator (whose result the home cannot change) is scrubbed once."""
    found = _words.get(text)
    if found is None:
        found = _scrub(text, home)
        if len(text) <= 64 and "/" not in text and "\\" not in text:
            if len(_words) > 1024:
                _words.clear()
            _words[text] = found
    return found


def _plan(raw_key: object, home: str | None) -> tuple[str, bool, bool]:
    """A property's key, scrubbed, and what it says of its value: whether it names a secret, and
    whether it holds model names. Keys come from a small fixed set at the call sites, so a plain
    one is judged once (the cache is bounded); a long key, or one with a path in it, each time."""
    plain = raw_key if type(raw_key) is str else None  # a subclass may hash or compare oddly
    plan = _plans.get(plain) if plain is not None else None
    if plan is None:
        key = _key(raw_key, home)
        plan = (key, names_secret(key), is_model_key(key))
        if plain is not None and len(plain) <= 64 and "/" not in plain and "\\" not in plain:
            if len(_plans) > 512:  # (without a separator, the home cannot matter)
                _plans.clear()
            _plans[plain] = plan
    return plan


def _property(value: object, home: str | None, model: bool) -> Scalar:
    """A value made safe by its type first: an exception, a path or bytes say only what they
    are; under a model key (and for any object with a string `.name`) a value is redacted like a
    model name, in containers too; anything else is scrubbed as text."""
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
        home = _home_arg(home)
        # The caches first: the usual key, word and model name are in them.
        plans, words, models = _plans, _words, redacted_names
        for raw_key, value in props.items():
            try:
                plan = plans.get(raw_key) if type(raw_key) is str else None
                key, secret, model = plan if plan is not None else _plan(raw_key, home)
                # Under a key that names a secret (api_key=..., auth=("ann", "pw")) the value goes,
                # whatever it is. Then the usual cases, by exact type (a subclass may print as
                # anything): a word, a model's name, a count.
                if secret:
                    out[key] = SECRET
                elif type(value) is str:
                    if model:
                        out[key] = models.get(value) or redact_model(cut(value, SCAN_LIMIT))
                    else:
                        out[key] = words.get(value) or _word(value, home)
                elif type(value) is int and not model and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
                    out[key] = value
                elif type(value) is float and not model:
                    out[key] = value if value - value == 0.0 else None  # inf - inf, nan: nan
                else:
                    out[key] = _property(value, home, model)
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
