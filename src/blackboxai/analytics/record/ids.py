"""Event ids: random (version 4) UUIDs, as uuid.uuid4() makes them, for less.

Each id holds 122 random bits from the operating system's source, read 64 ids at a time rather
than with one system call each. A forked child starts a pool of its own, so that parent and
child never hand out the same ids.
"""

from __future__ import annotations

import os

__all__ = ["event_id"]

_BATCH = 64  # ids per read of the random source
# The two variant bits of RFC 4122 are 10: a hex digit's low two bits choose among 8, 9, a, b.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _batch() -> list[str]:
    """_BATCH new ids, last first (they are handed out with pop())."""
    pool = os.urandom(16 * _BATCH).hex()
    ids = []
    for at in range(0, 32 * _BATCH, 32):
        h = pool[at : at + 32]  # the version digit (13th) is 4; 122 random bits are left
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}")
    return ids


_pool: list[str] = []


def event_id() -> str:
    """A new event id: a random UUID, as text."""
    try:
        return _pool.pop()
    except IndexError:
        _pool.extend(_batch())
        return _pool.pop()


def _restart() -> None:
    _pool.clear()  # the parent's ids stay the parent's


if hasattr(os, "register_at_fork"):  # POSIX; where there is no fork, there is nothing to share
    os.register_at_fork(after_in_child=_restart)
