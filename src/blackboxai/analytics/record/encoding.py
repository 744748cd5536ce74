"""Compact JSON for our own records, as json.dumps(separators=(",", ":"), allow_nan=False) writes
it, for less: the C encoder that json builds anew on every call (half the cost of a line) is
built once. Where there is none (another interpreter), json's own encoder."""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii

__all__ = ["encode", "string"]


def _encoder() -> Callable[[object], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    plain = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
    if make is None:  # pragma: no cover - CPython always has it
        return plain.encode
    chunks = make(None, plain.default, encode_basestring_ascii, None, ":", ",", False, False, False)
    return lambda value: "".join(chunks(value, 0))


encode = _encoder()  # plain data only, never circular: no check for cycles is made
string = encode_basestring_ascii  # a str as that encoder writes it (in C)
