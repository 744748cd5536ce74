"""The spool's bound: the newest events stay, in order, the oldest are dropped and counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blackboxai.analytics.queue.spool import Spool


def line(i: int, pad: int = 100) -> str:
    return json.dumps({"id": str(i), "event": "e", "to": ["posthog"], "pad": "x" * pad})


@pytest.mark.parametrize("chunk", [1, 7, 50, 400])
def test_the_event_bound_keeps_the_newest_in_order_and_counts_the_rest(
    tmp_path: Path, chunk: int
) -> None:
    spool = Spool(tmp_path, max_events=100, max_bytes=10**9)
    for start in range(0, 1000, chunk):
        spool.append([line(i) for i in range(start, min(start + chunk, 1000))])
    ids = [int(str(r["id"])) for r in spool.records()]
    assert len(ids) <= 100 + 100 // 5 + chunk  # a check runs at least every fifth of the limit
    assert ids == list(range(1000 - len(ids), 1000))  # newest, contiguous, in order
    assert len(ids) + spool.dropped() == 1000


def test_the_byte_bound_holds_too(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_events=10**6, max_bytes=50_000)
    for start in range(0, 2000, 20):
        spool.append([line(i, pad=200) for i in range(start, start + 20)])
    size = spool.path.stat().st_size
    assert size <= 50_000 + 50_000 // 5 + 20 * 300
    ids = [int(str(r["id"])) for r in spool.records()]
    assert ids == list(range(2000 - len(ids), 2000))
    assert len(ids) + spool.dropped() == 2000


def test_a_torn_last_line_from_a_killed_writer_costs_only_that_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([line(i) for i in range(5)])
    with spool.path.open("ab") as handle:
        handle.write(b'{"id": "torn", "ev')  # SIGKILL mid-write
    spool.append([line(i) for i in range(5, 40)])
    assert [int(str(r["id"])) for r in spool.records()] == list(range(40))


def test_a_torn_line_does_not_break_the_bound(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_events=10, max_bytes=10**9)
    spool.append([line(i) for i in range(5)])
    with spool.path.open("ab") as handle:
        handle.write(b'{"id": "torn", "ev')
    spool.append([line(i) for i in range(5, 40)])
    ids = [int(str(r["id"])) for r in spool.records()]
    assert ids == list(range(40 - len(ids), 40)) and len(ids) >= 8


def test_clear_deletes_waiting_and_claimed_events(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append([line(i) for i in range(3)])
    spool.claim()
    spool.append([line(i) for i in range(3, 5)])
    assert spool.count() == 5
    assert spool.clear() == 5
    assert spool.count() == 0 and list(spool.records()) == []


def test_a_put_back_that_is_no_longer_wanted_writes_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    assert spool.append([line(0)]) is True
    assert spool.append([line(1)], still_wanted=lambda: False) is False
    assert [r["id"] for r in spool.records()] == ["0"]


def test_events_put_back_go_ahead_of_newer_ones_so_the_bound_drops_them_first(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, max_events=12, max_bytes=10**9)
    spool.append([line(i) for i in range(5, 10)])  # spooled while a run was sending 0-4
    with spool.path.open("ab") as handle:
        handle.write(b'{"id": "torn", "ev')  # and a writer killed mid-line
    assert spool.put_back([line(i) for i in range(5)], still_wanted=lambda: True)
    assert [r["id"] for r in spool.records()] == [str(i) for i in range(10)]
    assert spool.put_back([line(i) for i in range(-8, 0)], still_wanted=lambda: True)
    ids = [int(str(r["id"])) for r in spool.records()]
    assert ids == list(range(10 - len(ids), 10)) and spool.dropped() == 18 - len(ids)
    assert not spool.put_back([line(99)], still_wanted=lambda: False)


def test_clearing_nothing_writes_nothing(tmp_path: Path) -> None:
    """Before consent there is nothing to clear, and no file may appear: not even a lock."""
    empty = tmp_path / "data"
    empty.mkdir()
    assert Spool(empty).clear() == 0
    assert list(empty.iterdir()) == []
