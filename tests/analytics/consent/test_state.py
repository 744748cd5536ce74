"""The consent state file and the Analytics API: private, atomic, and never raising."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blackboxai.analytics import Analytics, fileops
from blackboxai.analytics.consent.rules import Stored
from blackboxai.analytics.consent.state import State, StateError, StateStore
from blackboxai.analytics.defaults import MIXPANEL_DEFAULT_HOST
from blackboxai.analytics.destinations import Destination
from blackboxai.analytics.views.status import collect_status

STATE = "analytics.json"


def snapshot(path: Path) -> object:
    """The file's bytes, for a directory its listing, for a FIFO None: what 'unchanged' means."""
    if path.is_dir():
        return ("dir", sorted(p.name for p in path.iterdir()))
    if stat.S_ISFIFO(path.stat().st_mode):
        return None
    return path.read_bytes()


def leftovers(directory: Path) -> list[str]:
    """Temporary files of an interrupted or failed atomic write."""
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp") or p.name[0] == "."]


def stored(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / STATE).read_text())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- creation, permissions, atomicity -------------------------------------------------------------


def test_nothing_is_written_and_no_id_exists_before_consent(data_dir: Path) -> None:
    analytics = Analytics(logfile="log.jsonl")
    analytics.enable()
    analytics.event("launched")
    analytics.close()
    assert analytics.user_id is None
    assert not data_dir.exists()  # constructing, recording and closing write nothing
    assert json.loads(Path("log.jsonl").read_text())["user_id"] is None


def test_opting_in_creates_the_private_state_file_with_a_uuid4(data_dir: Path) -> None:
    analytics = Analytics()
    assert analytics.opt_in()
    state = stored(data_dir)
    assert uuid.UUID(state["uuid"]).version == 4
    assert state["uuid"] == analytics.user_id
    assert state["asked_opt_in"] is True and state["permanently_disable"] is False
    assert mode(data_dir / STATE) == 0o600
    assert mode(data_dir) == 0o700


def test_the_id_is_stable_across_instances(data_dir: Path) -> None:
    assert Analytics().opt_in()
    first = Analytics().user_id
    assert first is not None and Analytics().user_id == first
    assert stored(data_dir)["uuid"] == first


def test_status_creates_no_state_file(data_dir: Path) -> None:
    status = collect_status(Analytics())
    assert status["uuid"] is None and status["stored"] == "fresh"
    assert not (data_dir / STATE).exists()


def test_writes_leave_no_temporary_files(data_dir: Path) -> None:
    analytics = Analytics()
    assert analytics.opt_in()
    assert analytics.reset_id()
    assert analytics.disable(permanently=True)
    assert analytics.opt_in()
    assert leftovers(data_dir) == []
    assert stored(data_dir)["asked_opt_in"] is True


def test_a_failed_replace_keeps_the_old_file_and_no_temporary(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analytics = Analytics()
    assert analytics.opt_in()
    before = (data_dir / STATE).read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileops.os, "replace", broken_replace)
    assert analytics.reset_id() is False
    assert analytics.last_error is not None
    assert STATE in analytics.last_error and "No space left" in analytics.last_error
    assert (data_dir / STATE).read_bytes() == before
    assert leftovers(data_dir) == []
    # An opt-out still lands: the marker holds it while the file keeps its old content.
    assert analytics.disable(permanently=True) is True
    assert analytics.state.stored is Stored.DISABLED and analytics.state.marker
    assert analytics.last_error and "No space left" in analytics.last_error
    assert (data_dir / STATE).read_bytes() == before
    assert leftovers(data_dir) == []


def test_readers_never_see_a_torn_state_file(data_dir: Path) -> None:
    store = StateStore(data_dir)
    assert Analytics().opt_in()
    problems: list[str] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(60):
                store.update(lambda s, i=i: State(s.uuid, True, i % 2 == 0))
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        state = store.load()
        if state.problem is not None:
            problems.append(state.problem)
    thread.join()
    assert problems == []


