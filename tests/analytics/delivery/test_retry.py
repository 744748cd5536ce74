"""The retry layer and a run's decisions, with sinks in memory and an injected clock and sleep."""

from __future__ import annotations

import json
import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.state import StateStore
from blackboxai.analytics.delivery.outcome import Outcome
from blackboxai.analytics.delivery.retry import Verdict, bounded, classify
from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.delivery.sinks import Answer, retry_after
from blackboxai.analytics.fileops import locked
from blackboxai.analytics.queue.spool import Spool
from blackboxai.analytics.queue.waiting import Record
from tests.support import (
    OMIT,
    Destination,
    FailingSink,
    MemorySink,
    config,
    mixpanel_at,
    posthog_at,
    spooled,
)

HOST = "http://127.0.0.1:9"


class Clock:
    """A monotonic clock that moves only when told to, or when the run sleeps.

    A wait is slept in slices (consent is re-read between them); `waits` holds whole waits:
    slices slept with no look at the clock in between add up to one."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.slices = 0
        self._looked = True

    def __call__(self) -> float:
        self._looked = True
        return self.now

    def sleep(self, seconds: float) -> None:
        if self._looked:
            self.waits.append(0.0)
        self.waits[-1] += seconds
        self.slices += 1
        self._looked = False
        self.now += seconds


def run(data_dir: Path, sinks: Any, clock: Clock | None = None, **bounds: float) -> Outcome:
    clock = clock or Clock()
    return deliver(
        config(data_dir, **bounds), sinks=sinks, clock=clock, sleep=clock.sleep, rand=lambda: 0.5
    )


def waiting(data_dir: Path) -> list[dict[str, Any]]:
    return list(Spool(data_dir).records())


@pytest.mark.parametrize(
    ("answer", "size", "verdict"),
    [
        (Answer(200), 5, "ok"),
        (Answer(204), 5, "ok"),
        (Answer(400, failed=("x",)), 5, "ok"),  # Mixpanel's partial success
        (Answer(400, from_service=True), 5, "split"),  # PostHog: one bad event fails it all
        (Answer(400, from_service=True), 1, "reject"),
        (Answer(413, from_service=True), 5, "split"),
        (Answer(413, from_service=True), 1, "reject"),
        (Answer(400), 5, "foreign"),  # not in the service's words: a proxy's page, say
        (Answer(400), 1, "foreign"),
        (Answer(413), 5, "split"),  # a proxy's body limit: halves may pass, nothing is lost
        (Answer(413), 1, "foreign"),
        (Answer(401), 5, "refused"),
        (Answer(403), 1, "refused"),
        (Answer(408), 5, "retry"),
        (Answer(429), 1, "retry"),
        (Answer(500), 5, "retry"),
        (Answer(502), 5, "retry"),
        (Answer(503), 5, "retry"),
        (Answer(0), 5, "no-answer"),
        (Answer(-1), 5, "broken"),
        (Answer(404), 5, "other"),
        (Answer(301), 5, "other"),
    ],
)
def test_answers_are_classified_by_http_status_first(answer: Answer, size: int, verdict: str):
    assert classify(answer, size) is Verdict(verdict)


def test_a_429_waits_what_retry_after_asks_then_the_batch_goes_through(data_dir: Path) -> None:
    spooled(data_dir, 3, to=[posthog_at(HOST)])
    sink = MemorySink(answers=[Answer(429, retry_after=7), 200])
    clock = Clock()
    outcome = run(data_dir, {"posthog": sink}, clock)
    assert clock.waits == [7]  # more than the first backoff (2 s + jitter)
    assert outcome.sent == {"posthog": 3} and outcome.kept == {}
    assert len(sink.batches) == 2 and sink.batches[0] == sink.batches[1]
    assert waiting(data_dir) == []


def test_a_503_is_retried_with_growing_waits_then_kept_for_a_later_run(data_dir: Path) -> None:
    records = spooled(data_dir, 3, to=[posthog_at(HOST)])
    clock = Clock()
    outcome = run(data_dir, {"posthog": FailingSink("503")}, clock)
    assert clock.waits == [2.5, 4.5, 8.5]  # 2, 4, 8 s plus the (injected) jitter
    assert outcome.requests == {"posthog": 4}
    assert outcome.kept == {"posthog": 3} and outcome.sent == {}
    assert "503" in outcome.errors["posthog"] and not outcome.complete
    assert [r["id"] for r in waiting(data_dir)] == [r["id"] for r in records]
    assert [r["to"] for r in waiting(data_dir)] == [r["to"] for r in records]

    sink = MemorySink()
    assert run(data_dir, {"posthog": sink}).sent == {"posthog": 3}
    assert sink.ids == [r["id"] for r in records]


def test_a_retry_after_longer_than_the_run_keeps_the_batch_without_waiting(data_dir: Path) -> None:
    spooled(data_dir, 2, to=[posthog_at(HOST)])
    clock = Clock()
    outcome = run(data_dir, {"posthog": MemorySink(answers=[Answer(429, retry_after=3600)])}, clock)
    assert clock.waits == [] and outcome.kept == {"posthog": 2}


def test_no_wait_reaches_past_the_end_of_the_run(data_dir: Path) -> None:
    spooled(data_dir, 2, to=[posthog_at(HOST)])
    clock = Clock()
    outcome = run(data_dir, {"posthog": FailingSink("503")}, clock, send_time=9, request_timeout=3)
    assert clock.waits == [2.5]  # a 4.5 s wait would leave no room for a request
    assert outcome.kept == {"posthog": 2}


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_refused_key_keeps_everything_and_is_recorded(data_dir: Path, status: str) -> None:
    spooled(data_dir, 4, to=[posthog_at(HOST)])
    clock = Clock()
    outcome = run(data_dir, {"posthog": FailingSink(status)}, clock)
    assert clock.waits == [] and outcome.requests == {"posthog": 1}
    assert outcome.kept == {"posthog": 4} and outcome.rejected == {}
    assert outcome.refused == {"posthog": f"key refused (HTTP {status}) by {HOST}"}
    last = json.loads((data_dir / "upload.last.json").read_text())
    assert last["refused"] == outcome.refused and last["kept"] == {"posthog": 4}


def test_a_413_splits_the_batch_until_each_part_fits(data_dir: Path) -> None:
    records = spooled(data_dir, 250, to=[posthog_at(HOST)])
    sink = MemorySink(answers=[lambda b: 413 if len(b) > 70 else 200] * 100)
    outcome = run(data_dir, {"posthog": sink})
    assert outcome.sent == {"posthog": 250} and outcome.rejected == {}
    taken = [r["id"] for b in sink.batches if len(b) <= 70 for r in b]
    assert sorted(taken) == sorted(r["id"] for r in records)  # each taken exactly once
    assert waiting(data_dir) == []


def test_a_400_isolates_the_bad_events_and_drops_only_those(data_dir: Path) -> None:
    records = spooled(data_dir, 250, to=[posthog_at(HOST)])
    bad = {records[17]["id"], records[200]["id"]}

    def posthog(batch: list[Record]) -> int:  # one bad event fails the whole request
        return 400 if bad & {r["id"] for r in batch} else 200

    sink = MemorySink(answers=[posthog] * 100)
    outcome = run(data_dir, {"posthog": sink})
    assert outcome.sent == {"posthog": 248} and outcome.rejected == {"posthog": 2}
    assert outcome.requests["posthog"] <= 40  # two bisections of a 250-event batch, not 250
    taken = [r["id"] for b in sink.batches if not bad & {r["id"] for r in b} for r in b]
    assert sorted(taken) == sorted(r["id"] for r in records if r["id"] not in bad)
    assert waiting(data_dir) == [] and outcome.complete


def test_events_a_service_names_invalid_are_dropped_alone(data_dir: Path) -> None:
    records = spooled(data_dir, 5, to=[mixpanel_at(HOST)])
    sink = MemorySink("mixpanel", answers=[Answer(400, failed=(records[1]["id"],))])
    outcome = run(data_dir, {"mixpanel": sink})
    assert outcome.sent == {"mixpanel": 4} and outcome.rejected == {"mixpanel": 1}
    assert len(sink.batches) == 1 and waiting(data_dir) == []  # the rest was taken: no resend


def test_no_answer_is_not_retried_within_the_run(data_dir: Path) -> None:
    spooled(data_dir, 600, to=[posthog_at(HOST)])
    clock = Clock()
    outcome = run(data_dir, {"posthog": FailingSink("network")}, clock)
    assert outcome.requests == {"posthog": 1} and clock.waits == []
    assert outcome.errors == {"posthog": "ConnectionError"} and outcome.kept == {"posthog": 600}


def test_each_event_goes_to_its_own_destinations_in_time_order(data_dir: Path) -> None:
    a, b = posthog_at("http://127.0.0.1:1/a", "phc_a"), posthog_at("http://127.0.0.1:1/b", "phc_b")
    t0 = time.time() - 60
    for_a = spooled(data_dir, 3, to=[a], time=lambda i: t0 + 2 - i * 0.001)  # spooled newest first
    for_b = spooled(data_dir, 2, to=[b, mixpanel_at(HOST)], time=lambda i: t0 + i * 0.001)
    sinks = {a: MemorySink(), b: MemorySink(), mixpanel_at(HOST): MemorySink("mixpanel")}
    outcome = run(data_dir, sinks.__getitem__)
    assert sinks[a].ids == [r["id"] for r in reversed(for_a)]  # oldest first
    assert sinks[b].ids == [r["id"] for r in for_b]
    assert sinks[mixpanel_at(HOST)].ids == [r["id"] for r in for_b]
    assert outcome.sent == {"posthog": 5, "mixpanel": 2}


def test_one_failing_destination_never_affects_another(data_dir: Path) -> None:
    records = spooled(data_dir, 2, to=[posthog_at(HOST), mixpanel_at(HOST)])
    posthog = MemorySink()
    outcome = run(data_dir, {"posthog": posthog, "mixpanel": FailingSink("network", "mixpanel")})
    assert outcome.sent == {"posthog": 2} and outcome.kept == {"mixpanel": 2}
    assert [r["to"] for r in waiting(data_dir)] == [[mixpanel_at(HOST).to_json()]] * 2
    again = MemorySink()
    assert run(data_dir, {"posthog": again, "mixpanel": MemorySink("mixpanel")}).complete
    assert posthog.ids == [r["id"] for r in records] and again.ids == []  # not resent to PostHog


@pytest.mark.parametrize("why", ["unknown adapter", "SDK fails to load"])
def test_an_unusable_destination_keeps_its_events_and_never_sends_them_elsewhere(
    data_dir: Path, why: str
) -> None:
    odd = Destination("nosuch", HOST, "k") if why == "unknown adapter" else posthog_at(HOST)
    records = spooled(data_dir, 3, to=[odd])
    mine = spooled(data_dir, 2, to=[mixpanel_at(HOST)])
    other = MemorySink("mixpanel")

    def factory(d: Destination) -> Any:
        if d == odd:
            raise LookupError(why) if why == "unknown adapter" else ImportError("broken")
        return other

    outcome = run(data_dir, factory)
    assert other.ids == [r["id"] for r in mine]
    assert [r["id"] for r in waiting(data_dir)] == [r["id"] for r in records]
    assert outcome.kept == {odd.name: 3}
    assert outcome.errors[odd.name].startswith("unavailable (")


def test_a_sink_that_raises_is_contained_and_its_events_wait(data_dir: Path) -> None:
    spooled(data_dir, 1, to=[posthog_at(HOST)])
    outcome = run(data_dir, {"posthog": FailingSink("raise")})
    assert outcome.errors == {"posthog": "SDK error RuntimeError"}
    assert outcome.kept == {"posthog": 1} and len(waiting(data_dir)) == 1


def test_records_of_the_previous_release_are_deleted_unsent_and_counted(data_dir: Path) -> None:
    old = {"to": ["posthog", "mixpanel"], "time": int(time.time()), "gen": OMIT}
    spooled(data_dir, 3, **old)
    mine = spooled(data_dir, 1, to=[posthog_at(HOST)])
    sink = MemorySink()
    outcome = run(data_dir, {"posthog": sink, "mixpanel": MemorySink("mixpanel")})
    assert sink.ids == [mine[0]["id"]]
    assert outcome.old_format == 3 and outcome.discarded == 0 and waiting(data_dir) == []


def test_events_past_the_age_bound_expire_unsent_and_are_counted(data_dir: Path) -> None:
    t = time.time()
    spooled(data_dir, 2, to=[posthog_at(HOST)], time=t - 31 * 86_400)
    week = spooled(data_dir, 3, to=[posthog_at(HOST)], time=lambda i: t - 7 * 86_400 + i)
    sink = MemorySink()
    outcome = run(data_dir, {"posthog": sink})
    assert outcome.expired == 2 and sink.ids == [r["id"] for r in week]


def test_events_of_another_id_or_generation_are_never_sent(data_dir: Path) -> None:
    spooled(data_dir, 1, to=[posthog_at(HOST)], user_id="9b1f7d0e-3f0a-4a8e-9a57-1c2d3e4f5a6b")
    spooled(data_dir, 1, to=[posthog_at(HOST)], gen=StateStore(data_dir).load().generation + 1)
    sink = MemorySink()
    outcome = run(data_dir, {"posthog": sink})
    assert sink.batches == [] and outcome.discarded == 2 and waiting(data_dir) == []


def test_an_opt_out_mid_run_stops_after_the_batch_in_flight(data_dir: Path) -> None:
    spooled(data_dir, 600, to=[posthog_at(HOST)])

    def opt_out(batch: list[Record]) -> int:
        StateStore(data_dir).update(lambda s: s.__class__(s.uuid, True, True))
        return 200

    sink = MemorySink(answers=[opt_out])
    outcome = run(data_dir, {"posthog": sink})
    assert len(sink.ids) == 250 and outcome.sent == {"posthog": 250}
    assert outcome.discarded == 350  # only events never sent
    assert waiting(data_dir) == [] and list(data_dir.glob("claimed-*")) == []


# Each way consent moves while a batch waits: opting out, a new id, the queue cleared (all three
# as the CLI does them, from another process's point of view: the state file and the spool).
CHANGES = {
    "opt-out": lambda d: Analytics(data_dir=d).disable(permanently=True),
    "reset-id": lambda d: Analytics(data_dir=d).reset_id(),
    "clear": lambda d: Analytics(data_dir=d).clear_pending() >= 0,
}


@pytest.mark.parametrize("change", CHANGES)
def test_consent_moving_during_a_retry_wait_ends_the_wait_and_nothing_is_sent_again(
    data_dir: Path, change: str
) -> None:
    spooled(data_dir, 5, to=[posthog_at(HOST)])
    sink = MemorySink(answers=[Answer(503, retry_after=8)])
    clock = Clock()
    sleep = clock.sleep

    def changing(seconds: float) -> None:  # consent moves one slice into the 8 s wait
        sleep(seconds)
        if clock.slices == 1:
            assert CHANGES[change](data_dir)

    clock.sleep = changing  # type: ignore[method-assign]
    outcome = run(data_dir, {"posthog": sink}, clock)
    assert len(sink.batches) == 1  # the retry never went out
    assert clock.slices == 1 and clock.waits[0] < 8  # the wait ended at the next look
    assert outcome.sent == {} and outcome.kept == {} and outcome.discarded == 5
    assert "posthog" not in outcome.errors  # not kept for later: deleted
    assert waiting(data_dir) == [] and list(data_dir.glob("claimed-*")) == []


def test_halves_of_a_split_batch_are_not_sent_once_consent_moved(data_dir: Path) -> None:
    spooled(data_dir, 8, to=[posthog_at(HOST)])

    def opt_out(batch: list[Record]) -> Answer:  # a bad event somewhere, and an opt-out meanwhile
        assert Analytics(data_dir=data_dir).disable(permanently=True)
        return Answer(400, from_service=True)

    sink = MemorySink(answers=[opt_out])
    outcome = run(data_dir, {"posthog": sink})
    assert len(sink.batches) == 1 and outcome.requests == {"posthog": 1}
    assert outcome.rejected == {} and outcome.discarded == 8 and waiting(data_dir) == []


def test_the_run_starts_no_batch_it_could_not_finish_in_time(data_dir: Path) -> None:
    spooled(data_dir, 2500, to=[posthog_at(HOST), mixpanel_at(HOST)])
    clock = Clock()

    def slow(batch: list[Record]) -> int:
        clock.now += 4  # each request takes 4 s
        return 200

    sink, mixpanel = MemorySink(answers=[slow] * 10), MemorySink("mixpanel")
    sinks = {"posthog": sink, "mixpanel": mixpanel}
    outcome = run(data_dir, sinks, clock, send_time=20, request_timeout=5)
    # Requests start at 0, 4, 8 and 12 s; at 16 s only 4 s are left, under 5 s + the margin.
    assert len(sink.batches) == 4 and outcome.sent == {"posthog": 1000}
    assert mixpanel.batches == []  # nor does any other destination's
    assert outcome.kept == {"posthog": 1500, "mixpanel": 2500}
    out_of_time = "out of time for this run"
    assert outcome.errors == {"posthog": out_of_time, "mixpanel": out_of_time}
    assert len(waiting(data_dir)) == 2500


def test_a_request_is_bounded_as_a_whole() -> None:
    stuck = threading.Event()
    start = time.monotonic()
    answer = bounded(lambda: Answer(200) if stuck.wait(30) else Answer(0), 0.3)
    assert answer == Answer(0, detail="timed out") and time.monotonic() - start < 5
    stuck.set()


def test_a_busy_run_waits_for_the_lock_within_its_bound(data_dir: Path) -> None:
    spooled(data_dir, 1, to=[posthog_at(HOST)])
    sink = MemorySink()
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with locked(data_dir / "upload.lock"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    assert run(data_dir, {"posthog": sink}, lock_wait=0.2).busy  # gave up: the bound held
    timer = threading.Timer(0.3, release.set)
    timer.start()
    outcome = run(data_dir, {"posthog": sink}, lock_wait=20)
    holder.join()
    assert not outcome.busy and outcome.sent == {"posthog": 1}


def test_the_last_delivery_says_what_really_happened(data_dir: Path) -> None:
    t = time.time()
    spooled(data_dir, 2, to=[posthog_at(HOST)])
    spooled(data_dir, 1, to=[mixpanel_at(HOST)])
    spooled(data_dir, 1, to=[posthog_at(HOST)], time=t - 40 * 86_400)
    spooled(data_dir, 1, to=["posthog"])
    sinks = {"posthog": MemorySink(answers=[400, 400]), "mixpanel": FailingSink("503", "mixpanel")}
    run(data_dir, sinks)
    last = json.loads((data_dir / "upload.last.json").read_text())
    assert last["sent"] == {"posthog": 1} and last["rejected"] == {"posthog": 1}
    assert last["kept"] == {"mixpanel": 1} and "503" in last["errors"]["mixpanel"]
    assert (last["expired"], last["old_format"], last["discarded"]) == (1, 1, 0)
    assert (last["waiting"], last["failures"], last["busy"]) == (1, [], False)
    assert isinstance(last["time"], float) and abs(last["time"] - t) < 60


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("86400", 86_400.0),
        ("604800", 604_800.0),
        (" 12 ", 12.0),
        (3.5, 3.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date gone by: try now
        ("-1", None),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_retry_after_reads_seconds_of_any_size_and_http_dates(value: object, seconds: object):
    assert retry_after(value) == seconds


def test_retry_after_counts_a_date_from_now() -> None:
    now = time.time()
    assert retry_after(formatdate(now + 3 * 86_400, usegmt=True), now=lambda: now) == pytest.approx(
        3 * 86_400, abs=1
    )


@pytest.mark.parametrize("after", [86_400.0, 30.5, float("inf")])
def test_a_wait_asked_past_the_run_stops_the_service_at_once(data_dir: Path, after: float) -> None:
    spooled(data_dir, 2, to=[posthog_at(HOST)])
    clock = Clock()
    sink = MemorySink(answers=[Answer(429, retry_after=after)] * 5)
    outcome = run(data_dir, {"posthog": sink}, clock)
    assert clock.waits == [] and len(sink.batches) == 1
    assert outcome.kept == {"posthog": 2} and "HTTP 429" in outcome.errors["posthog"]
