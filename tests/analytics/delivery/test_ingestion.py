"""The adapters, through the real SDKs, against a stand-in that applies the services' own rules."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any

import mixpanel
import pytest
import requests

from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.delivery.sinks import Answer, event_millis
from blackboxai.analytics.delivery.sinks.mixpanel import MixpanelSink
from blackboxai.analytics.delivery.sinks.posthog import PostHogSink, iso_time
from blackboxai.analytics.queue.launch import UploadConfig
from blackboxai.analytics.queue.spool import Spool
from blackboxai.analytics.queue.waiting import Record
from tests.loopback import Backend
from tests.support import config, mixpanel_at, posthog_at, spooled, threads_left

WEEK = 7 * 86_400


def record(**fields: Any) -> Record:
    base: Record = {
        "event": "e",
        "properties": {"n": 1},
        "user_id": str(uuid.uuid4()),
        "time": round(time.time(), 3),
        "id": str(uuid.uuid4()),
    }
    return {**base, **fields}


def track_event(age: float, token: str = "mp_token") -> dict[str, Any]:
    props = {"token": token, "distinct_id": "u1", "time": int(time.time() - age)}
    return {"event": "old", "properties": {**props, "$insert_id": "a1"}}


# -- what the services do, and what that means for the SDKs ------------------------------------


def test_track_drops_week_old_events_while_answering_status_1(backend: Backend) -> None:
    """The finding: the SDK's /track path reports success for events Mixpanel never files."""
    consumer = mixpanel.Consumer(events_url=backend.url + "/track", retry_limit=0)
    consumer.send("events", json.dumps([track_event(WEEK), track_event(60)]))  # no exception
    assert backend.answers == [("/track", 200)]
    assert len(backend.mixpanel) == 1 and len(backend.mixpanel_dropped) == 1
    assert backend.mixpanel_dropped[0]["properties"]["time"] < time.time() - 5 * 86_400


def test_the_sdks_own_import_path_calls_a_documented_success_an_error(backend: Backend) -> None:
    """Consumer.send("imports") posts form data and wants `status: 1`; /import answers
    `{"code": 200, "status": "OK", ...}`: the event is filed, the SDK raises anyway."""
    consumer = mixpanel.Consumer(import_url=backend.url + "/import", retry_limit=0)
    with pytest.raises((mixpanel.MixpanelException, KeyError)):
        consumer.send("imports", json.dumps([track_event(WEEK)]), api_secret="mp_token")
    assert len(backend.mixpanel) == 1 and backend.answers == [("/import", 200)]


def post_import(url: str, events: list[Any], token: str | None = "t", strict: bool = True) -> Any:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    if token is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{token}:".encode()).decode()
    body = gzip.compress(json.dumps(events).encode())
    params = {"strict": "1"} if strict else {}
    return requests.post(url + "/import", params=params, data=body, headers=headers, timeout=10)


def valid(i: int) -> dict[str, Any]:
    props = {"time": int(time.time() * 1000), "distinct_id": "u1", "$insert_id": f"id-{i}"}
    return {"event": "e", "properties": props}


def test_import_needs_the_token_as_basic_auth_and_takes_2000_events_at_most(
    backend: Backend,
) -> None:
    assert post_import(backend.url, [valid(0)], token=None).status_code == 401
    assert post_import(backend.url, [valid(i) for i in range(2001)]).status_code == 413
    answer = post_import(backend.url, [valid(i) for i in range(2000)])
    assert answer.status_code == 200
    assert answer.json() == {"code": 200, "num_records_imported": 2000, "status": "OK"}


def test_import_in_strict_mode_names_the_failed_records_and_takes_the_rest(
    backend: Backend,
) -> None:
    events = [valid(0), {**valid(1), "event": ""}, valid(2)]
    events[2]["properties"]["$insert_id"] = "not valid!"
    answer = post_import(backend.url, events)
    assert answer.status_code == 400
    body = answer.json()
    assert [f["index"] for f in body["failed_records"]] == [1, 2]
    assert body["num_records_imported"] == 1 and len(backend.mixpanel) == 1
    lax = post_import(backend.url, events, strict=False)  # without strict=1: silently dropped
    assert lax.status_code == 200 and lax.json()["num_records_imported"] == 1


