"""The events catalogue matches the code: every .event("…") call site, and nothing else."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from blackboxai.analytics.catalogue import load_catalogue, render_markdown, validate_record

REPO = Path(__file__).resolve().parents[1]


def call_sites() -> dict[str, list[str]]:
    """Event name -> places, from every `<anything>.event("literal", ...)` call in src/."""
    sites: dict[str, list[str]] = {}
    for path in sorted((REPO / "src").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
            ):
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{path}:{node.lineno}: event names must be string literals, so a search for "
                    '.event(" finds every place that collects data'
                )
                sites.setdefault(first.value, []).append(f"{path.relative_to(REPO)}:{node.lineno}")
    return sites


def test_every_call_site_is_in_the_catalogue_and_every_catalogued_event_has_a_call_site() -> None:
    in_code = set(call_sites())
    catalogued = set(load_catalogue()["events"])
    assert in_code - catalogued == set(), "events recorded but not documented"
    assert catalogued - in_code == set(), "events documented but never recorded"


def test_docs_events_page_is_generated_from_the_catalogue() -> None:
    page = (REPO / "docs" / "events.md").read_text(encoding="utf-8")
    assert page == render_markdown(load_catalogue()), "run: python scripts/gen_events_doc.py"


def test_the_events_command_prints_the_catalogue(cli) -> None:
    run = cli("analytics", "events")
    assert run.returncode == 0
    for name in load_catalogue()["events"]:
        assert f"{name}: " in run.stdout
    as_json = json.loads(cli("analytics", "events", "--json").stdout)
    assert as_json == load_catalogue()


def test_a_real_log_validates_and_a_stray_property_does_not(cli, tmp_path) -> None:
    log = tmp_path / "events.jsonl"
    assert cli("--exit", "--analytics-log", str(log)).returncode == 0
    catalogue = load_catalogue()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records and all(validate_record(r, catalogue) == [] for r in records)
    bad = {**records[0], "properties": {**records[0]["properties"], "prompt": "x"}}
    assert validate_record(bad, catalogue) == ["unknown property 'prompt' on 'launched'"]
    assert validate_record({**records[0], "event": "nope"}, catalogue) == ["unknown event 'nope'"]
