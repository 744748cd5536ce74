"""The catalogue of every event blackboxai can record, and what consent covers.

catalogue.json is data: each event and property records the catalogue version that introduced
it (`since`). A user agrees to one version; what came later waits until they have seen it, and
what they declined is never sent. Items are named `event` or `event.property`, and `*.property`
for the system properties every event carries.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "EMPTY",
    "Item",
    "Withhold",
    "catalogue_items",
    "catalogue_version",
    "load_catalogue",
    "new_items",
    "read_catalogue",
    "render_catalogue",
    "render_markdown",
    "validate_record",
    "withheld_items",
    "withholder",
]

_PATH = Path(__file__).with_name("catalogue.json")


class Item(NamedTuple):
    """One thing consent can cover: an event, or a property of one."""

    name: str  # "exit", "exit.reason", "*.python_version"
    since: int
    description: str
    event: bool = False  # an event (not a property)
    owner: str = "*"  # the event a property belongs to ("*": every event); an event's own name


# Which catalogue items of an event may not be sent: (event name, property names) -> items.
Withhold = Callable[[str, Iterable[str]], tuple[str, ...]]

# A catalogue that describes nothing: what an unreadable catalogue falls back to.
EMPTY: dict[str, Any] = {"version": 1, "versions": {}, "system_properties": {}, "events": {}}


@cache
def load_catalogue() -> dict[str, Any]:
    """blackboxai's own catalogue, shipped with the package."""
    return read_catalogue(_PATH)


