"""sample-analytics.jsonl: 1,000 real events, each valid; the report agrees with them."""

from __future__ import annotations

import json
from collections import Counter

from blackboxai.analytics.consent.catalogue import load_catalogue, validate_record
from tests.support import REPO

SAMPLE = REPO / "sample-analytics.jsonl"


def records() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def test_the_sample_has_1000_events_that_all_validate_against_the_catalogue() -> None:
    sample = records()
    assert len(sample) == 1000
    catalogue = load_catalogue()
    problems = {i: validate_record(r, catalogue) for i, r in enumerate(sample)}
    assert {i: p for i, p in problems.items() if p} == {}
    assert len({r["id"] for r in sample}) == 1000


def test_the_sample_covers_what_the_page_promises() -> None:
    names = Counter(r["event"] for r in records())
    for expected in (
        "message_send",
        "edit_applied",
        "edit_failed",
        "api_error",
        "cli session",
        "exit",
    ):
        assert names[expected] > 0, expected
    assert any(n.startswith("command_") for n in names)
    sends = [r["properties"] for r in records() if r["event"] == "message_send"]
    assert all(p["total_tokens"] == p["prompt_tokens"] + p["completion_tokens"] for p in sends)
    assert {p["edit_format"] for p in sends} == {"whole", "diff"}


def test_the_sample_holds_nothing_private() -> None:
    text = SAMPLE.read_text()
    for needle in (
        "sk-sample",
        "/home/",
        "/tmp/",
        "app.py",
        "util.py",
        "README.md",
        "add logging",
        "my-team",
    ):
        assert needle not in text, needle


def test_the_report_on_the_sample_matches_an_independent_count(cli) -> None:
    run = cli("analytics", "report", str(SAMPLE), "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    sample = records()
    assert report["events"] == 1000 and report["broken_lines"] == 0
    assert report["by_event"] == dict(Counter(r["event"] for r in sample))
    sends = [r["properties"] for r in sample if r["event"] == "message_send"]
    by_model = Counter(p["main_model"] for p in sends)
    assert {m: s["messages"] for m, s in report["models"].items()} == dict(by_model)
    tokens = sum(p["total_tokens"] for p in sends)
    assert sum(s["total_tokens"] for s in report["models"].values()) == tokens
    exits = Counter(r["properties"]["reason"] for r in sample if r["event"] == "exit")
    assert report["exits"] == dict(exits)


def test_the_report_renders_tables_and_bars_for_the_sample(cli) -> None:
    run = cli("analytics", "report", str(SAMPLE), env={"COLUMNS": "100"})
    assert run.returncode == 0
    assert "message_send" in run.stdout and "█" in run.stdout


def test_a_broken_line_is_skipped_and_counted(cli, tmp_path) -> None:
    log = tmp_path / "mixed.jsonl"
    lines = SAMPLE.read_text().splitlines()[:10]
    log.write_text(
        "\n".join([*lines[:5], '{"event": "trunc', "not json at all", *lines[5:]]) + "\n"
    )
    report = json.loads(cli("analytics", "report", str(log), "--json").stdout)
    assert (report["events"], report["broken_lines"]) == (10, 2)


def test_the_generator_script_still_produces_valid_events(tmp_path) -> None:
    import subprocess
    import sys

    out = tmp_path / "small.jsonl"
    args = ["--events", "25", "--seed", "3", "--out", str(out)]
    run = subprocess.run(
        [sys.executable, "-m", "scripts.gen_sample", *args],
        cwd=SAMPLE.parent,  # the repository root, as its docstring says to run it
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    small = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(small) == 25
    assert all(validate_record(r, load_catalogue()) == [] for r in small)
