"""The consent rules, over every combination of stored state, flag, environment and terminal."""

from __future__ import annotations

import itertools

import pytest

from blackboxai.analytics.consent import Stored, decide, do_not_track, in_ci, in_rollout

STATES = list(Stored)
FLAGS = ["none", "--analytics", "--no-analytics", "--analytics-disable"]
ENVS = ["plain", "DO_NOT_TRACK", "CI"]
TTYS = [True, False]


def expected(state: Stored, flag: str, env: str, tty: bool) -> tuple[bool, bool]:
    """The rules of the consent issue, written out independently of the implementation."""
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
    ("state", "flag", "env", "tty"), list(itertools.product(STATES, FLAGS, ENVS, TTYS))
)
def test_every_combination_follows_the_rules(state: Stored, flag: str, env: str, tty: bool) -> None:
    stored = Stored.DISABLED if flag == "--analytics-disable" else state
    session_flag = {"none": None, "--analytics": True, "--no-analytics": False}.get(flag)
    decision = decide(stored, session_flag, dnt=env == "DO_NOT_TRACK", ci=env == "CI", tty=tty)
    assert (decision.report, decision.ask) == expected(state, flag, env, tty)
    assert decision.why  # every outcome names the rule that decided it
    assert not (decision.report and decision.ask)


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


def test_the_reason_names_the_source_of_the_flag() -> None:
    decision = decide(Stored.CONSENTED, False, flag_source="/home/u/.blackboxai.conf.yml")
    assert "/home/u/.blackboxai.conf.yml" in decision.why


def test_rollout_only_limits_who_is_asked_never_who_reports() -> None:
    assert not decide(Stored.FRESH, None, tty=True, rollout=False).ask
    assert decide(Stored.FRESH, True, tty=True, rollout=False).ask  # an explicit --analytics asks
    assert not decide(Stored.FRESH, True, tty=True, ci=True).ask  # but never in CI
    assert decide(Stored.CONSENTED, None, tty=True, rollout=False).report


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


def test_rollout_is_stable_per_uuid_and_roughly_proportional() -> None:
    import random
    import uuid

    rng = random.Random(42)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(2000)]
    share = sum(in_rollout(u, 10) for u in ids) / len(ids)
    assert 0.05 < share < 0.15
    assert all(in_rollout(u, 10) == in_rollout(u, 10) for u in ids[:50])
    assert all(in_rollout(u, 100) for u in ids[:50])
    assert not any(in_rollout(u, 0) for u in ids[:50])
    assert not in_rollout("not-a-uuid", 50)
