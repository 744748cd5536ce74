"""What a value that is not plain text may say, decided by its type before any text is scrubbed.

An exception says its type name (never its message), a path says `<path>`, bytes say `<bytes>`,
a model name (or an object with a string `.name`, as aider passes its Model objects) is redacted
like one, and a container is copied into plain JSON with these rules applied at every level,
including model-named keys inside it. Whatever the input, the copy is bounded: one budget of
printed characters covers the whole walk, so shared, circular or deep containers cost no more
than a flat one."""

from __future__ import annotations

import json
import os
import re
from json.encoder import encode_basestring

from blackboxai.analytics.record.model_names import redact_model
from blackboxai.analytics.record.patterns import PATH, names_secret

__all__ = [
    "BYTES",
    "CONTAINERS",
    "MORE",
    "SCAN_LIMIT",
    "SECRET",
    "UNPRINTABLE",
    "by_type",
    "cut",
    "is_model_key",
    "object_name",
    "printed",
    "stringify",
]

BYTES, UNPRINTABLE, SECRET = "<bytes>", "<unprintable>", "<secret>"
MORE = "…"  # where a cut stopped: in a string, a container, or the text the scrubber reads
CONTAINERS = (dict, list, tuple, set, frozenset)  # what stringify writes as JSON text
SCAN_LIMIT = 4000  # the most text the scrubber reads of one value
# The most JSON a container is printed as (every item costs two characters or more, so this
# bounds the items read too), less a margin for the MOREs that close each open level, so that the
# scrubber reads all of it.
_BUDGET = SCAN_LIMIT - 1024
_MAX_DEPTH = 64  # deeper (or circular) containers stop with MORE; 64 MOREs fit in the margin
_INT_BITS = 8000  # ~2,400 digits; printing an int costs quadratic time, longer ones are not

# model, models, llm, model_name, main_model, weak_model_name, editor-model, mainModel, MODEL...
_MODEL_KEY = re.compile(r"(?:^|[_\-. ]|(?<=[a-z0-9])(?=[ML]))(?i:model|llm)(?i:s|[_-]?name)?$")
_model_keys: dict[str, bool] = {}


def is_model_key(key: str) -> bool:
    """Whether a property (or a key inside a container) holds model names."""
    found = _model_keys.get(key)
    if found is None:
        if len(_model_keys) > 512:
            _model_keys.clear()
        found = _model_keys[key] = _MODEL_KEY.search(key) is not None
    return found


def cut(text: str, limit: int) -> str:
    """`text` as a plain str (a subclass could dodge the scrubber) of at most `limit` characters,
    copying no more than that. A cut drops the run of non-space characters it splits, whatever it
    is made of (half a key or an email no longer looks like one), and ends with MORE."""
    if type(text) is str and len(text) <= limit:  # the usual case
        return text
    if str.__len__(text) <= limit:
        return str.__str__(text)
    end = max(limit - len(MORE), 0)
    head = str.__getitem__(text, slice(0, end))
    if head and not head[-1].isspace() and not str.__getitem__(text, end).isspace():
        tail = head.rsplit(None, 1)[-1]  # C speed, from the right
        head = head[: len(head) - len(tail)]
    return head + MORE


def by_type(value: object) -> str | None:
    """What a value stands for by its type alone, never its text; None if its type says nothing."""
    if isinstance(value, BaseException):  # its message may hold paths, code or keys
        return type(value).__name__[:100]
    if isinstance(value, os.PathLike):  # pathlib's paths, os.DirEntry
        return PATH
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES
    return None


def object_name(value: object) -> str | None:
    """An object's string `.name`, None if it has none, UNPRINTABLE (that very object) if
    looking it up raised: a property or __getattr__ may raise, SystemExit too.

    Failures are contained as `except (Exception, SystemExit)` throughout: a caller's object may
    raise SystemExit, but KeyboardInterrupt, GeneratorExit and the host's Terminated (SIGTERM,
    a BaseException on purpose) are the user's or the interpreter's and must go through."""
    try:
        name = getattr(value, "name", None)
    except (Exception, SystemExit):
        return UNPRINTABLE
    return cut(name, SCAN_LIMIT) if isinstance(name, str) else None


def printed(value: object, limit: int = SCAN_LIMIT) -> str:
    """str(value), cut to `limit`; an int too long to print in time is unprintable. May raise."""
    if isinstance(value, int) and not isinstance(value, bool):
        if int.bit_length(value) > _INT_BITS:
            return UNPRINTABLE
        return cut(int.__repr__(value), limit)
    return cut(str(value), limit)


