"""The scrubber's regular expressions: secrets, URLs, key=value secrets, emails and paths.

Every part starts with a cheap literal or class test and checks its left boundary with a
lookbehind, so each run of text is tried as a match once: scanning stays linear. Containers are
json.dumps-ed before they are scrubbed, so a token may follow a JSON escape (\\n, \\r, \\t).
"""

from __future__ import annotations

import re

__all__ = ["PATH", "URL", "combined", "names_secret"]

PATH = "<path>"
URL = "<url>"

# "sk-" and "bearer" must start a token: no alphanumeric before them, unless it is a JSON-escaped
# \n, \r or \t (containers are json.dumps-ed first). The lookbehinds come after the literal so
# that the engine rejects most positions on their first character.
_SK = r"sk-(?:(?<![A-Za-z0-9]sk-)|(?<=\\[nrt]sk-)|(?<=\\u[0-9a-fA-F]{4}sk-))"


def _word(word: str) -> str:
    """`word` in any case, starting a token (or just after a JSON escape)."""
    w = f"(?i:{word})"
    return rf"{w}(?:(?<![A-Za-z0-9]{w})|(?<=\\[nrt]{w}))"


_B64 = "A-Za-z0-9+/_-"  # '=' is padding only, so "key=<secret>" keeps the key's name
# A match takes the rest of its token along (_TAIL): otherwise "AKIA...<more>" would leave
# its tail, as the base64 rule only starts at a token's beginning. That includes a JWT-shaped
# ".payload.signature": a run like "\\neyJ<header>" matches before "eyJ" is reached.
_TAIL = rf"[={_B64}]*(?:\.[A-Za-z0-9_-]{{8,}}\.[={_B64}]*)?"
_TOKENS = (
    r"(?P<s>(?:" + _SK + r"[A-Za-z0-9_-]{20,}"  # OpenAI / Anthropic (sk-proj-, sk-ant-)
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,}|pypi-[A-Za-z0-9_-]{16,}"  # HF, GitLab, PyPI
    r"|[rsp]k_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT (signature may be empty)
    r"|xox[baprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[A-Za-z0-9_-]{30,})" + _TAIL + ")"
)
# HTTP credentials after their scheme, which stays: a token (RFC 9110's token68), or for Digest
# a list of name=value parameters (its username too). "basic" and "digest" are English words as
# well, so after them a token needs a capital (past its first letter), a digit or a symbol, as
# base64 and hex have: "Basic Authentication" stays.
_TOKEN68 = r"[A-Za-z0-9._~+/=-]{8,}"
_PARAM = r"""[\w-]+=(?:\\?"[^"\\\n]{0,256}\\?"|[^\s,;&"'<>\\]*)"""
_PARAMS = rf"{_PARAM}(?:[ \t]*,[ \t]*{_PARAM})*"
_BASIC_TOKEN = r"(?=[A-Za-z0-9._~+/=-][a-z._~-]*[A-Z0-9+/=])" + _TOKEN68
_SCHEME = "(?:" + _word("bearer") + "|(?P<bd>" + _word("basic") + "|" + _word("digest") + "))"
_BEARER_TOKEN = rf"(?P<b>{_SCHEME}[ \t]+)(?(bd)(?:{_PARAMS}|{_BASIC_TOKEN})|{_TOKEN68})"

# A URL goes whole: its user info is a secret, its host names a person's or an employer's
# machine (host names are never collected), its path may name files or repositories or carry a
# webhook's token, and its query may carry keys.
_URL = (
    r"(?P<url>(?P<u>[A-Za-z](?:(?<![\w+.\\-][A-Za-z])|(?<=\\[nrt][A-Za-z]))[\w+.-]*://)"
    r"(?P<ui>[^\s/?#'\"<>\\]*@)?(?P<uh>[\w.:\[\]%-]*)(?P<up>/[^\s?#'\"<>\\]*)?"
    r"(?:[?#][^\s'\"<>\\]*)?)"
)
# key=value and key: value where the key names a secret, or ends with a word that does
# ("OPENAI_API_KEY", "access_token"; "DB_PASS": "pass" only after "_" or "-", "bypass" stays);
# the value goes. The match starts at that word (what comes before it in the key stays anyway),
# so no position but a keyword's first letter costs more.
# An HTTP header's name counts ("Authorization: Basic <secret>", "X-Api-Key: <secret>"). A value
# that opens with a quote goes up to the matching quote, spaces and all, or to the end of its line
# when there is none (within 256 characters).
_KEYWORD = (
    r"(?i:pass(?:word|wd)|(?<=[_-])pass|pwd|private[_-]key|secret(?:[_-](?:access[_-])?key)?"
    r"|token|authori[sz]ation|auth|credentials?|api[ _-]?key|access[_-]key"
    r"|account[_-]?key|shared[_-]?access[_-]?key)"
)
_secret_names: dict[str, bool] = {}


