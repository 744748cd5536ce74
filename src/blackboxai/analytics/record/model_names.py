"""Model names: a known public model is reported as given, anything else as "<provider>/REDACTED".

The public names, providers and name prefixes live in `model_names.json` beside this module; if it
cannot be read, every model is redacted (fail closed)."""

from __future__ import annotations

import json
import os
import re

__all__ = ["REDACTED", "known_models", "redact_model", "redacted_names"]

REDACTED = "REDACTED"

# Names redacted so far (by the name, stripped): the scrubber's loop reads it first.
redacted_names: dict[str, str] = {}
_catalogue: tuple[frozenset[str], frozenset[str], tuple[tuple[str, str], ...]] | None = None


def _load_catalogue() -> tuple[frozenset[str], frozenset[str], tuple[tuple[str, str], ...]]:
    global _catalogue
    if _catalogue is None:
        try:
            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_names.json")
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            prefixes = sorted(data["prefixes"].items(), key=lambda kv: -len(kv[0]))
            _catalogue = (
                frozenset(str(m).lower() for m in data["models"]),
                frozenset(str(p).lower() for p in data["providers"]),
                tuple((str(k).lower(), str(v).lower()) for k, v in prefixes),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            _catalogue = (frozenset(), frozenset(), ())  # fail closed: every model is redacted
    return _catalogue


def known_models() -> frozenset[str]:
    """Lower-case public model names that analytics may report verbatim."""
    return _load_catalogue()[0]


def _redact(name: str) -> str:
    models, providers, prefixes = _load_catalogue()
    *route, base = name.lower().split("/")
    # Kept only if every routing prefix is a known provider, so "acme-corp/gpt-4o" is redacted.
    if all(p in providers for p in route):
        undated = re.sub(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4})$", "", base)
        if base in models or undated in models:
            return name
    if route and route[0] in providers:
        return f"{route[0]}/{REDACTED}"
    for prefix, provider in prefixes:
        if base.startswith(prefix):
            return f"{provider}/{REDACTED}"
    return f"unknown/{REDACTED}"


def redact_model(name: str) -> str:
    """Keep a known public model name as given; anything else becomes "<provider>/REDACTED"."""
    try:
        name = name.strip()
        if not name:
            return f"unknown/{REDACTED}"
        if len(name) > 200:  # no public model name is that long; don't cache or lower() it all
            return _redact(name[:200])
        result = redacted_names.get(name)
        if result is None:
            if len(redacted_names) > 256:
                redacted_names.clear()
            result = redacted_names[name] = _redact(name)
        return result
    except Exception:
        return f"unknown/{REDACTED}"
