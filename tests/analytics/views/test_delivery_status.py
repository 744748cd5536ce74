"""What `analytics status` and `analytics send` say about delivery: true counts, plain words,
and nothing from upload.last.json (a file anyone could edit) reaches the terminal unbounded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import Backend, refused_url
from tests.support import mixpanel_at, posthog_at, spooled


def status_of(cli: Any) -> dict[str, str]:
    run = cli("analytics", "status")
    assert run.returncode == 0, run.stderr
    lines = {}
    for line in run.stdout.splitlines():
        head, _, rest = line.partition(":")
        lines.setdefault(head, rest.strip())
    return lines


def write_last(data_dir: Path, **fields: Any) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "upload.last.json").write_text(json.dumps({"time": time.time(), **fields}))


def test_both_services_failing_count_each_waiting_event_once(cli: Any, data_dir: Path) -> None:
    spooled(data_dir, 3, to=[posthog_at(refused_url()), mixpanel_at(refused_url())])
    send = cli("analytics", "send")
    assert send.returncode == 1
    assert "posthog: sent 0, rejected 0, kept 3 for later (ConnectionError)" in send.stdout
    assert "mixpanel: sent 0, rejected 0, kept 3 for later (ConnectionError)" in send.stdout
    assert "Waiting: 3 events kept for a later delivery." in send.stdout
    status = status_of(cli)
    assert status["Waiting"] == "3 events"
    assert "6" not in status["Last delivery"].split(": ", 1)[1]
    assert "posthog kept 3 for later (ConnectionError)" in status["Last delivery"]


def test_send_says_what_it_deleted_unsent_and_why(
    cli: Any, backend: Backend, data_dir: Path
) -> None:
    spooled(data_dir, 2, to=[posthog_at(backend.url)])
    spooled(data_dir, 1, to=[posthog_at(backend.url)], time=time.time() - 31 * 86_400)
    spooled(data_dir, 1, to=["posthog"])  # a record of the previous release
    send = cli("analytics", "send")
    assert send.returncode == 0 and "Nothing to send." not in send.stdout
    assert send.stdout.splitlines() == [
        "posthog: sent 2, rejected 0, kept 0 for later",
        "Deleted unsent: 1 expired (not delivered within 30 days of being recorded); "
        "1 recorded by an older release that did not say where to send them.",
    ]
    last = status_of(cli)["Last delivery"]
    assert "older release" in last and "consent" not in last


def test_a_refused_key_says_what_becomes_of_the_events_recorded_with_it(
    cli: Any, data_dir: Path
) -> None:
    with Backend(posthog_keys={"phc_right"}, mixpanel_tokens={"mp_right"}) as service:
        spooled(data_dir, 1, to=[mixpanel_at(service.url, "mp_wrong")])
        assert cli("analytics", "send").returncode == 1
    refused = status_of(cli)["Refused"]
    assert refused.startswith("mixpanel key refused (HTTP 401)")
    assert "events recorded with that token wait until they expire (30 days)" in refused
    assert "blackboxai analytics pending --clear" in refused
    assert "analytics-mixpanel-token" in refused  # where new events get theirs


JUNK = "\r\x1b]0;owned\x07\x1b[2Jred\x9b31m\u202e"


@pytest.mark.parametrize(
    "fields",
    [
        {"errors": {"posthog": "x" * 5000}},
        {"sent": {f"service-{i}": 1 for i in range(2000)}},
        {"errors": {"posthog": JUNK}, "refused": {"posthog" + JUNK: JUNK}},
        {"failures": [JUNK * 100] * 100, "set_aside": [JUNK]},
        {"sent": {"x" * 5000: 1}},
    ],
    ids=["long-error", "many-keys", "escapes", "long-lists", "long-key"],
)
def test_status_bounds_and_cleans_what_it_reads_from_the_delivery_record(
    cli: Any, data_dir: Path, fields: dict[str, Any]
) -> None:
    write_last(data_dir, **fields)
    out = cli("analytics", "status").stdout
    assert all(len(line) <= 900 for line in out.splitlines()), max(map(len, out.splitlines()))
    assert not any(c in out for c in "\r\x1b\x07\x9b\u202e")
    assert len(out) < 3000


@pytest.mark.parametrize(
    "fields",
    [{"sent": {"posthog": -5}}, {"kept": {"posthog": -1}}, {"waiting": -3}, {"failures": [1]}],
)
def test_a_negative_or_mistyped_count_is_no_delivery_record(
    cli: Any, data_dir: Path, fields: dict[str, Any]
) -> None:
    write_last(data_dir, **fields)
    assert status_of(cli)["Last delivery"] == "none yet"


def test_one_dropped_event_is_one(cli: Any, data_dir: Path) -> None:
    spooled(data_dir, 1)
    (data_dir / "spool.dropped").write_text("1")
    assert status_of(cli)["Waiting"] == "1 event (1 older one dropped: the queue was full)"
    (data_dir / "spool.dropped").write_text("-4")
    assert status_of(cli)["Waiting"] == "1 event"