def names_secret(key: str) -> bool:
    """Whether a property's or a container's key names a secret, by the rule key=value text
    follows: the key is, or ends with, one of _KEYWORD's words ("api_key", "OPENAI_API_KEY",
    "auth"); its value then goes whole, whatever its type."""
    found = _secret_names.get(key)
    if found is None:
        if len(_secret_names) > 512:
            _secret_names.clear()
        pattern = _patterns.get("names")
        if pattern is None:
            pattern = _patterns["names"] = re.compile(_KEYWORD + r"$")
        found = _secret_names[key] = pattern.search(key) is not None
    return found


_QUOTED = r"(?:(?!(?P=q))[^\n\r]){1,256}(?=(?P=q)|[\n\r]|$)"  # or the end: a cut, say
_ASSIGNED = (
    r"(?P<kv>(?P<a>" + _KEYWORD + r"(?:\\?[\"'])?[ \t]*[:=][ \t]*(?P<q>\\?[\"'])?"
    r"(?:(?i:bearer|basic|digest|token)[ \t]+)?)"
    rf"(?:(?(q){_QUOTED}|{_PARAMS})|[^\s\"'&,;<>\\]+))"
)
# An OpenAI fine-tune ("ft:gpt-4o:org:suffix") is a private model name wherever it appears.
_FINE_TUNE = r"(?P<m>(?i:ft):(?<![\w.:-](?i:ft):)[\w.:-]+)"

# Paths. A path character is anything but a separator, whitespace, a quote, or punctuation that
# ends a path in prose, logs and reprs.
_T = r"\s/\\'\"`<>|,;:()\[\]{}*?=&"
_C = rf"[^{_T}]"
# A directory may hold single spaces ("ann smith/", "Program Files\"), but a word after one is
# never an HTTP auth scheme and its credentials: "/srv/app Bearer abc/def=" is a path, then a
# bearer token (as one path it would leave the token's tail behind).
_WORDS = rf"{_C}+(?: (?!(?i:bearer|basic|digest)[ \t]){_C}+)*"
_LAST = rf"(?:{_WORDS}(?=['\"])|{_C}*[^{_T}.])"  # spaces only up to a closing quote; no final '.'
# A file name: a '.' then a letter somewhere ("x.py", ".env", "a.tar.gz"), taken whole (less a
# final '.') so that no tail of it is left behind; "claude-3.5-sonnet" and "v0.1" are not files.
_FILE = rf"(?={_C}*?\.[A-Za-z]){_C}*[^{_T}.]"


def _after(c: str) -> str:
    """Where a path may start, checked once its first character(s) `c` matched: not inside a
    word or another path, unless just after a JSON escape."""
    return rf"(?:(?<![^{_T}]{c})(?<![\\/]{c})|(?<=\\[nrt]{c}))"


# A path from the root may start after anything but a word's character (".", "_", "-" and "~"
# count) or a separator: after ANSI codes, a control character (JSON-escaped too), "…" or "→".
_ROOT = r"(?:(?<![\w.~-]/)(?<![\\/]/)|(?<=\\[nrt]/)|(?<=\\u[0-9a-fA-F]{4}/))"


