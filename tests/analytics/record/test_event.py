"""The recorded line, as the audit log holds it: the same JSON whatever path wrote it, and an id
of its own for every event, in a forked child too (blackboxai.analytics.record.event, ids)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blackboxai.analytics import Analytics
from blackboxai.analytics.record.scrub import scrub_properties

SYSTEM = ("python_version", "os_platform", "os_release", "machine", "blackboxai_version")
FACTS = (*SYSTEM, "session_id")  # the run's own facts follow the machine's
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
_keys = st.one_of(
    st.sampled_from([*SYSTEM, "reason", "blocks", "edit_format"]), st.text(max_size=12)
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(props=st.dictionaries(_keys, _values, max_size=8), name=st.text(min_size=1, max_size=20))
def test_a_line_is_compact_json_and_the_system_properties_win(
    tmp_path: Path, props: dict[str, object], name: str
) -> None:
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    analytics = Analytics(logfile=log, data_dir=tmp_path / "data", env={}, tty=False)
    analytics.event(name, **{k: v for k, v in props.items() if k != "main_model"})
    analytics.close()
    (line,) = _lines(log)
    record = json.loads(line)
    # Written as the standard encoder writes it, whichever way the line was put together.
    assert line == json.dumps(record, separators=(",", ":"), allow_nan=False)
    assert list(record) == ["event", "properties", "user_id", "time", "id"]
    system = analytics.get_system_info()
    assert {k: record["properties"][k] for k in SYSTEM} == system  # a caller's "machine" too
    assert uuid.UUID(record["properties"]["session_id"]).version == 4
    assert list(record["properties"])[-len(FACTS) :] == list(FACTS) or any(
        k in props for k in FACTS
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["launched", "exit"]), st.dictionaries(_keys, _values, max_size=4)
        ),
        min_size=1,
        max_size=12,
    )
)
def test_events_of_one_shape_share_what_the_shape_decides_and_nothing_else(
    tmp_path: Path, events: list[tuple[str, dict[str, object]]]
) -> None:
    """One session records the same names and keys again and again: what is judged once per
    (name, keys) must never carry one event's values, or its time, into the next."""
    log = tmp_path / "log.jsonl"
    log.unlink(missing_ok=True)
    ticks = iter(range(1, 100))
    with Analytics(
        logfile=log, data_dir=tmp_path / "data", env={}, tty=False, clock=lambda: next(ticks) / 8
    ) as analytics:
        for name, props in events:
            analytics.event(name, **{k: v for k, v in props.items() if k != "main_model"})
    lines = _lines(log)
    assert len(lines) == len(events)
    for n, (line, (name, props)) in enumerate(zip(lines, events, strict=True), start=1):
        record = json.loads(line)
        assert line == json.dumps(record, separators=(",", ":"), allow_nan=False)
        assert record["event"] == name and record["time"] == round(n / 8, 3)
        own = {k: v for k, v in props.items() if k not in FACTS and k != "main_model"}
        recorded = {k: v for k, v in record["properties"].items() if k not in FACTS}
        assert recorded == json.loads(json.dumps(scrub_properties(own)))  # this event's values


def test_every_event_has_a_random_uuid_of_its_own(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with Analytics(logfile=log, data_dir=tmp_path / "data", env={}, tty=False) as analytics:
        for _ in range(300):  # past the 64 ids read from the random source at a time
            analytics.event("launched")
    ids = [json.loads(line)["id"] for line in _lines(log)]
    parsed = [uuid.UUID(i) for i in ids]
    assert len(set(ids)) == 300
    assert all(
        u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == i
        for u, i in zip(parsed, ids, strict=True)
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_never_repeats_its_parents_ids(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    analytics = Analytics(logfile=log, data_dir=tmp_path / "data", env={}, tty=False)
    analytics.event("launched")  # the parent has read a pool of random bytes
    pid = os.fork()
    if pid == 0:  # the child records as many as the parent will, then leaves at once
        try:
            for _ in range(10):
                analytics.event("exit")
        finally:
            os._exit(0)
    for _ in range(10):
        analytics.event("exit")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ids = [json.loads(line)["id"] for line in _lines(log)]
    assert len(ids) == 21 and len(set(ids)) == 21, sys.platform
