"""Analytics as a library: the promises of issue #13 (and #15) hold for any caller, in any order.

Observed through the real spool, the audit log and the state file; the uploader is replaced
by the `launcher` seam, and the one destination is a loopback port nothing listens on.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.consent.rules import Stored, may_send
from blackboxai.analytics.consent.state import State, StateStore
from blackboxai.analytics.defaults import BUFFER_EVENTS
from blackboxai.analytics.queue.launch import UploadConfig
from blackboxai.analytics.queue.outbox import LAUNCH_AFTER
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import refused_url
from tests.support import REPO, FullDiskSpool

HOST = "http://127.0.0.1:9"  # nothing listens there; nothing may reach beyond 127.0.0.1
KEY = "phc_test"
POSTHOG = {"name": "posthog", "host": HOST, "key": KEY}
DOCS = REPO / "docs" / "library.md"


class Launches:
    """The launcher seam: remembers each uploader start instead of spawning one."""

    def __init__(self) -> None:
        self.configs: list[UploadConfig] = []

    def __call__(self, config: UploadConfig) -> None:
        self.configs.append(config)


def make(data_dir: Path, *, env: dict[str, str] | None = None, **kwargs: Any) -> Analytics:
    """An embedded Analytics as a careful caller builds it: its own data dir and destination."""
    kwargs.setdefault("launcher", Launches())
    kwargs.setdefault("tty", False)
    return Analytics(
        data_dir=data_dir,
        posthog_host=HOST,
        posthog_project_api_key=KEY,
        env={} if env is None else env,
        **kwargs,
    )


def consent(data_dir: Path) -> str:
    """The user says yes through another Analytics object, as another process would."""
    other = Analytics(data_dir=data_dir)
    assert other.opt_in()
    assert other.user_id is not None
    return other.user_id


def reporting(data_dir: Path, **kwargs: Any) -> Analytics:
    """make(), after the user said yes elsewhere, and enable()d: reporting from the start."""
    consent(data_dir)
    analytics = make(data_dir, **kwargs)
    assert analytics.enable()
    return analytics


def spooled(data_dir: Path) -> list[dict[str, Any]]:
    return list(Spool(data_dir).records())


def names(data_dir: Path) -> list[str]:
    return [str(r["event"]) for r in spooled(data_dir)]


def logged(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def stored(data_dir: Path) -> State:
    return StateStore(data_dir).load()


def write_aider_state(data_dir: Path) -> str:
    """A state file in aider's format (no generation, no catalogue version): consent to v1."""
    ident = str(uuid.uuid4())
    data_dir.mkdir(parents=True, exist_ok=True)
    body = {"uuid": ident, "asked_opt_in": True, "permanently_disable": False}
    (data_dir / "analytics.json").write_text(json.dumps(body))
    return ident


def put_back(data_dir: Path, lines: list[str]) -> None:
    """What an uploader does with a batch it could not send: append it again, under the spool
    lock, only if the consent rule (consent.may_send) still allows every record."""
    store = StateStore(data_dir)

    def wanted() -> bool:
        state = store.load()
        return all(
            may_send(state.stored, state.uuid, state.generation, json.loads(line)) for line in lines
        )

    Spool(data_dir).append(lines, still_wanted=wanted)


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )


@dataclasses.dataclass
class Model:
    """Shaped like aider's Model: a dataclass whose repr shows its name."""

    name: str
    edit_format: str = "diff"


PRIVATE = "ft:gpt-4o:acme-corp:secret-project:9x8y7z"


# -- one gate: the rules win over enable() -----------------------------------------------------