def read_catalogue(source: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """A catalogue from a mapping or a JSON file, made whole: a version, and a `since` (at most
    that version) on every event and property are required; `when`, `meaning`, `properties`
    and `versions` may be left out. Raises ValueError for anything else."""
    data = _mapping(source if isinstance(source, Mapping) else _json_file(source))
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise ValueError("a catalogue needs a whole-number version")

    def since(spec: object) -> int:
        value = _mapping(spec).get("since")
        if type(value) is not int or not 1 <= value <= version:
            raise ValueError("every catalogue entry needs a `since` version")
        return value

    def props(specs: object) -> dict[str, Any]:
        return {
            str(name): {"since": since(spec), "meaning": str(_mapping(spec).get("meaning", ""))}
            for name, spec in _mapping(specs).items()
        }

    events = {
        str(name): {
            "since": since(spec),
            "when": str(_mapping(spec).get("when", "")),
            "properties": props(_mapping(spec).get("properties", {})),
        }
        for name, spec in _mapping(data.get("events", {})).items()
    }
    versions = {str(k): str(v) for k, v in _mapping(data.get("versions", {})).items()}
    system = props(data.get("system_properties", {}))
    return {"version": version, "versions": versions, "system_properties": system, "events": events}


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("a catalogue is made of mappings")
    return value


def _json_file(path: str | os.PathLike[str]) -> object:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def catalogue_version(catalogue: dict[str, Any] | None = None) -> int:
    return int((catalogue or load_catalogue())["version"])


def catalogue_items(catalogue: dict[str, Any] | None = None) -> dict[str, Item]:
    """Every event and property as a consent item, keyed by its name."""
    catalogue = catalogue or load_catalogue()
    items: dict[str, Item] = {}
    for prop, spec in catalogue["system_properties"].items():
        items[f"*.{prop}"] = Item(
            f"*.{prop}", spec["since"], f"{prop}, on every event: {spec['meaning']}"
        )
    for name, spec in catalogue["events"].items():
        items[name] = Item(name, spec["since"], f"the {name} event: {spec['when']}", True, name)
        for prop, pspec in spec["properties"].items():
            key = f"{name}.{prop}"
            items[key] = Item(
                key, pspec["since"], f"{prop}, on {name}: {pspec['meaning']}", False, name
            )
    return items


def _item_key(items: dict[str, Item], event: str, prop: str) -> str:
    own = f"{event}.{prop}"
    return own if own in items or f"*.{prop}" not in items else f"*.{prop}"


def withheld_items(
    items: dict[str, Item], agreed: int, declined: frozenset[str], event: str, props: Iterable[str]
) -> tuple[str, ...]:
    """What of one event may not be sent: anything introduced after the agreed version, anything
    declined, and anything the catalogue does not describe (nobody agreed to it)."""

    def held(key: str) -> bool:
        item = items.get(key)
        return item is None or item.since > agreed or key in declined

    if held(event) or not items[event].event:  # "exit.reason" names a property, not an event
        return (event,)
    return tuple(key for key in (_item_key(items, event, p) for p in props) if held(key))


def withholder(catalogue: dict[str, Any], agreed: int, declined: tuple[str, ...]) -> Withhold:
    """withheld_items for one user's agreement with one catalogue. A call site records the
    same properties every time, so each (event, property names) shape is judged once."""
    judge = functools.partial(
        withheld_items, catalogue_items(catalogue), agreed, frozenset(declined)
    )
    seen: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def withhold(event: str, props: Iterable[str]) -> tuple[str, ...]:
        key = (event, tuple(props))
        found = seen.get(key)
        if found is None:
            found = judge(*key)
            if len(seen) < 1024:
                seen[key] = found
        return found

    return withhold


def new_items(
    agreed: int, declined: Iterable[str], catalogue: dict[str, Any] | None = None
) -> list[Item]:
    """What the user has not seen yet: introduced after the agreed version and not declined.
    A property of an event that is itself new is covered by that event's line."""
    items = catalogue_items(catalogue)
    seen = set(declined)
    fresh = [i for i in items.values() if i.since > agreed and i.name not in seen]
    new_events = {i.name for i in fresh if i.event}
    return [i for i in fresh if i.event or i.owner not in new_events]


def render_catalogue(catalogue: dict[str, Any]) -> str:
    """Plain text for the terminal: each event, when it happens, and its properties."""
    lines = []
    for name, spec in catalogue["events"].items():
        lines.append(f"{name}: {spec['when']}{_since(spec)}")
        for prop, pspec in spec["properties"].items():
            lines.append(f"    {prop}: {pspec['meaning']}{_since(pspec)}")
    lines.append("")
    lines.append("Every event also carries: " + ", ".join(catalogue["system_properties"]))
    return "\n".join(lines)


def _since(spec: dict[str, Any]) -> str:
    return f" (since catalogue {spec['since']})" if spec["since"] > 1 else ""


def render_markdown(catalogue: dict[str, Any]) -> str:
    """docs/events.md, generated so the page can never drift from the data."""
    out = [
        "# Events catalogue",
        "",
        "<!-- Generated from src/blackboxai/analytics/consent/catalogue.json by "
        "`python scripts/gen_events_doc.py`; a test fails if it drifts. -->",
        "",
        "Every event blackboxai can record, with every property it can carry. "
        "`blackboxai analytics events` prints the same list. Each event also has an "
        "anonymous `user_id` (none until you opt in), a `time` (epoch seconds, to the "
        "millisecond) and its own `id`.",
        "",
        f"This is version {catalogue['version']} of the catalogue. The *since* column says "
        "which version introduced an entry: your consent covers the version you agreed to, "
        "and anything newer is not sent until you have seen it (see analytics.md).",
        "",
        "| version | what it changed |",
        "| --- | --- |",
    ]
    out += [f"| {v} | {what} |" for v, what in catalogue["versions"].items()]
    out += ["", "Every event carries these system properties:", ""]
    out += ["| property | since | meaning |", "| --- | --- | --- |"]
    out += [
        f"| `{p}` | {s['since']} | {s['meaning']} |"
        for p, s in catalogue["system_properties"].items()
    ]
    for name, spec in catalogue["events"].items():
        out += ["", f"## `{name}`", "", f"{spec['when']} (since version {spec['since']})", ""]
        if spec["properties"]:
            out += ["| property | since | meaning |", "| --- | --- | --- |"]
            out += [
                f"| `{p}` | {s['since']} | {s['meaning']} |" for p, s in spec["properties"].items()
            ]
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
