"""Each vendor adapter against the SDK release installed, through a loopback stand-in.

`scripts/lowest_versions.sh` runs this with posthog, mixpanel and requests at the floors that
pyproject.toml declares, so a floor below what the adapters call fails here, not for a user."""

from __future__ import annotations

import time
import uuid

import pytest

from blackboxai.analytics.backends import SinkError
from blackboxai.analytics.backends.mixpanel_sink import MixpanelSink
from blackboxai.analytics.backends.posthog_sink import PostHogSink
from loopback import Backend

USER = str(uuid.uuid4())


def records(count: int) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "event": "command_add",
            "properties": {"n": i},
            "user_id": USER,
            "time": round(now - i, 3),
            "id": str(uuid.uuid4()),
            "gen": 0,
            "to": [],
        }
        for i in range(count)
    ]


def test_the_posthog_adapter_delivers_a_batch_with_each_events_own_id(backend: Backend) -> None:
    batch = records(3)
    sink = PostHogSink(backend.url, "phc_test", 2.0, 2.0)
    try:
        sink.send(batch)
    finally:
        sink.close()
    assert [m["uuid"] for m in backend.posthog] == [r["id"] for r in batch]
    assert {m["distinct_id"] for m in backend.posthog} == {USER}
    assert [m["properties"]["n"] for m in backend.posthog] == [0, 1, 2]


def test_the_mixpanel_adapter_delivers_a_batch_with_each_events_own_id(backend: Backend) -> None:
    batch = records(3)
    sink = MixpanelSink(backend.url, "mp_token", 2.0, 2.0)
    try:
        sink.send(batch)
    finally:
        sink.close()
    assert [e["properties"]["$insert_id"] for e in backend.mixpanel] == [r["id"] for r in batch]
    assert {e["properties"]["distinct_id"] for e in backend.mixpanel} == {USER}
    assert [e["properties"]["n"] for e in backend.mixpanel] == [0, 1, 2]


def test_a_posthog_server_error_is_worth_a_retry_not_an_sdk_crash() -> None:
    with Backend(mode="error") as failing:
        sink = PostHogSink(failing.url, "phc_test", 2.0, 2.0)
        try:
            with pytest.raises(SinkError) as caught:
                sink.send(records(1))
        finally:
            sink.close()
    assert caught.value.kind == "retry"
    assert failing.requests == ["/batch/"]