def test_without_consent_enable_reports_nothing_and_writes_nothing_to_the_data_dir(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    launches = Launches()
    analytics = make(data_dir, logfile=log, tty=True, launcher=launches)
    assert analytics.need_to_ask(None) is True
    assert analytics.enable() is False
    analytics.event("launched")
    analytics.flush()
    assert analytics.pending_count() == 0
    assert analytics.disable(permanently=False)
    assert analytics.enable() is False
    analytics.event("exit", reason="eof")
    analytics.close()
    assert analytics.user_id is None and analytics.reporting is False
    assert not data_dir.exists()
    assert launches.configs == []
    assert [(r["event"], r["user_id"]) for r in logged(log)] == [
        ("launched", None),
        ("exit", None),
    ]


@pytest.mark.parametrize(
    ("env", "flag"),
    [
        ({"DO_NOT_TRACK": "1"}, None),
        ({"DO_NOT_TRACK": "1"}, True),
        ({"CI": "true"}, None),
        ({"GITHUB_ACTIONS": "true"}, None),
        ({}, False),
    ],
    ids=[
        "do-not-track",
        "do-not-track-with-analytics-flag",
        "ci",
        "github-actions",
        "no-analytics",
    ],
)
def test_a_session_rule_against_reporting_wins_over_enable_and_over_a_yes(
    data_dir: Path, tmp_path: Path, env: dict[str, str], flag: bool | None
) -> None:
    ident = consent(data_dir)
    log = tmp_path / "log.jsonl"
    launches = Launches()
    analytics = make(data_dir, env=env, tty=True, logfile=log, launcher=launches)
    assert analytics.need_to_ask(flag) is False
    assert analytics.enable() is False
    analytics.event("launched")
    assert analytics.opt_in()  # a yes stored during the session changes nothing
    assert analytics.enable() is False
    analytics.event("exit", reason="eof")
    analytics.flush()
    analytics.close()
    assert spooled(data_dir) == []
    assert launches.configs == []
    assert [r["user_id"] for r in logged(log)] == [ident, ident]  # the log still records


def test_decide_false_holds_like_need_to_ask_false(data_dir: Path) -> None:
    consent(data_dir)
    launches = Launches()
    analytics = make(data_dir, launcher=launches)
    assert analytics.decide(False).report is False
    assert analytics.enable() is False
    analytics.event("launched")
    analytics.close()
    assert spooled(data_dir) == [] and launches.configs == []


def test_ci_reports_only_with_an_explicit_analytics_flag(data_dir: Path) -> None:
    consent(data_dir)
    analytics = make(data_dir, env={"CI": "1"})
    assert analytics.need_to_ask(True) is False  # never asked in CI, even with the flag
    assert analytics.enable() is True
    analytics.event("launched")
    analytics.close()
    assert names(data_dir) == ["launched"]


def test_no_analytics_given_after_enable_still_wins(data_dir: Path) -> None:
    consent(data_dir)
    launches = Launches()
    analytics = make(data_dir, launcher=launches)
    assert analytics.enable() is True
    assert analytics.need_to_ask(False) is False  # --no-analytics, read after enable()
    for _ in range(BUFFER_EVENTS):  # the buffer spills to the spool on its own
        analytics.event("command_help")
    analytics.close()
    assert spooled(data_dir) == []
    assert launches.configs == []


ORDERS = {
    "ask-yes-enable": ("ask", "yes", "enable"),
    "enable-yes": ("enable", "yes"),
    "ask-enable-yes": ("ask", "enable", "yes"),
    "enable-ask-yes": ("enable", "ask", "yes"),
    "yes-ask-enable": ("yes", "ask", "enable"),
    "ask-analytics-flag-enable-yes": ("ask-flag", "enable", "yes"),
}


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_asking_answering_and_enabling_in_any_order_deliver_what_follows_consent(
    data_dir: Path, tmp_path: Path, order: tuple[str, ...]
) -> None:
    log = tmp_path / "log.jsonl"
    launches = Launches()
    analytics = make(data_dir, tty=True, logfile=log, launcher=launches)
    analytics.event("launched")  # before any consent: never sent
    steps: dict[str, Callable[[], object]] = {
        "ask": lambda: analytics.need_to_ask(None),
        "ask-flag": lambda: analytics.need_to_ask(True),
        "yes": analytics.opt_in,
        "enable": analytics.enable,
    }
    for step in order:
        steps[step]()
    assert analytics.reporting is True
    analytics.event("exit", reason="eof")
    analytics.close()

    state = stored(data_dir)
    assert state.stored is Stored.CONSENTED and state.uuid == analytics.user_id
    [record] = spooled(data_dir)
    assert record["event"] == "exit"
    assert record["properties"]["reason"] == "eof"
    assert record["to"] == [POSTHOG]
    assert record["gen"] == state.generation
    assert record["user_id"] == state.uuid
    assert uuid.UUID(str(record["id"])).version == 4
    assert record["id"] == logged(log)[-1]["id"]  # the same event the user's log shows
    assert [c.data_dir for c in launches.configs] == [str(data_dir)]  # one uploader, at close


def test_each_event_is_fixed_to_every_configured_destination(data_dir: Path) -> None:
    analytics = reporting(
        data_dir, mixpanel_token="mp_token", mixpanel_host="http://127.0.0.1:9/mp"
    )
    analytics.event("launched")
    analytics.close()
    [record] = spooled(data_dir)
    assert record["to"] == [
        POSTHOG,
        {"name": "mixpanel", "host": "http://127.0.0.1:9/mp", "key": "mp_token"},
    ]


@pytest.mark.parametrize("change", ["opted-out-elsewhere", "state-deleted", "state-garbled"])
def test_stored_consent_is_read_again_before_events_move(data_dir: Path, change: str) -> None:
    consent(data_dir)
    launches = Launches()
    analytics = make(data_dir, launcher=launches)
    assert analytics.enable()
    analytics.event("launched")
    if change == "opted-out-elsewhere":
        assert Analytics(data_dir=data_dir).disable(permanently=True)
    elif change == "state-deleted":
        (data_dir / "analytics.json").unlink()
    else:
        (data_dir / "analytics.json").write_text("{not json")
    analytics.event("exit", reason="eof")
    analytics.flush()
    analytics.close()
    assert spooled(data_dir) == []
    assert launches.configs == []


# -- consent is continuous ---------------------------------------------------------------------


def test_an_opt_out_and_back_in_within_one_session_sends_only_what_follows_it(
    data_dir: Path,
) -> None:
    analytics = reporting(data_dir)
    analytics.event("launched")
    analytics.flush()  # one event waiting on disk
    analytics.event("command_help")  # one in memory
    assert analytics.disable(permanently=True)
    analytics.event("command_ls")  # during the opt-out
    assert analytics.opt_in()
    assert analytics.enable()
    analytics.event("exit", reason="eof")
    analytics.close()
    assert names(data_dir) == ["exit"]
    assert spooled(data_dir)[0]["gen"] == stored(data_dir).generation


def test_a_session_off_and_on_again_never_sends_what_it_recorded_while_off(
    data_dir: Path,
) -> None:
    analytics = reporting(data_dir)
    assert analytics.disable(permanently=False) is True
    analytics.event("command_ls")
    assert analytics.enable() is True
    analytics.event("exit", reason="eof")
    analytics.close()
    assert names(data_dir) == ["exit"]


OFF_AND_ON = (
    "from blackboxai.analytics import Analytics; import sys; "
    "a = Analytics(data_dir=sys.argv[1]); "
    "assert a.disable(permanently=True) and a.opt_in()"
)


@pytest.mark.parametrize("elsewhere", ["instance", "process"])
def test_events_buffered_across_an_opt_out_and_back_in_elsewhere_are_never_sent(
    data_dir: Path, elsewhere: str
) -> None:
    analytics = reporting(data_dir)
    analytics.event("launched")  # buffered before the opt-out
    if elsewhere == "instance":
        other = Analytics(data_dir=data_dir)
        assert other.disable(permanently=True) and other.opt_in()
    else:
        assert python(OFF_AND_ON, str(data_dir)).returncode == 0
    analytics.event("command_help")  # recorded before this session looked again
    assert analytics.enable()  # looks again: the new consent
    analytics.event("exit", reason="eof")
    analytics.close()
    assert names(data_dir) == ["exit"]
    assert spooled(data_dir)[0]["gen"] == stored(data_dir).generation


def test_reset_id_drops_everything_recorded_under_the_old_id(data_dir: Path) -> None:
    old = consent(data_dir)
    analytics = make(data_dir)
    assert analytics.enable()
    analytics.event("launched")
    analytics.flush()
    analytics.event("command_help")
    assert analytics.reset_id()
    assert analytics.user_id not in (None, old)
    analytics.event("exit", reason="eof")
    analytics.close()
    [record] = spooled(data_dir)
    assert record["event"] == "exit" and record["user_id"] == analytics.user_id


def test_a_reset_id_elsewhere_drops_this_sessions_buffered_events(data_dir: Path) -> None:
    analytics = reporting(data_dir)
    analytics.event("launched")
    assert Analytics(data_dir=data_dir).reset_id()
    analytics.close()
    assert spooled(data_dir) == []


def test_reset_id_on_an_instance_made_before_consent_elsewhere_still_replaces_the_id(
    data_dir: Path,
) -> None:
    early = make(data_dir)  # e.g. a long-running host, made before the user said yes
    old = consent(data_dir)
    writer = make(data_dir)
    assert writer.enable()
    writer.event("launched")
    writer.flush()
    assert early.reset_id() is True
    assert stored(data_dir).uuid != old
    assert spooled(data_dir) == []  # nothing waits under the old id


def test_clear_pending_during_an_upload_leaves_nothing_and_refuses_the_put_back(
    data_dir: Path,
) -> None:
    writer = reporting(data_dir)
    writer.event("launched")
    writer.event("exit", reason="eof")
    writer.close()
    spool = Spool(data_dir)
    spool.claim()  # an uploader has the batch in flight
    [claimed] = spool.claimed()
    in_flight = claimed.read_text().splitlines()
    assert len(in_flight) == 2

    assert Analytics(data_dir=data_dir).clear_pending() == 2
    assert spool.count() == 0 and spool.claimed() == []
    put_back(data_dir, in_flight)  # the uploader could not send it, and tries to keep it
    assert spool.count() == 0


def test_clear_pending_drops_what_this_session_holds_and_reporting_goes_on(
    data_dir: Path,
) -> None:
    analytics = reporting(data_dir)
    analytics.event("launched")
    analytics.flush()
    analytics.event("command_help")
    assert analytics.clear_pending() == 1
    assert analytics.reporting is True
    analytics.event("exit", reason="eof")
    analytics.close()
    assert names(data_dir) == ["exit"]


def test_clear_pending_elsewhere_drops_what_this_session_holds(data_dir: Path) -> None:
    analytics = reporting(data_dir)
    analytics.event("launched")
    Analytics(data_dir=data_dir).clear_pending()
    analytics.close()
    assert spooled(data_dir) == []


def test_clear_pending_on_an_instance_made_before_consent_still_refuses_put_backs(
    data_dir: Path,
) -> None:
    early = make(data_dir)  # made before the user said yes in another process
    writer = reporting(data_dir)
    writer.event("launched")
    writer.close()
    spool = Spool(data_dir)
    spool.claim()
    in_flight = spool.claimed()[0].read_text().splitlines()
    assert early.clear_pending() == 1
    put_back(data_dir, in_flight)
    assert spool.count() == 0


def test_an_opt_out_elsewhere_stops_this_session_from_starting_an_uploader(
    data_dir: Path,
) -> None:
    consent(data_dir)
    launches = Launches()
    analytics = make(data_dir, launcher=launches)
    assert analytics.enable()
    assert Analytics(data_dir=data_dir).disable(permanently=True)
    for _ in range(LAUNCH_AFTER):
        analytics.event("command_help")
    analytics.close()
    assert spooled(data_dir) == []
    assert launches.configs == []


# -- no identifier before consent --------------------------------------------------------------


def test_an_opt_out_before_consent_stores_no_identifier(data_dir: Path) -> None:
    analytics = make(data_dir)
    assert analytics.disable(permanently=True)
    state = json.loads((data_dir / "analytics.json").read_text())
    assert state["uuid"] is None and state["permanently_disable"] is True
    assert analytics.user_id is None
    assert {p.name for p in data_dir.iterdir()} <= {
        "analytics.json",
        "analytics.json.lock",
        "spool.lock",
    }


def test_log_lines_carry_the_id_from_the_moment_of_consent(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log, tty=True)
    analytics.event("launched")
    assert analytics.need_to_ask(None)
    assert analytics.opt_in()
    analytics.event("exit", reason="eof")
    analytics.close()
    assert [r["user_id"] for r in logged(log)] == [None, analytics.user_id]


@pytest.mark.parametrize("why", ["not-enabled", "do-not-track", "no-analytics", "opted-out"])
def test_once_an_id_exists_log_lines_carry_it_whether_or_not_the_session_reports(
    data_dir: Path, tmp_path: Path, why: str
) -> None:
    ident = consent(data_dir)
    log = tmp_path / "log.jsonl"
    analytics = make(
        data_dir, logfile=log, env={"DO_NOT_TRACK": "1"} if why == "do-not-track" else {}
    )
    if why == "no-analytics":
        analytics.need_to_ask(False)
    if why == "opted-out":
        assert analytics.disable(permanently=True)
    if why != "not-enabled":
        assert analytics.enable() is False
    analytics.event("launched")
    analytics.close()
    assert [r["user_id"] for r in logged(log)] == [ident]
    assert spooled(data_dir) == []


def test_review_catalogue_before_consent_writes_nothing(data_dir: Path) -> None:
    analytics = make(data_dir)
    analytics.review_catalogue(True)
    analytics.close()
    assert not data_dir.exists()


# -- values are made safe by type --------------------------------------------------------------


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


class BrokenName:
    @property
    def name(self) -> str:
        raise RuntimeError("no name")


VALUES: dict[str, tuple[object, object]] = {
    "none": (None, None),
    "bool": (True, True),
    "int": (42, 42),
    "float": (1.5, 1.5),
    "nan": (float("nan"), None),
    "bytes": (b"\x00\xff", "<bytes>"),
    "unprintable": (Unprintable(), "<unprintable>"),
    "nested-container": ({"b": [1, 2], "a": ("x",)}, '{"a":["x"],"b":[1,2]}'),
    "nested-secret": ({"key": "sk-" + "a" * 40}, '{"key":"<secret>"}'),
    "nested-unprintable": ([Unprintable()], '["<unprintable>"]'),
    "set": ({3, 1, 2}, "[1,2,3]"),
    "object": (uuid.UUID(int=7), str(uuid.UUID(int=7))),
    "object-with-a-name": (Model(PRIVATE), "openai/REDACTED"),
    "object-with-a-public-model-name": (Model("gpt-4o"), "gpt-4o"),
}


@pytest.mark.parametrize(("value", "expected"), VALUES.values(), ids=VALUES.keys())
def test_values_are_made_safe_by_type_in_the_log_and_the_spool(
    data_dir: Path, tmp_path: Path, value: object, expected: object
) -> None:
    consent(data_dir)
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log)
    assert analytics.enable()
    analytics.event("edit_failed", reason=value)
    analytics.close()
    assert logged(log)[0]["properties"]["reason"] == expected
    assert spooled(data_dir)[0]["properties"]["reason"] == expected