def test_an_existing_loose_file_is_made_private_on_write(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / STATE
    path.write_text(
        json.dumps({"uuid": str(uuid.uuid4()), "asked_opt_in": False, "permanently_disable": False})
    )
    path.chmod(0o644)
    assert Analytics().opt_in()
    assert mode(path) == 0o600


def test_concurrent_first_opt_ins_agree_on_one_uuid(data_dir: Path) -> None:
    code = (
        "from blackboxai.analytics import Analytics; a = Analytics(); a.opt_in(); print(a.user_id)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(20)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    ids = {out.strip() for out, _ in outputs}
    assert len(ids) == 1
    (only,) = ids
    assert uuid.UUID(only).version == 4
    assert stored(data_dir)["uuid"] == only
    assert leftovers(data_dir) == []


# -- odd state files ------------------------------------------------------------------------------

ODD = {
    "invalid-json": b'{"uuid": "abc", ',
    "empty": b"",
    "a-list": b'["uuid", "asked_opt_in"]\n',
    "string-bool": json.dumps(
        {
            "uuid": "6f1c2f9e-3b7a-4c1e-9a51-2b7f0c0d8e11",
            "asked_opt_in": "true",
            "permanently_disable": False,
        }
    ).encode(),
    "bad-uuid": json.dumps(
        {"uuid": "not-a-uuid", "asked_opt_in": True, "permanently_disable": False}
    ).encode(),
    "nested": b"[" * 100_000 + b"]" * 100_000,  # valid JSON that json.loads cannot recurse
    "huge": json.dumps({"uuid": None, "pad": "x" * 100_000}).encode(),
    "directory": None,
    "fifo": None,
}


def make_odd(data_dir: Path, kind: str) -> Path:
    data_dir.mkdir(parents=True)
    path = data_dir / STATE
    content = ODD[kind]
    if kind == "fifo":  # opened for reading, a FIFO nobody writes to would block forever
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
        (path / "keep").write_text("x")
    else:
        path.write_bytes(content)
    return path


@pytest.fixture(params=[kind for kind in ODD if kind != "empty"])
def odd(request: pytest.FixtureRequest, data_dir: Path) -> Path:
    """The odd files a session is run over (subprocesses: kept to the distinct kinds)."""
    return make_odd(data_dir, request.param)


@pytest.mark.parametrize("kind", list(ODD))
def test_an_odd_state_file_means_no_reporting_and_no_question(data_dir: Path, kind: str) -> None:
    path = make_odd(data_dir, kind)
    before = snapshot(path)
    analytics = Analytics()
    assert analytics.state.stored is Stored.ODD
    assert analytics.state.problem
    for flag in (None, True, False):
        decision = analytics.decide(flag, tty=True)
        assert (decision.report, decision.ask) == (False, False)
    assert analytics.enable() is False
    assert analytics.user_id is None
    analytics.event("launched")
    analytics.close()
    assert snapshot(path) == before
    assert collect_status(analytics)["stored"] == "odd"


def test_a_session_leaves_an_odd_state_file_untouched(cli, odd: Path) -> None:
    before = snapshot(odd)
    for args in (["--exit"], ["--analytics", "--exit"]):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert snapshot(odd) == before


@pytest.mark.parametrize("args", [["--analytics-disable", "--exit"], ["analytics", "off"]])
def test_an_opt_out_replaces_any_odd_state_file(cli, odd: Path, args: list[str]) -> None:
    before = snapshot(odd)
    result = cli(*args, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "permanently disabled" in result.stdout + result.stderr
    state = stored(odd.parent)
    assert state["permanently_disable"] is True and state["asked_opt_in"] is True
    assert state["uuid"] is None  # an opt-out never needs an id
    assert Analytics().state.stored is Stored.DISABLED
    aside = list(odd.parent.glob(f"{STATE}.unusable-*"))
    if isinstance(before, tuple) or before is None:  # not a file: moved out of the way, kept
        assert len(aside) == 1 and snapshot(aside[0]) == before
    else:
        assert aside == []  # a broken file is simply replaced
    assert leftovers(odd.parent) == []


def test_an_odd_file_is_not_overwritten_without_asking(odd: Path) -> None:
    before = snapshot(odd)
    with pytest.raises(StateError) as info:
        StateStore(odd.parent).update(lambda s: State(s.uuid, True, False))
    assert str(odd) in str(info.value) and "\n" not in str(info.value)
    assert snapshot(odd) == before


# -- a data directory that cannot be created ------------------------------------------------------


@pytest.fixture
def blocked(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_DATA_HOME under a regular file: the data dir can be neither read nor created."""
    blocker = isolated / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "share"))
    return blocker


def test_an_uncreatable_data_dir_does_not_break_the_api(blocked: Path) -> None:
    analytics = Analytics(logfile="log.jsonl")
    assert analytics.state.stored is Stored.ODD
    assert analytics.user_id is None
    analytics.event("launched")
    assert analytics.disable(permanently=True) is False
    assert analytics.last_error and "\n" not in analytics.last_error
    assert analytics.opt_in() is False
    analytics.close()
    assert len(Path("log.jsonl").read_text().splitlines()) == 1
    assert blocked.read_text() == "not a directory"


def test_an_uncreatable_data_dir_still_lets_the_session_run(cli, blocked: Path) -> None:
    result = cli("--exit")
    assert result.returncode == 0
    assert "Traceback" not in result.stderr


def test_an_uncreatable_data_dir_makes_analytics_disable_fail_clearly(cli, blocked: Path) -> None:
    result = cli("--analytics-disable", "--exit")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "could not disable" in lines[0]
    assert "now permanently disabled" not in result.stdout + result.stderr


# -- StateStore -----------------------------------------------------------------------------------


def test_a_missing_file_loads_as_fresh(data_dir: Path) -> None:
    state = StateStore(data_dir).load()
    assert state == State() and state.stored is Stored.FRESH
    assert not data_dir.exists()


@pytest.mark.parametrize(
    ("asked", "disabled", "expected"),
    [
        (False, False, Stored.NOT_ASKED),
        (True, False, Stored.CONSENTED),
        (True, True, Stored.DISABLED),
        (False, True, Stored.DISABLED),
    ],
)
def test_stored_values_round_trip(
    data_dir: Path, asked: bool, disabled: bool, expected: Stored
) -> None:
    store = StateStore(data_dir)
    ident = str(uuid.uuid4())
    store.update(lambda s: State(ident, asked, disabled))
    assert store.load() == State(ident, asked, disabled)
    assert store.load().stored is expected


# -- the Analytics API ----------------------------------------------------------------------------


def test_constructor_defaults() -> None:
    analytics = Analytics()
    assert analytics.destinations == ()  # no built-in project key: PostHog is no destination
    assert analytics.reporting is False
    assert analytics.log_error is None


def test_constructor_takes_every_backend_setting() -> None:
    analytics = Analytics(
        posthog_host="http://127.0.0.1:9/ph",
        posthog_project_api_key="phc_k",
        mixpanel_token="mp_t",
        mixpanel_host="http://127.0.0.1:9/mp",
    )
    assert analytics.destinations == (
        Destination("posthog", "http://127.0.0.1:9/ph", "phc_k"),
        Destination("mixpanel", "http://127.0.0.1:9/mp", "mp_t"),
    )
    assert Analytics(mixpanel_token="t").destinations == (
        Destination("mixpanel", MIXPANEL_DEFAULT_HOST, "t"),
    )


def test_logfile_takes_a_path_and_records_every_event(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with Analytics(logfile=log) as analytics:
        analytics.event("one", n=1)
        analytics.event("two")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["event"] for r in records] == ["one", "two"]
    assert records[0]["properties"]["n"] == 1
    assert mode(log) == 0o600


def test_a_bad_logfile_is_reported_not_raised(tmp_path: Path) -> None:
    analytics = Analytics(logfile=tmp_path / "missing" / "log.jsonl")
    assert analytics.log_error and "missing" in analytics.log_error
    analytics.event("launched")  # still safe
    analytics.close()


def test_permanently_disable_kwarg_stores_the_opt_out(data_dir: Path) -> None:
    analytics = Analytics(permanently_disable=True)
    assert analytics.reporting is False
    assert analytics.state.stored is Stored.DISABLED
    state = stored(data_dir)
    assert state["permanently_disable"] is True and state["asked_opt_in"] is True


@pytest.mark.parametrize("setup", ["fresh", "not-asked", "disabled"])
def test_enable_without_stored_consent_does_not_report(data_dir: Path, setup: str) -> None:
    if setup == "not-asked":  # an id stored by an earlier release, no answer
        data_dir.mkdir(parents=True)
        (data_dir / STATE).write_text(json.dumps({"uuid": str(uuid.uuid4())}))
    elif setup == "disabled":
        Analytics().disable(permanently=True)
    analytics = Analytics()
    assert analytics.enable() is False
    assert analytics.reporting is False


def test_enable_with_stored_consent_reports() -> None:
    assert Analytics().opt_in()
    analytics = Analytics(posthog_project_api_key="phc_test", posthog_host="http://127.0.0.1:9")
    assert analytics.enable() is True and analytics.reporting is True
    analytics.disable(permanently=False)
    assert analytics.reporting is False


def test_disable_for_the_session_only_stores_nothing(data_dir: Path) -> None:
    analytics = Analytics()
    assert analytics.disable(permanently=False) is True
    assert not (data_dir / STATE).exists()
    assert Analytics().opt_in()
    before = (data_dir / STATE).read_bytes()
    assert Analytics().disable(permanently=False) is True
    assert (data_dir / STATE).read_bytes() == before


def test_disable_permanently_outlives_the_session(data_dir: Path) -> None:
    assert Analytics().opt_in()
    assert Analytics().disable(permanently=True) is True
    later = Analytics()
    assert later.enable() is False
    assert later.decide(True, tty=True).report is False


def test_need_to_ask() -> None:
    analytics = Analytics(tty=True, env={})
    assert analytics.need_to_ask(None) is True
    assert analytics.need_to_ask(True) is True
    assert analytics.need_to_ask(False) is False
    assert Analytics(tty=True, env={"DO_NOT_TRACK": "1"}).need_to_ask(None) is False
    assert Analytics(tty=True, env={"CI": "true"}).need_to_ask(True) is False
    assert analytics.opt_in()
    assert analytics.need_to_ask(None) is False  # already answered
    assert Analytics(tty=False, env={}).need_to_ask(None) is False


def test_close_is_idempotent_and_the_context_manager_closes(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with Analytics(logfile=log) as analytics:
        analytics.event("inside")
    analytics.close()
    analytics.event("after")  # must not raise
    lines = log.read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["inside"]


def test_the_context_manager_does_not_swallow_exceptions(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), Analytics(logfile=tmp_path / "l.jsonl"):
        _ = 1 / 0


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


class NastyKey(str):
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


def test_event_never_raises_on_odd_inputs(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    analytics = Analytics(logfile=log)
    analytics.event(
        "odd",
        obj=Unprintable(),
        nan=float("nan"),
        inf=-math.inf,
        huge="x" * 5_000_000,
        big=10**400,
        nested=[Unprintable(), {"k": float("nan")}, b"\x00"],
        raw=b"\xff\xfe",
        **{"": 1, "k" * 1000: 2, "new\nline": 3, NastyKey("nasty"): 4},
    )
    analytics.event(Unprintable())  # an unprintable name: dropped, not raised
    analytics.event(None)  # type: ignore[arg-type]
    analytics.event("x" * 10_000)
    analytics.close()
    records = [
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
        for line in log.read_text().splitlines()
    ]
    assert records[0]["event"] == "odd"
    props = records[0]["properties"]
    assert props["obj"] == "<unprintable>"
    assert props["nan"] is None and props["inf"] is None
    assert len(props["huge"]) <= 1000
    assert all(len(key) <= 100 for key in props)
    assert len(records[-1]["event"]) <= 100


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=50)
    | st.binary(max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=120), props=st.dictionaries(st.text(max_size=120), VALUES, max_size=6))
def test_every_event_becomes_one_strict_json_line(
    tmp_path: Path, name: str, props: dict[str, object]
) -> None:
    log = tmp_path / "fuzz.jsonl"
    log.unlink(missing_ok=True)
    analytics = Analytics(logfile=log)
    analytics.event(name, **props)
    analytics.close()
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0], parse_constant=lambda c: pytest.fail(f"constant {c}"))
    assert set(record) == {"event", "properties", "user_id", "time", "id"}
    assert all(not isinstance(v, (dict, list)) for v in record["properties"].values())


def test_events_of_an_analytics_object_dropped_without_close_still_reach_the_spool(
    data_dir: Path,
) -> None:
    import gc

    assert Analytics().opt_in()

    def session() -> None:  # a caller that forgets close() and lets the object go
        analytics = Analytics(posthog_project_api_key="phc_test", launcher=lambda config: None)
        assert analytics.enable()
        analytics.event("launched")

    session()
    gc.collect()
    assert [r["event"] for r in Analytics().spool.records()] == ["launched"]
