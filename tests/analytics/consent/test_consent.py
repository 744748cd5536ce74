"""The consent rules, over every combination of stored state, flag, environment and terminal."""

from __future__ import annotations

import itertools

import pytest

from blackboxai.analytics.consent.rules import Stored, decide, do_not_track, in_ci, may_send

STATES = list(Stored)
FLAGS = ["none", "--analytics", "--no-analytics", "--analytics-disable"]
ENVS = ["plain", "DO_NOT_TRACK", "CI"]
TTYS = [True, False]
POLICIES = [None, "turned off by /etc/xdg/blackboxai/policy.yml"]


def expected(
    state: Stored, flag: str, env: str, tty: bool, policy: str | None = None
) -> tuple[bool, bool]:
    """The rules of the consent issue, written out independently of the implementation; the
    machine's policy (#21) turning analytics off comes before everything the user has."""
    if policy is not None:
        return (False, False)
    if flag == "--analytics-disable":
        # The CLI stores the opt-out first (over any state), then decides on what is stored.
        state = Stored.DISABLED
    session_flag = {"none": None, "--analytics": True, "--no-analytics": False}.get(flag)
    if state in (Stored.ODD, Stored.DISABLED) or session_flag is False or env == "DO_NOT_TRACK":
        return (False, False)
    if state in (Stored.FRESH, Stored.NOT_ASKED):
        ask = tty and env != "CI"
        return (False, ask)
    # consented
    if env == "CI":
        return (session_flag is True, False)
    return (True, False)


@pytest.mark.parametrize(
    ("state", "flag", "env", "tty", "policy"),
    list(itertools.product(STATES, FLAGS, ENVS, TTYS, POLICIES)),
)
def test_every_combination_follows_the_rules(
    state: Stored, flag: str, env: str, tty: bool, policy: str | None
) -> None:
    stored = Stored.DISABLED if flag == "--analytics-disable" else state
    session_flag = {"none": None, "--analytics": True, "--no-analytics": False}.get(flag)
    decision = decide(
        stored, session_flag, dnt=env == "DO_NOT_TRACK", ci=env == "CI", tty=tty, policy=policy
    )
    assert (decision.report, decision.ask) == expected(state, flag, env, tty, policy)
    assert decision.why  # every outcome names the rule that decided it
    assert not (decision.report and decision.ask)
    if policy is not None:  # and when the policy decided, it is the rule named
        assert decision.why == policy and not decision.review


def test_nothing_reports_without_stored_consent() -> None:
    for state, flag, dnt, ci, tty in itertools.product(
        [s for s in Stored if s is not Stored.CONSENTED],
        [None, True, False],
        [True, False],
        [True, False],
        [True, False],
    ):
        assert not decide(state, flag, dnt=dnt, ci=ci, tty=tty).report


def test_analytics_flag_after_permanent_disable_says_it_has_no_effect() -> None:
    decision = decide(Stored.DISABLED, True, flag_source="--analytics", tty=True)
    assert not decision.report and not decision.ask
    assert (
        decision.note is not None
        and "no effect" in decision.note
        and "--analytics" in decision.note
    )


def test_the_policy_is_named_and_an_analytics_flag_is_told_it_has_no_effect() -> None:
    off = "turned off by /etc/xdg/blackboxai/policy.yml"
    decision = decide(Stored.CONSENTED, True, flag_source="--analytics", tty=True, policy=off)
    assert (decision.report, decision.ask, decision.why) == (False, False, off)
    assert decision.note == (
        "--analytics has no effect: analytics are turned off by /etc/xdg/blackboxai/policy.yml."
    )
    assert decide(Stored.FRESH, None, tty=True, policy=off).note is None  # nothing tried: silent


def test_the_reason_names_the_source_of_the_flag() -> None:
    decision = decide(Stored.CONSENTED, False, flag_source="/home/u/.blackboxai.conf.yml")
    assert "/home/u/.blackboxai.conf.yml" in decision.why


def test_what_the_catalogue_added_is_reviewed_only_where_someone_can_answer() -> None:
    assert decide(Stored.CONSENTED, None, tty=True, unseen=True).review
    assert decide(Stored.CONSENTED, True, tty=True, unseen=True).review
    assert not decide(Stored.CONSENTED, None, tty=True, unseen=False).review
    assert not decide(Stored.CONSENTED, None, tty=False, unseen=True).review  # a pipe
    assert not decide(Stored.CONSENTED, True, tty=True, ci=True, unseen=True).review  # CI
    assert not decide(Stored.CONSENTED, None, tty=True, dnt=True, unseen=True).review
    assert not decide(Stored.CONSENTED, False, tty=True, unseen=True).review  # --no-analytics
    for stored in (Stored.FRESH, Stored.NOT_ASKED, Stored.DISABLED, Stored.ODD):
        assert not decide(stored, None, tty=True, unseen=True).review


def test_unseen_entries_never_stop_the_rest_from_reporting() -> None:
    assert decide(Stored.CONSENTED, None, tty=True, unseen=True).report
    assert decide(Stored.CONSENTED, None, tty=False, unseen=True).report


ID = "437b0879-d041-40ae-a37f-d4d2cf93f2f9"


@pytest.mark.parametrize(
    ("stored", "uuid", "generation", "record", "expected"),
    [
        (Stored.CONSENTED, ID, 3, {"user_id": ID, "gen": 3}, True),
        (Stored.CONSENTED, ID, 4, {"user_id": ID, "gen": 3}, False),  # opted out and in since
        (Stored.CONSENTED, ID, 3, {"user_id": "someone-else", "gen": 3}, False),  # reset-id
        (Stored.CONSENTED, None, 0, {"user_id": None, "gen": 0}, False),  # no id, no sending
        (Stored.DISABLED, ID, 3, {"user_id": ID, "gen": 3}, False),
        (Stored.NOT_ASKED, ID, 3, {"user_id": ID, "gen": 3}, False),
        (Stored.ODD, ID, 3, {"user_id": ID, "gen": 3}, False),
        (Stored.CONSENTED, ID, 0, {"user_id": ID}, True),  # written before generations existed
    ],
)
def test_an_event_leaves_only_under_the_consent_it_was_recorded_in(
    stored: Stored, uuid: str | None, generation: int, record: dict, expected: bool
) -> None:
    assert may_send(stored, uuid, generation, record) is expected


@pytest.mark.parametrize(
    ("value", "expected_dnt"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("", False), (" ", False)],
)
def test_do_not_track_means_anything_but_empty_or_zero(value: str, expected_dnt: bool) -> None:
    assert do_not_track({"DO_NOT_TRACK": value}) is expected_dnt
    assert not do_not_track({})


@pytest.mark.parametrize(
    "name",
    ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TF_BUILD", "JENKINS_URL"],
)
def test_common_ci_variables_are_recognised(name: str) -> None:
    assert in_ci({name: "true"})
    assert not in_ci({name: "false"})
    assert not in_ci({})