def test_a_broken_name_attribute_makes_only_that_property_unprintable(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    with make(data_dir, logfile=log) as analytics:
        analytics.event("edit_failed", reason=BrokenName(), blocks_failed=2)
    properties = logged(log)[0]["properties"]
    assert properties["reason"] == "<unprintable>" and properties["blocks_failed"] == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.event("cli session", Model(PRIVATE)),  # aider's positional main_model
        lambda a: a.event("cli session", main_model=Model(PRIVATE)),
        lambda a: a.event("cli session", main_model=PRIVATE),
        lambda a: a.event("cli session", weak_model=Model(PRIVATE)),
        lambda a: a.event("cli session", editor_model=Model(PRIVATE)),
        lambda a: a.event("model warning", main_model={"primary": Model(PRIVATE)}),
        lambda a: a.event("cli session", edit_format=Model(PRIVATE)),
    ],
    ids=["positional", "main_model", "string", "weak_model", "editor_model", "in-a-dict", "other"],
)
def test_a_private_model_name_never_reaches_the_log_or_the_spool(
    data_dir: Path, tmp_path: Path, call: Callable[[Analytics], None]
) -> None:
    consent(data_dir)
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log)
    assert analytics.enable()
    call(analytics)
    analytics.close()
    text = log.read_text() + "".join(p.read_text() for p in Spool(data_dir).files() if p.exists())
    assert "acme" not in text and "secret-project" not in text
    assert "/REDACTED" in log.read_text()


