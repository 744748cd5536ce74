"""Progress per acknowledged batch: a run killed at any instant repeats at most one batch."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.queue.progress import Progress
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import Backend
from tests.support import MemorySink, config, mixpanel_at, posthog_at, spooled, start_uploader

HOST = "http://127.0.0.1:9"


def test_progress_reads_back_what_was_settled_and_skips_a_torn_line(tmp_path: Path) -> None:
    progress = Progress(tmp_path)
    progress.add(posthog_at(HOST), ["a", "b"])
    progress.add(mixpanel_at(HOST), ["a"])
    with progress.path.open("ab") as handle:
        handle.write(b'{"to": "x", "ids": ["c"')  # killed mid-write
    progress.add(posthog_at(HOST), ["d"])
    settled = progress.settled()
    assert sorted(map(sorted, settled.values())) == [["a"], ["a", "b", "d"]]
    assert progress.path.stat().st_mode & 0o777 == 0o600
    assert "phc_test" not in progress.path.read_text()  # destinations are named by a digest
    progress.clear()
    assert progress.settled() == {}


def test_a_claimed_file_left_by_a_killed_run_resends_nothing_already_taken(data_dir: Path) -> None:
    """The state a kill after two acknowledged batches leaves: the claimed file, its progress."""
    records = spooled(data_dir, 600, to=[posthog_at(HOST), mixpanel_at(HOST)])
    Spool(data_dir).claim()
    Progress(data_dir).add(posthog_at(HOST), [r["id"] for r in records[:500]])
    posthog, mixpanel = MemorySink(), MemorySink("mixpanel")
    outcome = deliver(config(data_dir), sinks={"posthog": posthog, "mixpanel": mixpanel})
    assert posthog.ids == [r["id"] for r in records[500:]]
    assert mixpanel.ids == [r["id"] for r in records]
    assert outcome.complete and not Progress(data_dir).path.exists()


def test_a_kill_between_putting_back_and_cleaning_up_sends_nothing_twice(data_dir: Path) -> None:
    """Both copies of the remaining events exist (put back, and still in the claimed file): each
    is sent once, and only where both copies say it still waits."""
    records = spooled(data_dir, 4, to=[posthog_at(HOST), mixpanel_at(HOST)])
    spool = Spool(data_dir)
    spool.claim()
    Progress(data_dir).add(posthog_at(HOST), [r["id"] for r in records])
    put_back = [{**r, "to": [mixpanel_at(HOST).to_json()]} for r in records]
    spool.append([json.dumps(r) for r in put_back])
    posthog, mixpanel = MemorySink(), MemorySink("mixpanel")
    deliver(config(data_dir), sinks={"posthog": posthog, "mixpanel": mixpanel})
    assert posthog.ids == [] and mixpanel.ids == [r["id"] for r in records]
    assert spool.count() == 0


@pytest.mark.slow
def test_sigkill_at_random_moments_repeats_at_most_the_batch_in_flight(data_dir: Path) -> None:
    rng = random.Random()
    kills = 0
    with Backend(delay=0.15) as service:  # each request takes a while: kills land mid-run
        records = spooled(data_dir, 2000, to=[posthog_at(service.url), mixpanel_at(service.url)])
        for _ in range(4):
            seen = len(service.posthog)
            uploader = start_uploader(data_dir)
            # Wait until this uploader has had something acknowledged, then kill it at a random
            # moment of what follows (inside a request, between them, while saving progress).
            if not service.wait_until(lambda s=seen: len(service.posthog) > s, 30):
                uploader.kill()
                uploader.wait()
                break
            time.sleep(rng.uniform(0, 0.3))  # a random instant after it
            uploader.send_signal(signal.SIGKILL)
            uploader.wait(30)
            kills += 1
        assert start_uploader(data_dir).wait(60) == 0
        requests = [[e["uuid"] for e in body["batch"]] for body in service.posthog_bodies]
        counted = len(service.mixpanel_counted())
    assert kills >= 1
    received = Counter(e for ids in requests for e in ids)
    assert set(received) == {r["id"] for r in records}  # nothing lost
    seen_before: set[str] = set()
    repeats = 0
    for ids in requests:
        repeats += bool(seen_before & set(ids))
        seen_before |= set(ids)
    assert repeats <= kills  # at most the batch in flight, once per kill
    assert sum(received.values()) - len(records) <= 250 * kills
    assert counted == 2000  # Mixpanel de-duplicates a repeat on (event, id, time, $insert_id)
    assert Spool(data_dir).count() == 0


def the_state_a_kill_leaves(data_dir: Path, url: str, both: bool) -> list[Any]:
    """600 events claimed; PostHog took the first 500 (noted in the progress), then a kill."""
    to = [posthog_at(url), mixpanel_at(url)] if both else [posthog_at(url)]
    records = spooled(data_dir, 600, to=to)
    Spool(data_dir).claim()
    Progress(data_dir).add(posthog_at(url), [r["id"] for r in records[:500]])
    return records


def test_waiting_events_leave_out_what_an_interrupted_run_already_delivered(
    data_dir: Path,
) -> None:
    records = the_state_a_kill_leaves(data_dir, HOST, both=False)
    spool = Spool(data_dir)
    assert spool.count() == 100
    assert [r["id"] for r in spool.records()] == [r["id"] for r in records[500:]]
    assert spool.clear() == 100


def test_waiting_events_show_only_the_destinations_they_still_wait_for(data_dir: Path) -> None:
    records = the_state_a_kill_leaves(data_dir, HOST, both=True)
    spool = Spool(data_dir)
    assert spool.count() == 600
    to = [r["to"] for r in spool.records()]
    assert to[:500] == [[mixpanel_at(HOST).to_json()]] * 500
    assert to[500:] == [[posthog_at(HOST).to_json(), mixpanel_at(HOST).to_json()]] * 100
    # A copy put back before the kill (it waits for Mixpanel only) is one event, not two.
    spool.append([json.dumps({**records[0], "to": [mixpanel_at(HOST).to_json()]})])
    assert spool.count() == 600


def test_status_pending_and_clear_count_what_really_waits(cli: Any, data_dir: Path) -> None:
    the_state_a_kill_leaves(data_dir, HOST, both=False)
    assert "Waiting:       100 events" in cli("analytics", "status").stdout
    pending = cli("analytics", "pending")
    assert len(pending.stdout.splitlines()) == 100 and "100 events waiting." in pending.stderr
    assert "Deleted 100 waiting events." in cli("analytics", "pending", "--clear").stdout
