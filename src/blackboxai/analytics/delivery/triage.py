"""What a run does with each claimed event: deleted unsent (and why), or sent, its destination's
events cut into requests of at most so many events and bytes. Pure: the state and the time are
arguments."""

from __future__ import annotations

from collections.abc import Iterator

from blackboxai.analytics.consent.rules import may_send
from blackboxai.analytics.consent.state import State
from blackboxai.analytics.defaults import EVENT_MAX_AGE_DAYS
from blackboxai.analytics.queue.waiting import Record, Waiting, epoch_seconds

__all__ = ["allowed", "batches", "may_leave", "why_gone"]

_MAX_AGE = EVENT_MAX_AGE_DAYS * 86_400.0


def batches(items: list[Waiting], max_batch: int, max_bytes: int) -> Iterator[list[Waiting]]:
    batch: list[Waiting] = []
    size = 0
    for item in items:
        if batch and (len(batch) >= max_batch or size + item.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.size
    if batch:
        yield batch


def why_gone(state: State, item: Waiting, when: float, required: bool = False) -> str | None:
    """Why a claimed event is deleted unsent, or None when it may still go."""
    if item.problem is not None:
        return item.problem
    if not allowed(state, item, required):
        return "consent"
    at = epoch_seconds(item.record.get("time"))
    if at is not None and at - when > _MAX_AGE:  # the clock was (or is) wrong: not an age
        return "future"
    if at is None or when - at > _MAX_AGE:  # recorded too long ago
        return "expired"
    return None


def allowed(state: State, item: Waiting, required: bool = False) -> bool:
    return may_leave(state, item.record, required)


def may_leave(state: State, record: Record, required: bool = False) -> bool:
    """Whether an event may still leave: by the user's consent, held without a break since it
    was recorded, or, for what the machine's policy alone sends, while it is still `required`."""
    if record.get("by") == "policy":
        return required
    return may_send(state.stored, state.uuid, state.generation, record)