def test_a_private_model_name_nested_in_a_container_never_reaches_the_log(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with make(tmp_path / "data", logfile=log) as analytics:
        analytics.event("cli session", models=[Model(PRIVATE), Model("gpt-4o")])
    assert "acme" not in log.read_text()


class LyingStr(str):
    """A str subclass whose slices are something else entirely."""

    def __getitem__(self, key: object) -> str:
        return "sk-" + "a" * 40


class StrSubclassFromStr:
    def __str__(self) -> str:
        return LyingStr("harmless")


def test_a_str_subclass_returned_by_str_is_scrubbed_like_a_str(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with make(tmp_path / "data", logfile=log) as analytics:
        analytics.event("edit_failed", reason=StrSubclassFromStr())
    assert logged(log)[0]["properties"]["reason"] == "harmless"


# -- nothing lost at exit ----------------------------------------------------------------------

FORGETFUL = """
import gc, sys
from pathlib import Path
from blackboxai.analytics import Analytics

data_dir, marker, scope = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

def launcher(config):
    marker.write_text(config.data_dir)

def session():
    analytics = Analytics(
        data_dir=data_dir, posthog_host="http://127.0.0.1:9", posthog_project_api_key="phc_test",
        env={}, tty=False, launcher=launcher,
    )
    analytics.enable()
    analytics.event("launched")
    analytics.event("exit", reason="eof")
    return analytics

if scope == "kept":
    kept = session()  # referenced until the interpreter exits; close() never called
else:
    session()  # dropped at once; close() never called
    gc.collect()
"""


def test_a_forgotten_close_still_hands_buffered_events_over_at_exit(
    data_dir: Path, tmp_path: Path
) -> None:
    consent(data_dir)
    marker = tmp_path / "launched"
    run = python(FORGETFUL, str(data_dir), str(marker), "kept")
    assert run.returncode == 0 and run.stdout == run.stderr == ""
    assert names(data_dir) == ["launched", "exit"]
    assert marker.read_text() == str(data_dir)  # and the uploader was started


def test_a_forgotten_close_on_an_object_already_collected_still_hands_its_events_over(
    data_dir: Path, tmp_path: Path
) -> None:
    consent(data_dir)
    run = python(FORGETFUL, str(data_dir), str(tmp_path / "launched"), "dropped")
    assert run.returncode == 0
    assert names(data_dir) == ["launched", "exit"]


def test_flush_moves_buffered_events_to_the_spool_without_starting_an_uploader(
    data_dir: Path,
) -> None:
    consent(data_dir)
    launches = Launches()
    analytics = make(data_dir, launcher=launches)
    assert analytics.enable()
    analytics.event("launched")
    assert analytics.pending_count() == 0
    analytics.flush()
    assert analytics.pending_count() == 1 and names(data_dir) == ["launched"]
    assert launches.configs == []
    analytics.close()
    assert len(launches.configs) == 1


class LaunchList(list[UploadConfig]):
    """A launcher that is also the list of its calls: empty, so falsy, until it is called."""

    def __call__(self, config: UploadConfig) -> None:
        self.append(config)


def test_a_launcher_that_is_falsy_is_still_the_one_used(data_dir: Path, tmp_path: Path) -> None:
    consent(data_dir)
    launches = LaunchList()
    analytics = make(data_dir, launcher=launches)
    assert analytics.enable()
    analytics.event("launched")
    analytics.close()
    assert [c.data_dir for c in launches] == [str(data_dir)]  # not a real uploader


def test_close_is_final_and_events_after_it_are_ignored(data_dir: Path, tmp_path: Path) -> None:
    consent(data_dir)
    log = tmp_path / "log.jsonl"
    launches = Launches()
    analytics = make(data_dir, logfile=log, launcher=launches)
    assert analytics.enable()
    analytics.event("launched")
    analytics.close()
    analytics.close()
    analytics.event("exit", reason="eof")
    analytics.flush()
    assert names(data_dir) == ["launched"]
    assert [r["event"] for r in logged(log)] == ["launched"]
    assert len(launches.configs) == 1


# -- never raises, never prints ----------------------------------------------------------------


def failing_launcher(config: UploadConfig) -> None:
    raise OSError(13, "Permission denied")


def test_a_hostile_caller_sees_no_exception_and_no_byte_on_the_terminal(
    data_dir: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    analytics = reporting(data_dir, logfile=tmp_path / "log.jsonl", launcher=failing_launcher)
    analytics.event(Unprintable())  # type: ignore[arg-type]
    analytics.event("edit_failed", Unprintable(), reason=BrokenName(), **{"": Unprintable()})
    analytics.event("x" * 100_000, big="y" * 5_000_000, deep=[[[[[]]]]] * 10_000)
    analytics.need_to_ask("maybe")  # type: ignore[arg-type]
    analytics.decide(object())
    analytics.flush()
    analytics.pending_count()
    analytics.close()  # the launcher fails: contained
    assert analytics.failures >= 1

    clock_breaks = make(data_dir, clock=lambda: 1 / 0, spool=FullDiskSpool(data_dir))
    assert clock_breaks.enable()
    clock_breaks.event("launched")
    clock_breaks.close()

    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    nowhere = make(not_a_dir / "data", logfile=tmp_path / "missing" / "log.jsonl")
    assert nowhere.opt_in() is False and nowhere.last_error
    assert nowhere.reset_id() is not None
    nowhere.event("launched")
    nowhere.clear_pending()
    nowhere.close()
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("bad", ["directory", "missing-directory", "empty"])
def test_a_bad_logfile_never_stops_an_opt_out(data_dir: Path, tmp_path: Path, bad: str) -> None:
    consent(data_dir)
    path = {
        "directory": str(tmp_path),
        "missing-directory": str(tmp_path / "no" / "l"),
        "empty": "",
    }
    analytics = make(data_dir, logfile=path[bad], permanently_disable=True)
    assert analytics.log_error
    assert stored(data_dir).stored is Stored.DISABLED
    analytics.close()


@pytest.mark.parametrize("name", ["log\0.jsonl", "\ud800.jsonl"], ids=["nul", "lone-surrogate"])
def test_a_logfile_name_the_system_cannot_encode_never_stops_an_opt_out(
    data_dir: Path, name: str
) -> None:
    consent(data_dir)
    analytics = make(data_dir, logfile=name, permanently_disable=True)
    assert analytics.log_error
    assert stored(data_dir).stored is Stored.DISABLED


def test_the_dry_run_prints_each_event_on_its_stream_and_queues_nothing(data_dir: Path) -> None:
    consent(data_dir)
    stream = io.StringIO()
    launches = Launches()
    analytics = make(data_dir, debug=True, debug_stream=stream, launcher=launches)
    analytics.enable()
    analytics.event("launched")
    analytics.event("my_own_event")
    analytics.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(": {")[0] for line in lines] == [
        "analytics debug: would send",
        "analytics debug: not sending",
    ]
    assert spooled(data_dir) == [] and launches.configs == []


# -- a surface aider users recognise -----------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("asked_opt_in", True), ("permanently_disable", True), ("user_id", "x"), ("logfile", "y")],
)
def test_aider_attributes_are_readable_and_assigning_them_raises(
    data_dir: Path, tmp_path: Path, attribute: str, value: object
) -> None:
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log)
    assert getattr(analytics, attribute) in (False, None, str(log))
    with pytest.raises(AttributeError):
        setattr(analytics, attribute, value)
    with pytest.raises(AttributeError):
        delattr(analytics, attribute)
    assert not data_dir.exists()  # nothing was stored by the attempt