class _Budget:
    """Printed characters left for the rest of one container: shared by the whole walk."""

    __slots__ = ("left",)

    def __init__(self, left: int) -> None:
        self.left = left


def _spend(text: str, budget: _Budget) -> str:
    budget.left -= len(encode_basestring(text)) + 1  # quoted and escaped, then "," or ":"
    return text


def _fit(text: str, budget: _Budget) -> str:
    """`text` if, quoted and escaped, it fits in what is left; else cut to fit, which leaves
    nothing for anything after it."""
    left = max(budget.left - 3, 0)  # quotes and a separator
    if str.__len__(text) <= left:
        quoted = len(encode_basestring(text))
        if quoted <= left + 2:
            budget.left -= quoted + 1
            return str.__str__(text)
    budget.left = 0
    fitted = cut(text, left)
    if len(encode_basestring(fitted)) > left + 2:  # escapes made it longer: assume the worst
        fitted = cut(fitted, left // 6)  # "\u0001" is six characters
    return fitted


def _key(key: object, depth: int, budget: _Budget) -> str:
    if isinstance(key, str):
        return _fit(key, budget)
    if isinstance(key, CONTAINERS):  # a tuple key: under the same budget as everything else
        return _fit(_dumps(_plain(key, False, depth + 1, budget)), budget)
    try:
        return _fit(printed(key, max(budget.left, 0)), budget)
    except (Exception, SystemExit):  # a key's __str__ may raise SystemExit too
        return _spend(UNPRINTABLE, budget)


def _plain(value: object, model: bool, depth: int, budget: _Budget) -> object:
    """A JSON-ready copy of at most about `budget.left` printed characters; strings under a model
    key are redacted as model names."""
    if isinstance(value, str):
        if model:  # a cut name is redacted too: no public model name is that long
            return _spend(redact_model(_fit(value, budget)), budget)
        return _fit(value, budget)
    if value is None or isinstance(value, bool):
        budget.left -= 6
        return value
    if isinstance(value, float):
        budget.left -= len(float.__repr__(value)) + 1
        return value
    if isinstance(value, int):
        if int.bit_length(value) > _INT_BITS:  # printing it would cost quadratic time
            return _spend(UNPRINTABLE, budget)
        digits = len(int.__repr__(value))
        if digits >= budget.left:
            budget.left = 0
            return MORE
        budget.left -= digits + 1
        return value
    special = by_type(value)
    if special is not None:
        return _fit(special, budget)
    if depth > _MAX_DEPTH:
        return _spend(MORE, budget)
    if isinstance(value, CONTAINERS):
        budget.left -= 3  # brackets and a separator
        if isinstance(value, dict):
            out: dict[str, object] = {}
            for key, item in value.items():
                if budget.left <= 0:
                    out[MORE] = MORE
                    break
                text = _key(key, depth, budget)
                if names_secret(text):  # {"auth": ("ann", "pw")}: the value goes, whatever it is
                    out[text] = _spend(SECRET, budget)
                    continue
                out[text] = _plain(item, model or is_model_key(text), depth + 1, budget)
            return out
        items: list[object] = []
        more = False
        for item in value:
            if budget.left <= 0:
                more = True
                break
            items.append(_plain(item, model, depth + 1, budget))
        if isinstance(value, (set, frozenset)):  # a stable order, the last item read's MORE last
            more = more or MORE in items
            items = sorted((item for item in items if item != MORE), key=repr)  # plain, bounded
        return [*items, MORE] if more else items
    try:
        name = object_name(value)  # a Model inside a list is still a model name
        if name is UNPRINTABLE:
            return _spend(UNPRINTABLE, budget)
        text = printed(value, max(budget.left, 0)) if name is None else redact_model(name)
    except (Exception, SystemExit):  # one unprintable item costs only itself
        return _spend(UNPRINTABLE, budget)
    return _fit(redact_model(text) if model and name is None else text, budget)


def _dumps(plain: object) -> str:
    return json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def stringify(value: object, model: bool = False) -> str:
    """Text for any value, at most about SCAN_LIMIT characters: containers as compact JSON (their
    strings redacted as model names when `model`), anything else as str(). Never raises."""
    try:
        if isinstance(value, CONTAINERS):
            return _dumps(_plain(value, model, 0, _Budget(_BUDGET)))
        return printed(value)
    except (Exception, SystemExit):  # a failing __str__, a container changed while it is read
        return UNPRINTABLE