@pytest.mark.parametrize(
    "bad",
    [{"id": "not-a-uuid"}, {"event": ""}, {"user_id": None}, {"user_id": ""}],
    ids=["non-uuid", "empty-name", "no-distinct-id", "empty-distinct-id"],
)
def test_one_bad_event_fails_a_whole_posthog_batch(backend: Backend, bad: dict[str, Any]) -> None:
    sink = PostHogSink(posthog_at(backend.url, "phc_test"), 2, 2)
    assert sink.send([record(), record(**bad), record()]).status == 400
    assert backend.posthog == []
    assert sink.send([record()]) == Answer(200)


def test_a_placeholder_key_is_answered_200_and_filed_nowhere() -> None:
    with Backend(posthog_keys={"phc_real"}) as service:
        sink = PostHogSink(
            posthog_at(service.url, "phc_blackboxai_project_key_set_by_maintainers"), 2, 2
        )
        assert sink.send([record()]) == Answer(200)
        assert service.posthog == [] and len(service.nowhere) == 1


def test_times_keep_their_milliseconds_the_same_way_on_every_send() -> None:
    r = record(time=1_700_000_000.123)
    assert event_millis(r) == 1_700_000_000_123
    assert iso_time(r) == "2023-11-14T22:13:20.123+00:00"
    assert event_millis(record(time=1_700_000_000)) == 1_700_000_000_000  # an older record
    for t in (1_700_000_000.001, 1_700_000_000.999, 1_799_999_999.5):
        assert event_millis(record(time=t)) == round(t * 1000)


# -- the adapters and a run, against the stand-in ----------------------------------------------


def test_a_week_old_event_reaches_mixpanel_through_import(data_dir: Path, backend: Backend) -> None:
    records = spooled(data_dir, 3, to=[mixpanel_at(backend.url)], time=time.time() - WEEK)
    outcome = deliver(config(data_dir))
    assert outcome.sent == {"mixpanel": 3} and backend.requests == ["/import"]
    counted = backend.mixpanel_counted()
    assert [e["properties"]["$insert_id"] for e in counted] == [r["id"] for r in records]
    assert counted[0]["properties"]["time"] == event_millis(records[0])
    assert counted[0]["properties"]["token"] == "mp_token"
    assert backend.mixpanel_dropped == []


def test_mixpanel_refuses_only_the_invalid_event_and_it_is_not_sent_again(
    data_dir: Path, backend: Backend
) -> None:
    to = [mixpanel_at(backend.url)]
    records = spooled(data_dir, 2, to=to)
    spooled(data_dir, 1, to=to, id="not valid!")  # $insert_id: at most 36 of [A-Za-z0-9-]
    records += spooled(data_dir, 2, to=to)
    outcome = deliver(config(data_dir))
    assert outcome.sent == {"mixpanel": 4} and outcome.rejected == {"mixpanel": 1}
    assert backend.answers == [("/import", 400)] and Spool(data_dir).count() == 0
    taken = {e["properties"]["$insert_id"] for e in backend.mixpanel}
    assert taken == {r["id"] for r in records}


def test_events_ahead_of_mixpanels_clock_wait_until_they_are_not(data_dir: Path) -> None:
    """/import refuses events more than an hour ahead of Mixpanel's own clock. With this
    computer's clock two hours fast, they are kept (not deleted as invalid) and said to be; once
    Mixpanel's clock has caught up, they go. PostHog corrects skew itself (`sent_at`)."""
    with Backend(now=lambda: time.time() - 2 * 3600) as service:
        records = spooled(data_dir, 3, to=[posthog_at(service.url), mixpanel_at(service.url)])
        first = deliver(config(data_dir))
        assert first.sent == {"posthog": 3} and first.rejected == {}
        assert first.kept == {"mixpanel": 3} and not first.complete
        assert "ahead of mixpanel's clock" in first.errors["mixpanel"]
        assert service.mixpanel == [] and Spool(data_dir).count() == 3
        service.now = time.time  # an hour and more later, by Mixpanel's clock
        second = deliver(config(data_dir))
    assert second.sent == {"mixpanel": 3} and second.complete
    assert [e["properties"]["$insert_id"] for e in service.mixpanel] == [r["id"] for r in records]
    assert len(service.posthog) == 3  # not sent again