def test_aider_call_shapes_work_as_aider_calls_them(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    data_dir = tmp_path / "data"
    analytics = Analytics(
        logfile=str(log),
        permanently_disable=False,
        posthog_host=HOST,
        posthog_project_api_key=KEY,
        data_dir=data_dir,
        launcher=Launches(),
        env={},
        tty=True,
    )
    assert analytics.need_to_ask(None) is True
    assert analytics.opt_in()
    analytics.enable()
    assert (analytics.asked_opt_in, analytics.permanently_disable) == (True, False)
    assert analytics.logfile == str(log)
    info = analytics.get_system_info()
    assert {"python_version", "os_platform", "os_release", "machine"} <= set(info)
    analytics.event("message_send", Model("gpt-4o"), edit_format="diff", prompt_tokens=3)
    analytics.flush()
    analytics.disable(False)
    analytics.close()
    [record] = spooled(data_dir)
    assert record["properties"]["main_model"] == "gpt-4o"
    assert {k: v for k, v in record["properties"].items() if k in info} == info


# -- consent covers a catalogue version --------------------------------------------------------


def test_consent_to_an_older_catalogue_withholds_what_came_later(
    data_dir: Path, tmp_path: Path
) -> None:
    write_aider_state(data_dir)  # consent given before catalogue version 2
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log, tty=True)
    assert analytics.decide().review is True
    assert {i.name for i in analytics.unseen_items()} == {
        "command_unknown",
        "exit.duration_s",
        "*.session_id",  # version 3: a property of every event
        "message_send.cost_usd",
        "edit_applied.lines_added",
        "edit_applied.lines_removed",
    }
    assert analytics.enable()
    analytics.event("command_unknown")
    analytics.event("exit", reason="eof", duration_s=1.5)
    analytics.close()
    lines = logged(log)
    assert [r.get("withheld") for r in lines] == [
        ["command_unknown"],
        ["exit.duration_s", "*.session_id"],
    ]
    assert lines[1]["properties"]["duration_s"] == 1.5  # the log keeps everything
    assert "session_id" in lines[1]["properties"]
    [record] = spooled(data_dir)
    assert record["event"] == "exit" and record["properties"]["reason"] == "eof"
    assert "duration_s" not in record["properties"] and "session_id" not in record["properties"]


