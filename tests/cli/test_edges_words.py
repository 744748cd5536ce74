"""Issue #22: what blackboxai says must be what it does. Each test drives the real CLI (or, for
the library, the public `Analytics`) and holds a message against what actually happened."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pexpect
import pytest

from blackboxai.analytics import Analytics
from blackboxai.config.options import CONFIG_NAME
from blackboxai.question import QUESTION
from tests.loopback import Backend, refused_url
from tests.support import REPO


@pytest.fixture
def blocked(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data dir's parent is a regular file: nothing can be read or written there (this
    works as root too, unlike a read-only HOME)."""
    blocker = isolated / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "share"))
    return blocker / "share" / "blackboxai"


@pytest.fixture
def dangling(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data dir is a dangling symbolic link: nothing is stored there yet, so the question
    is asked, but no answer can be written."""
    share = isolated / "share"
    share.mkdir()
    (share / "blackboxai").symlink_to(isolated / "gone" / "blackboxai")
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    return share / "blackboxai"


def said_once(text: str, reason: str) -> None:
    assert text.count(reason) == 1, text


# -- item 6: a reason said once, and only what is true ---------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["analytics", "off"],
        ["--analytics-disable", "--exit"],
        ["--analytics-disable", "analytics", "status"],  # stored before Typer, then not again
    ],
)
def test_an_opt_out_that_cannot_be_stored_says_why_once(
    cli, blocked: Path, args: list[str]
) -> None:
    result = cli(*args)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("blackboxai: could not disable analytics: ")
    said_once(line, f"cannot write {blocked}")
    # Nothing runs after it (the command stops with status 1): no "run" is left to be off in.
    assert "this run" not in line


def test_a_no_to_the_question_that_cannot_be_stored_says_why_once(dangling: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "blackboxai", "--exit"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact(QUESTION.strip())
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [line] = [x for x in child.before.splitlines() if "could not store your answer" in x]
    said_once(line, f"cannot write {dangling}")


def test_the_librarys_last_error_says_why_once(blocked: Path) -> None:
    analytics = Analytics(data_dir=blocked)
    assert analytics.disable(permanently=True) is False
    assert analytics.last_error is not None
    said_once(analytics.last_error, f"cannot write {blocked}")


# -- item 7: consent without an anonymous id ------------------------------------------------------

NO_ID_STATE = {"uuid": None, "asked_opt_in": True, "permanently_disable": False}


@pytest.fixture
def no_id(data_dir: Path) -> dict[str, str]:
    """A state file that says yes but holds no id (hand-edited, or another tool's), and a
    destination, so that only consent decides whether anything is sent."""
    data_dir.mkdir(parents=True)
    (data_dir / "analytics.json").write_text(json.dumps(NO_ID_STATE))
    return {
        "BLACKBOXAI_ANALYTICS_POSTHOG_HOST": refused_url(),
        "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_test",
    }


def test_consent_without_an_id_is_not_reported_as_reporting(cli, no_id: dict[str, str]) -> None:
    """Nothing can be sent without an id, and none is made without an explicit choice, so such
    a file is not consent: status, the dry run and `analytics on` all say so."""
    status = cli("analytics", "status", env=no_id).stdout
    assert "Anonymous id:  none" in status
    assert "Reporting:     no" in status, status
    assert "no anonymous id" in status  # why: the file is named unusable, and how
    debug = cli("--analytics-debug", "--exit", env=no_id).stderr
    assert "would send" not in debug and "not sending" in debug
    on = cli("analytics", "on", env=no_id)
    assert on.returncode == 0
    assert "already on" not in on.stdout
    assert on.stdout.startswith("Analytics are on (was: unreadable). Anonymous id: ")
    after = cli("analytics", "status", env=no_id).stdout
    assert "Reporting:     yes (opted in)" in after and "Anonymous id:  none" not in after


# -- item 8: a cloned project's file that cannot be read ------------------------------------------


@pytest.fixture
def consented(cli) -> dict[str, str]:
    """The user said yes, and events have somewhere to go: only this run's inputs decide."""
    assert cli("analytics", "on").returncode == 0
    return {
        "BLACKBOXAI_ANALYTICS_POSTHOG_HOST": refused_url(),
        "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": "phc_test",
    }


def project_file(text: str) -> Path:
    """A `.blackboxai.conf.yml` in the working directory: a project's file, not the user's."""
    path = Path(CONFIG_NAME)
    path.write_text(text)
    return path


def warning_about(stderr: str, path: Path) -> str:
    [line] = [x for x in stderr.splitlines() if CONFIG_NAME in x]
    return line


@pytest.mark.parametrize("text", ["model: [\nfoo", "analytics: maybe\n"])
def test_an_unreadable_project_file_or_analytics_value_turns_this_run_off_and_says_so(
    cli, consented: dict[str, str], text: str
) -> None:
    """ "It may have said no": a project file whose analytics value (or the whole file) cannot be
    read keeps this run from reporting, and the warning says so."""
    path = project_file(text)
    status = cli("analytics", "status", env=consented)
    assert "Reporting:     no (turned off for this session by" in status.stdout, status.stdout
    assert "not reporting analytics in this run" in warning_about(status.stderr, path)


@pytest.mark.parametrize("text", ["model: [\nfoo", "analytics: maybe\n"])
def test_with_analytics_on_the_command_line_the_warning_does_not_say_off(
    cli, consented: dict[str, str], text: str
) -> None:
    """The command line can still turn analytics on (docs/configuration.md); then the warning
    must not say this run does not report."""
    path = project_file(text)
    status = cli("--analytics", "analytics", "status", env=consented)
    assert "Reporting:     yes" in status.stdout, status.stdout
    warning = warning_about(status.stderr, path)
    assert "not reporting" not in warning
    assert "--analytics" in warning  # what decided instead


# -- item 9c: events dated in the future -----------------------------------------------------------


def test_events_dated_years_ahead_are_not_said_to_have_expired(
    cli, data_dir: Path, backend: Backend
) -> None:
    """Recorded while the clock was years fast: deleted unsent (a time no service would take
    as now), and the reason says the time was in the future, not that they waited too long."""
    years = 3 * 365 * 86_400
    ahead = Analytics(
        data_dir=data_dir,
        posthog_host=backend.url,
        posthog_project_api_key="phc_test",
        launcher=lambda config: None,  # delivered below, in the foreground
        clock=lambda: time.time() + years,
    )
    assert ahead.opt_in() and ahead.enable()
    ahead.event("launched")
    ahead.event("exit")
    ahead.close()
    sent = cli("analytics", "send")
    status = cli("analytics", "status").stdout
    assert backend.posthog == []
    for said in (sent.stdout, status):
        assert "not delivered within 30 days" not in said, said
        assert "2 dated more than 30 days in the future" in said, said


# -- item 9e: what the docs quote from the audit log ----------------------------------------------

ROOT = REPO
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_what_the_docs_quote_from_the_audit_log_is_in_it(cli, tmp_path: Path) -> None:
    """The quick start tells a new user to look for `"user_id":...` in the log it writes: the
    quote must be found there as written (a search for it otherwise finds nothing)."""
    log = tmp_path / "analytics.jsonl"
    assert cli("--analytics-log", str(log), "--exit").returncode == 0
    written = log.read_text()
    quoted = {q for doc in DOCS for q in re.findall(r'`("user_id":[^`]*)`', doc.read_text())}
    assert quoted  # README.md's quick start quotes it
    assert {q for q in quoted if q not in written} == set()


# -- item 9f: `analytics on` when it changes nothing -----------------------------------------------


def test_analytics_on_again_does_not_say_you_now_agree_to_anything(cli) -> None:
    assert cli("analytics", "on").returncode == 0
    again = cli("analytics", "on")
    assert again.returncode == 0
    assert again.stdout.startswith("Analytics were already on")
    assert "you now agree" not in again.stdout  # you had, already: nothing changed


def test_analytics_on_after_an_older_consent_says_you_now_agree(cli, data_dir: Path) -> None:
    """aider's state file: consent given before catalogue version 2, whose items it lacks."""
    data_dir.mkdir(parents=True)
    aider = {"uuid": str(uuid.uuid4()), "asked_opt_in": True, "permanently_disable": False}
    (data_dir / "analytics.json").write_text(json.dumps(aider))
    on = cli("analytics", "on")
    assert on.stdout == (
        "Analytics were already on; you now agree to the current events catalogue.\n"
    )


# -- item 9g: `analytics events --new` after an opt-out --------------------------------------------


def test_events_new_after_an_opt_out_says_you_opted_out(cli) -> None:
    assert cli("analytics", "on").returncode == 0
    assert cli("analytics", "off").returncode == 0
    listing = cli("analytics", "events", "--new")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert lines and all("(you opted out): " in line for line in lines), listing.stdout
    data = json.loads(cli("analytics", "events", "--new", "--json").stdout)
    assert {entry["why"] for entry in data} == {"you opted out"}


def test_events_new_before_any_answer_says_not_opted_in(cli) -> None:
    lines = cli("analytics", "events", "--new").stdout.splitlines()
    assert lines and all("(not opted in): " in line for line in lines)


# -- item 9h: many `analytics on` at once ----------------------------------------------------------


@pytest.mark.slow
def test_concurrent_analytics_on_turn_it_on_once_and_say_so_once(data_dir: Path) -> None:
    """Thirty at once end with one id (the state lock); exactly one of them turned analytics
    on, and only that one may say what it was before."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "blackboxai", "analytics", "on"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(30)
    ]
    said = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 30, said
    turned_on = [out for out, _ in said if out.startswith("Analytics are on (was: ")]
    assert len(turned_on) == 1, turned_on
    assert turned_on[0].startswith("Analytics are on (was: not answered yet)")
    assert all(
        out.startswith("Analytics were already on") for out, _ in said if out not in turned_on
    )
    stored = json.loads((data_dir / "analytics.json").read_text())
    assert turned_on[0].rstrip().endswith(stored["uuid"])
