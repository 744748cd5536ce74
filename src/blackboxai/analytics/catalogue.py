"""The catalogue of every event blackboxai can record: data in catalogue.json, shown here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["load_catalogue", "render_catalogue", "render_markdown", "validate_record"]

_PATH = Path(__file__).with_name("catalogue.json")


@cache
def load_catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_PATH.read_text(encoding="utf-8"))
    return data


def render_catalogue(catalogue: dict[str, Any]) -> str:
    """Plain text for the terminal: each event, when it happens, and its properties."""
    lines = []
    for name, spec in catalogue["events"].items():
        lines.append(f"{name}: {spec['when']}")
        for prop, meaning in spec["properties"].items():
            lines.append(f"    {prop}: {meaning}")
    lines.append("")
    lines.append("Every event also carries: " + ", ".join(catalogue["system_properties"]))
    return "\n".join(lines)


def render_markdown(catalogue: dict[str, Any]) -> str:
    """docs/events.md, generated so the page can never drift from the data."""
    out = [
        "# Events catalogue",
        "",
        "<!-- Generated from src/blackboxai/analytics/catalogue.json by "
        "`python scripts/gen_events_doc.py`; a test fails if it drifts. -->",
        "",
        "Every event blackboxai can record, with every property it can carry. "
        "`blackboxai analytics events` prints the same list. Each event also has an "
        "anonymous `user_id`, a `time` (epoch seconds) and its own `id`.",
        "",
        "Every event carries these system properties:",
        "",
        "| property | meaning |",
        "| --- | --- |",
    ]
    out += [f"| `{p}` | {m} |" for p, m in catalogue["system_properties"].items()]
    for name, spec in catalogue["events"].items():
        out += ["", f"## `{name}`", "", spec["when"], ""]
        if spec["properties"]:
            out += ["| property | meaning |", "| --- | --- |"]
            out += [f"| `{p}` | {m} |" for p, m in spec["properties"].items()]
        else:
            out.append("No properties of its own.")
    return "\n".join(out) + "\n"


def validate_record(record: object, catalogue: dict[str, Any]) -> list[str]:
    """Problems with one audit-log record against the catalogue (empty when it conforms)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [
        f"missing {key}"
        for key in ("event", "properties", "user_id", "time", "id")
        if key not in record
    ]
    spec = catalogue["events"].get(record.get("event"))
    if spec is None:
        return [*problems, f"unknown event {record.get('event')!r}"]
    props = record.get("properties")
    if isinstance(props, dict):
        allowed = set(spec["properties"]) | set(catalogue["system_properties"])
        problems += [
            f"unknown property {k!r} on {record['event']!r}" for k in props if k not in allowed
        ]
        problems += [
            f"missing system property {k!r}"
            for k in catalogue["system_properties"]
            if k not in props
        ]
    return problems