def test_accepting_what_the_catalogue_added_sends_it_from_then_on(data_dir: Path) -> None:
    write_aider_state(data_dir)
    analytics = make(data_dir)
    assert analytics.enable()
    analytics.event("command_unknown")
    assert analytics.review_catalogue(True)
    assert analytics.unseen_items() == []
    analytics.event("command_unknown")
    analytics.event("exit", reason="eof", duration_s=1.5)
    analytics.close()
    assert names(data_dir) == ["command_unknown", "exit"]
    assert spooled(data_dir)[1]["properties"]["duration_s"] == 1.5


def test_declining_what_the_catalogue_added_withholds_it_for_good(
    data_dir: Path, tmp_path: Path
) -> None:
    write_aider_state(data_dir)
    assert make(data_dir).review_catalogue(False)
    log = tmp_path / "log.jsonl"
    later = make(data_dir, logfile=log, tty=True)
    assert later.unseen_items() == [] and later.decide().review is False
    assert later.enable()
    later.event("command_unknown")
    later.event("exit", reason="eof", duration_s=1.5)
    later.close()
    assert [r.get("withheld") for r in logged(log)] == [
        ["command_unknown"],
        ["exit.duration_s", "*.session_id"],
    ]
    assert names(data_dir) == ["exit"]
    assert "duration_s" not in spooled(data_dir)[0]["properties"]


