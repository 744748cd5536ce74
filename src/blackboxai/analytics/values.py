"""What a value that is not plain text may say, decided by its type before any text is scrubbed.

An exception says its type name (never its message), a path says `<path>`, bytes say `<bytes>`,
a model name (or an object with a string `.name`, as aider passes its Model objects) is redacted
like one, and a container is copied into plain JSON with these rules applied at every level,
including model-named keys inside it."""

from __future__ import annotations

import json
import os
import re
from itertools import islice

from blackboxai.analytics.models import redact_model
from blackboxai.analytics.patterns import PATH

__all__ = [
    "BYTES",
    "CONTAINERS",
    "UNPRINTABLE",
    "by_type",
    "is_model_key",
    "object_name",
    "stringify",
]

BYTES, UNPRINTABLE = "<bytes>", "<unprintable>"
CONTAINERS = (dict, list, tuple, set, frozenset)  # what stringify writes as JSON text
ITEM_LIMIT = 4000  # items read from one container: each prints >= 1 char, far past any cut
_MAX_DEPTH = 64  # deeper (or circular) containers are unprintable

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
    name = getattr(value, "name", None)
    return str.__str__(name) if isinstance(name, str) else None


def _plain(value: object, model: bool, depth: int) -> object:
    """A JSON-ready copy; strings under a model key are redacted as model names."""
    if isinstance(value, str):
        text = str.__str__(value)  # a plain str: a subclass could dodge the scrubber
        return redact_model(text) if model else text
    if value is None or isinstance(value, (bool, int, float)):
        return value
    special = by_type(value)
    if special is not None:
        return special
    if depth > _MAX_DEPTH:
        raise ValueError("too deep, or circular")
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in islice(value.items(), ITEM_LIMIT):
            text = str.__str__(key) if isinstance(key, str) else stringify(key)
            out[text] = _plain(item, model or is_model_key(text), depth + 1)
        return out
    if isinstance(value, (set, frozenset)):  # in a stable order: sorted by repr
        ordered = sorted(islice(value, ITEM_LIMIT), key=repr)
        return [_plain(item, model, depth + 1) for item in ordered]
    if isinstance(value, (list, tuple)):
        return [_plain(item, model, depth + 1) for item in islice(value, ITEM_LIMIT)]
    try:
        name = object_name(value)  # a Model inside a list is still a model name
        text = str.__str__(str(value)) if name is None else redact_model(name)
    except Exception:  # one unprintable item costs only itself
        return UNPRINTABLE
    return redact_model(text) if model and name is None else text


def stringify(value: object, model: bool = False) -> str:
    """Text for any value: containers as compact JSON (their strings redacted as model names
    when `model`), anything else as str(). Never raises."""
    try:
        if isinstance(value, CONTAINERS):
            return json.dumps(
                _plain(value, model, 0),
                sort_keys=True,
                ensure_ascii=False,
                separators=(",", ":"),
            )
        return str.__str__(str(value))
    except Exception:  # circular, too deep, an int too long to print, a failing __str__
        return UNPRINTABLE