def test_a_bad_event_in_a_posthog_batch_costs_only_itself(data_dir: Path, backend: Backend) -> None:
    to = [posthog_at(backend.url)]
    records = spooled(data_dir, 100, to=to)
    spooled(data_dir, 1, to=to, id="not-a-uuid")
    records += spooled(data_dir, 149, to=to)
    outcome = deliver(config(data_dir))
    assert outcome.sent == {"posthog": 249} and outcome.rejected == {"posthog": 1}
    assert backend.answers[0] == ("/batch/", 400)  # one request of 250, refused as a whole
    assert len(backend.answers) <= 20  # then halves, to isolate the bad one
    assert sorted(e["uuid"] for e in backend.posthog) == sorted(r["id"] for r in records)


@pytest.mark.parametrize("path", ["/import", "/batch/"])
def test_429_and_503_lose_nothing(data_dir: Path, backend: Backend, path: str) -> None:
    name = "mixpanel" if path == "/import" else "posthog"
    at = mixpanel_at if name == "mixpanel" else posthog_at
    records = spooled(data_dir, 3, to=[at(backend.url)])
    backend.fail(429, retry_after=1, path=path)
    backend.fail(503, path=path)
    waits: list[float] = []
    outcome = deliver(config(data_dir), sleep=waits.append)
    assert [s for _, s in backend.answers] == [429, 503, 200]
    # Backoffs of 2 and 4 s plus jitter (the first more than the 1 s asked), slept in slices.
    assert sum(waits) >= 6 and outcome.sent == {name: 3} and outcome.kept == {}
    got = backend.mixpanel_counted() if name == "mixpanel" else backend.posthog
    ids = [e["properties"]["$insert_id"] if name == "mixpanel" else e["uuid"] for e in got]
    assert ids == [r["id"] for r in records]


def test_a_refused_token_keeps_the_events(data_dir: Path) -> None:
    with Backend(mixpanel_tokens={"the-right-one"}) as service:
        spooled(data_dir, 2, to=[mixpanel_at(service.url, "a-wrong-one")])
        outcome = deliver(config(data_dir))
    assert outcome.kept == {"mixpanel": 2} and outcome.rejected == {}
    assert outcome.refused == {"mixpanel": f"key refused (HTTP 401) by {service.url}"}
    assert Spool(data_dir).count() == 2


def test_a_trickling_server_cannot_hold_a_run(data_dir: Path) -> None:
    with Backend("trickle") as service:
        spooled(data_dir, 2, to=[posthog_at(service.url), mixpanel_at(service.url)])
        start = time.monotonic()
        outcome = deliver(config(data_dir, request_timeout=1.0))
        took = time.monotonic() - start
    assert took < 5  # two requests of at most a second each; a read timeout alone never fires
    assert outcome.errors == {"posthog": "timed out", "mixpanel": "timed out"}
    assert outcome.kept == {"posthog": 2, "mixpanel": 2}


def test_the_stand_in_leaves_no_thread_behind(data_dir: Path) -> None:
    before = set(threading.enumerate())
    for mode in ("ok", "silent", "trickle"):
        with Backend(mode) as service:
            spooled(data_dir, 1, to=[posthog_at(service.url)])
            deliver(config(data_dir, request_timeout=0.5))
    # The server's threads are joined on leaving `with`; the run's abandoned request threads
    # (daemons) end once the server closes their socket.
    assert threads_left(before, timeout=10) == []