def test_anything_not_in_the_catalogue_is_withheld(data_dir: Path, tmp_path: Path) -> None:
    consent(data_dir)
    log = tmp_path / "log.jsonl"
    analytics = make(data_dir, logfile=log)
    assert analytics.enable()
    analytics.event("my_own_event", n=1)
    analytics.event("launched", session_secret_sauce=3)
    analytics.close()
    assert [r.get("withheld") for r in logged(log)] == [
        ["my_own_event"],
        ["launched.session_secret_sauce"],
    ]
    [record] = spooled(data_dir)
    assert record["event"] == "launched" and "session_secret_sauce" not in record["properties"]


def test_an_event_named_like_a_catalogued_property_is_withheld(data_dir: Path) -> None:
    analytics = reporting(data_dir)
    analytics.event("exit.reason")
    analytics.event("*.python_version")
    analytics.close()
    assert spooled(data_dir) == []


# -- docs/library.md: its example runs as written ----------------------------------------------


def example(tmp_path: Path) -> Path:
    blocks = re.findall(r"^```python\n(.*?)^```$", DOCS.read_text(), flags=re.S | re.M)
    assert len(blocks) == 1, "docs/library.md has one complete python example"
    script = tmp_path / "mytool.py"
    script.write_text(blocks[0])
    return script


