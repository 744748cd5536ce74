"""A destination's waiting events cut into requests: at most so many events and bytes each."""

from __future__ import annotations

from collections.abc import Iterator

from blackboxai.analytics.queue.waiting import Waiting

__all__ = ["batches"]


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