def test_batches_respect_each_services_limits(data_dir: Path, backend: Backend) -> None:
    spooled(data_dir, 2100, to=[posthog_at(backend.url), mixpanel_at(backend.url)])
    outcome = deliver(config(data_dir))
    assert outcome.sent == {"posthog": 2100, "mixpanel": 2100}
    assert backend.requests.count("/batch/") == 9  # 250 a request
    assert backend.requests.count("/import") == 2  # 2,000 a request
    assert all(a == 200 for _, a in backend.answers)
    big = "x" * 900
    spooled(data_dir, 3000, to=[mixpanel_at(backend.url)], properties={"pad": big})
    assert deliver(config(data_dir)).sent == {"mixpanel": 3000}
    assert [s for p, s in backend.answers if p == "/import"][2:] == [200, 200]  # under 2 MB each
    assert MixpanelSink.max_bytes < 2 * 1024 * 1024


def test_the_sdks_own_fields_win_over_properties_of_the_same_name(
    data_dir: Path, backend: Backend
) -> None:
    """A library caller's catalogue may name a property `distinct_id`, `token` or `time`: the
    event still goes under our id, token, time and $insert_id, and never carries an `ip`."""
    clash = {
        "distinct_id": "someone-else",
        "token": "another-project",
        "time": 86_400_000,
        "$insert_id": "not-the-id",
        "mp_lib": "x",
        "$lib_version": "0",
        "ip": "203.0.113.7",
        "kept": "yes",
    }
    records = spooled(data_dir, 2, to=[mixpanel_at(backend.url)], properties=clash)
    assert deliver(config(data_dir)).sent == {"mixpanel": 2}
    got = [e["properties"] for e in backend.mixpanel]
    assert [p["distinct_id"] for p in got] == [r["user_id"] for r in records]
    assert [p["$insert_id"] for p in got] == [r["id"] for r in records]
    assert [p["time"] for p in got] == [event_millis(r) for r in records]
    assert {p["token"] for p in got} == {"mp_token"} and {p["mp_lib"] for p in got} == {"python"}
    assert all("ip" not in p and p["kept"] == "yes" for p in got)


@pytest.mark.slow
def test_an_answer_later_than_5_s_but_within_the_request_bound_counts(data_dir: Path) -> None:
    """With the shipped bounds a request may take 10 s, and so may each read: a PostHog that
    acknowledges after 5.5 s has taken the batch, and the next run does not send it again."""
    with Backend(delay=5.5) as slow:
        records = spooled(data_dir, 3, to=[posthog_at(slow.url)])
        first = deliver(UploadConfig(str(data_dir)))
        second = deliver(UploadConfig(str(data_dir)))
    assert first.sent == {"posthog": 3} and first.complete
    assert second.sent == {} and Spool(data_dir).count() == 0
    assert sorted(e["uuid"] for e in slow.posthog) == sorted(r["id"] for r in records)


@pytest.mark.parametrize("path", ["/import", "/batch/"])
@pytest.mark.parametrize("wait", ["86400", "date"])
def test_a_retry_after_of_a_day_or_a_date_stops_that_service_for_the_run(
    data_dir: Path, backend: Backend, path: str, wait: str
) -> None:
    """Retry-After in seconds (however many) or as an HTTP date is honoured: a wait past the
    run's end means no more requests to that service in this run; the events are kept."""
    name = "mixpanel" if path == "/import" else "posthog"
    other = "posthog" if name == "mixpanel" else "mixpanel"
    records = spooled(data_dir, 3, to=[posthog_at(backend.url), mixpanel_at(backend.url)])
    after = formatdate(time.time() + 86_400, usegmt=True) if wait == "date" else wait
    backend.fail(429, times=10, retry_after=after, path=path)
    waits: list[float] = []
    outcome = deliver(config(data_dir), sleep=waits.append)
    assert waits == [] and backend.requests.count(path) == 1  # no 2/4/8 s backoff
    assert outcome.kept == {name: 3} and outcome.sent == {other: 3}
    assert "HTTP 429" in outcome.errors[name]
    assert [r["id"] for r in Spool(data_dir).records()] == [r["id"] for r in records]