def wait_for_spooled(data_dir: Path, ids: set[str], timeout: float = 20) -> list[dict[str, Any]]:
    """Until every id is waiting: an uploader started by the example may be moving files."""
    deadline = time.monotonic() + timeout
    while True:
        records = spooled(data_dir)
        if ids <= {r["id"] for r in records} or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_the_example_in_docs_library_md_asks_once_then_reports_and_honours_no_analytics(
    isolated: Path, tmp_path: Path
) -> None:
    script = example(tmp_path)
    data_dir = isolated / "home" / ".local" / "share" / "mytool"
    log = tmp_path / "events.jsonl"
    env = {**os.environ, "MYTOOL_POSTHOG_HOST": refused_url()}
    argv = [str(script), "--analytics-log", str(log)]

    # First run, on a terminal: the question, a yes, then the tool's own output only.
    child = pexpect.spawn(sys.executable, [*argv, "greet"], env=env, encoding="utf-8", timeout=30)
    child.expect(r"Allow it\? \[y/N\] ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert child.before.replace("\r\n", "\n") == "y\nHello!\n"
    state = stored(data_dir)
    assert state.stored is Stored.CONSENTED

    # Second run, in a pipe: not asked again, reports. Third: --no-analytics, records only.
    second = subprocess.run(
        [sys.executable, *argv, "count"], env=env, capture_output=True, text=True
    )
    assert (second.returncode, second.stdout, second.stderr) == (0, "45\n", "")
    third = subprocess.run(
        [sys.executable, *argv, "greet", "--no-analytics"], env=env, capture_output=True, text=True
    )
    assert (third.returncode, third.stdout, third.stderr) == (0, "Hello!\n", "")

    lines = logged(log)
    assert [r["event"] for r in lines] == ["launched", "command", "exit"] * 3
    assert {r["user_id"] for r in lines} == {state.uuid}
    reported = {r["id"] for r in lines[:6]}
    records = wait_for_spooled(data_dir, reported)
    assert {r["id"] for r in records} == reported  # nothing from the --no-analytics run
    for record in records:
        assert record["to"] == [
            {"name": "posthog", "host": env["MYTOOL_POSTHOG_HOST"], "key": "phc_mytool_project_key"}
        ]
        assert record["gen"] == state.generation and record["user_id"] == state.uuid
    assert sorted(r["properties"].get("name", "-") for r in records) == [
        "-",
        "-",
        "-",
        "-",
        "count",
        "greet",
    ]


def _mytool_catalogue(version: int) -> dict[str, Any]:
    system = ("python_version", "os_platform", "os_release", "machine", "blackboxai_version")
    events: dict[str, Any] = {"launched": {"since": 1, "when": "starts", "properties": {}}}
    if version >= 2:
        events["sync"] = {"since": 2, "when": "a sync ran", "properties": {}}
    return {
        "version": version,
        "system_properties": {p: {"since": 1, "meaning": p} for p in system},
        "events": events,
    }


def test_an_embedding_program_s_own_catalogue_is_what_consent_covers(data_dir: Path) -> None:
    def tool(version: int, log: Path) -> Analytics:
        return Analytics(
            data_dir=data_dir,
            logfile=log,
            posthog_project_api_key="phc_test",
            posthog_host="http://127.0.0.1:9",
            launcher=lambda config: None,
            catalogue=_mytool_catalogue(version),
            env={},
            tty=False,
        )

    first = tool(1, data_dir.parent / "v1.jsonl")
    assert first.opt_in() and first.enable()
    first.event("launched")
    first.event("cli session")  # blackboxai's event: not in mytool's catalogue
    first.close()
    assert [r["event"] for r in Spool(data_dir).records()] == ["launched"]

    upgraded = tool(2, data_dir.parent / "v2.jsonl")  # mytool's next release adds "sync"
    assert upgraded.enable()
    assert [i.name for i in upgraded.unseen_items()] == ["sync"]
    upgraded.event("sync")
    upgraded.flush()
    assert [r["event"] for r in Spool(data_dir).records()] == ["launched"]  # waits for the user
    assert upgraded.review_catalogue(True)
    upgraded.event("sync")
    upgraded.close()
    assert [r["event"] for r in Spool(data_dir).records()] == ["launched", "sync"]
    assert StateStore(data_dir).load().catalogue_version == 2


@pytest.mark.parametrize("broken", [{"events": {}}, {"version": 1, "events": {"e": {}}}, "nope"])
def test_a_catalogue_that_cannot_be_read_describes_nothing_so_nothing_is_sent(
    data_dir: Path, broken: object
) -> None:
    analytics = Analytics(
        data_dir=data_dir,
        posthog_project_api_key="phc_test",
        launcher=lambda config: None,
        catalogue=broken,  # type: ignore[arg-type]
    )
    assert analytics.opt_in() and analytics.enable()
    analytics.event("launched")
    analytics.close()
    assert analytics.failures >= 1 and list(Spool(data_dir).records()) == []


def test_an_event_whose_name_has_dots_withholds_exactly_its_own_new_properties(
    data_dir: Path,
) -> None:
    system = ("python_version", "os_platform", "os_release", "machine", "blackboxai_version")
    catalogue = {
        "version": 2,
        "system_properties": {p: {"since": 1} for p in system},  # meaning, when: optional
        "events": {
            "file.open": {"since": 1, "properties": {"path_depth": {"since": 2}, "n": {"since": 1}}}
        },
    }
    analytics = Analytics(
        posthog_project_api_key="phc_test",
        launcher=lambda config: None,
        catalogue={**catalogue, "version": 1, "events": {"file.open": {"since": 1}}},
    )
    assert analytics.opt_in()  # agreed to version 1
    upgraded = Analytics(
        posthog_project_api_key="phc_test", launcher=lambda config: None, catalogue=catalogue
    )
    assert upgraded.enable()
    upgraded.event("file.open", path_depth=3, n=1)
    assert upgraded.review_catalogue(False)  # no, and it stays no
    upgraded.event("file.open", path_depth=4, n=2)
    upgraded.close()
    sent = [r["properties"] for r in Spool(data_dir).records()]
    assert [p.get("n") for p in sent] == [1, 2]
    assert all("path_depth" not in p for p in sent)


def test_a_property_named_like_a_catalogue_item_is_withheld_not_a_fact_in_its_place(
    data_dir: Path,
) -> None:
    """ "*.session_id" and "*.customer" are a caller's own property names, not items: they are
    withheld (uncatalogued), and the run's real session_id still goes."""
    analytics = reporting(data_dir)
    odd = {"*.session_id": "forged", "*.customer": "acme-deal", "customer": "acme"}
    analytics.event("message_send", edit_format="diff", **odd)
    analytics.flush()
    [sent] = [r["properties"] for r in spooled(data_dir)]
    assert not set(odd) & set(sent)
    assert sent["edit_format"] == "diff" and uuid.UUID(sent["session_id"]).version == 4


def test_a_catalogue_without_descriptions_still_works_and_says_what_is_new() -> None:
    catalogue = {"version": 2, "events": {"a": {"since": 1}, "b": {"since": 2}}}
    analytics = Analytics(posthog_project_api_key="phc_test", catalogue=catalogue)
    assert analytics.opt_in()
    assert [i.name for i in analytics.unseen_items()] == []  # agreed to version 2 just now
    assert analytics.enable() and analytics.failures == 0
