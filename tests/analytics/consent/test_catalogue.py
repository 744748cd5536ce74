"""The events catalogue matches the code: every .event("…") call site, and nothing else."""

from __future__ import annotations

import ast
import json

from blackboxai.analytics.consent.catalogue import (
    catalogue_items,
    catalogue_version,
    load_catalogue,
    render_markdown,
    validate_record,
)
from tests.support import REPO


def event_calls() -> list[tuple[str, ast.Call, str]]:
    """(event name, call, place) for every `<anything>.event("literal", ...)` call in src/."""
    calls = []
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
                calls.append((first.value, node, f"{path.relative_to(REPO)}:{node.lineno}"))
    return calls


def call_sites() -> dict[str, list[str]]:
    """Event name -> places."""
    sites: dict[str, list[str]] = {}
    for name, _, place in event_calls():
        sites.setdefault(name, []).append(place)
    return sites


def test_every_call_site_is_in_the_catalogue_and_every_catalogued_event_has_a_call_site() -> None:
    in_code = set(call_sites())
    catalogued = set(load_catalogue()["events"])
    assert in_code - catalogued == set(), "events recorded but not documented"
    assert catalogued - in_code == set(), "events documented but never recorded"


def test_what_the_team_telemetry_page_says_is_exported_is_generated() -> None:
    from scripts.gen_events_doc import with_exported

    page = (REPO / "docs" / "team-telemetry.md").read_text(encoding="utf-8")
    assert page == with_exported(page, load_catalogue()), "run: python -m scripts.gen_events_doc"


def test_docs_events_page_is_generated_from_the_catalogue() -> None:
    page = (REPO / "docs" / "events.md").read_text(encoding="utf-8")
    assert page == render_markdown(load_catalogue()), "run: python -m scripts.gen_events_doc"


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


def test_every_property_a_call_site_passes_is_catalogued_for_its_event() -> None:
    catalogue = load_catalogue()
    missing = [
        f"{place}: {name}.{keyword.arg}"
        for name, call, place in event_calls()
        for keyword in call.keywords
        if keyword.arg is not None  # **splat: checked at run time by validate_record
        and keyword.arg not in catalogue["events"][name]["properties"]
    ]
    assert missing == [], "properties recorded but not in the catalogue"


def test_every_entry_carries_a_version_no_newer_than_the_catalogue() -> None:
    catalogue = load_catalogue()
    version = catalogue_version()
    assert str(version) in catalogue["versions"]  # each version says what it changed
    for name, item in catalogue_items().items():
        assert type(item.since) is int and 1 <= item.since <= version, name
        assert item.description, name


def test_released_entries_keep_their_version_and_new_ones_take_a_new_version() -> None:
    """What users agreed to is fixed: changing a released entry's version would silently widen
    (or narrow) consent. Update tests/catalogue_released.json with
    `python -m scripts.release_catalogue` when a release ships."""
    released = json.loads((REPO / "tests" / "catalogue_released.json").read_text())
    items = catalogue_items()
    assert catalogue_version() >= released["version"]
    changed = {
        name: (since, items[name].since)
        for name, since in released["items"].items()
        if name in items and items[name].since != since
    }
    assert changed == {}, "released entries must keep the version users agreed to"
    backdated = [
        name
        for name, item in items.items()
        if name not in released["items"] and item.since <= released["version"]
    ]
    assert backdated == [], "a new entry needs a catalogue version newer than the released one"


def test_the_catalogue_names_every_reason_an_edit_can_fail_for() -> None:
    from blackboxai.session.edits import FAILURE_REASONS

    meaning = load_catalogue()["events"]["edit_failed"]["properties"]["reason"]["meaning"]
    assert [code for code in FAILURE_REASONS if code not in meaning] == []