def _paths(sep: str) -> str:
    """The path rule, for one kind of separator run: in plain text "/" or "\\", in JSON text
    (containers) "/" or an escaped "\\\\", so that a JSON escape like "\\n" never joins two
    words into a path."""
    return (
        r"(?P<p>"
        # Windows' extended-length and device forms, whole: "\\?\D:\x", "\\?\UNC\host\share",
        # "\\.\pipe\x".
        rf"(?:(?<![\w\\/])|(?<=\\[nrt])){_EXTENDED[sep]}(?:[A-Za-z]:{sep})?(?:{_WORDS}{sep})*{_LAST}?"
        r"|"
        # From the root: two segments ("/srv/x") or one file ("/x.py"); UNC "\\host\share".
        r"(?:/" + _ROOT + r"|\\\\" + _after(r"\\\\") + rf")(?:{sep})?"
        rf"(?:(?:{_WORDS}{sep})+{_LAST}?|{_FILE})"
        # Home-relative ("~/x", what the home rule leaves), from a variable ("$HOME/x",
        # "${HOME}/x", "%APPDATA%\\x") and Windows drives ("C:\\x", "d:/x").
        r"|(?:~" + _after("~") + r"|\$" + _after(r"\$") + r"(?:[A-Za-z_]\w*|\{[A-Za-z_]\w*\})"
        r"|%" + _after("%") + r"[A-Za-z_]\w*%|[A-Za-z]:" + _after("[A-Za-z]:") + r")"
        rf"{sep}(?:{_WORDS}{sep})*{_LAST}"
        # Relative: from "./" or "../" ("../etc/passwd"), or any with a separator and a file
        # as its last segment ("src/acme/list.py", "docs\\q3.docx").
        rf"|{_C}" + _after(".") + rf"(?:(?<=\.)\.?{sep}(?:{_C}+{sep})*{_LAST}"
        rf"|{_C}*(?:{sep}{_C}+)*{sep}{_FILE}))"
    )


# An email, and any user@host (an scp or git remote's "ann@buildhost:", "git@github.com:"): both
# name a person or a machine. Tried only at the start of a run of local-part characters (the
# lookbehind): otherwise a long run without '@' would cost quadratic time.
# The host holds a letter or is an IPv4 address: "react@18.2.0" and "python@3.11" are versions.
_EMAIL = (
    r"(?P<e>[\w.%+-](?<![\w.%+-][\w.%+-])[\w.%+-]*"
    r"@(?=[\w.-]*[^\W\d_]|\d+\.\d+\.\d+\.\d+)[\w-]+(?:\.[\w-]+)*)"
)
# Long base64-ish runs need a letter and a digit; checked once per run (lookbehind), so
# this stays linear. Listed before hex so a run is replaced whole, not just its hex head.
_LONG = (
    rf"(?P<l>(?:(?<![{_B64}])(?=[{_B64}]*?[0-9])(?=[{_B64}]*?[A-Za-z])[{_B64}]{{40,}}"
    r"|[0-9a-fA-F]{32,})" + _TAIL + ")"
)

# Order matters only between parts that can match at the same position: a URL before a path
# (its "//host/..." is one), a path before an email ("ann@x.com/a.py" is a path), both before
# the long-run rule (a long path is not a secret).
_SEPARATORS = {False: r"[\\/]+", True: r"(?:/|\\\\)+"}
_EXTENDED = {  # the "\\?\" or "\\.\" prefix, by separator: plain or JSON-escaped
    _SEPARATORS[False]: r"[\\/]{2,}[?.][\\/]+",
    _SEPARATORS[True]: r"(?:/|\\\\){2}[?.](?:/|\\\\)",
}
_patterns: dict[object, re.Pattern[str]] = {}


def combined(
    json_text: bool = False, paths: bool = True, named: bool = True, emails: bool = True
) -> re.Pattern[str]:
    """Every rule in one pattern, for plain text or for JSON text (a json.dumps-ed container);
    each match names its rule by its last group. A caller that knows the text has no "/" or
    "\\" (`paths`: no URL or path), no ":" or "=" (`named`: no named secret, fine-tune or
    drive) or no "@" (`emails`) gets a pattern without those rules: a smaller one runs faster."""
    key = (json_text, paths, named, emails)
    pattern = _patterns.get(key)
    if pattern is None:  # compiled on first use so importing this module stays cheap
        parts = [_TOKENS, _BEARER_TOKEN]
        parts += [_URL] if paths else []
        parts += [_ASSIGNED, _FINE_TUNE] if named else []
        parts += [_paths(_SEPARATORS[json_text])] if paths else []
        parts += [_EMAIL] if emails else []
        pattern = _patterns[key] = re.compile("|".join([*parts, _LONG]))
    return pattern
