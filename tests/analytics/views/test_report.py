"""Tests for `blackboxai analytics report`: the JSONL audit-log summariser."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from blackboxai.analytics.views.report import UNKNOWN, ModelStats, Summary, summarise
from blackboxai.analytics.views.reportview import _bar, render, to_json

SYSTEM = {
    "python_version": "3.11.7",
    "os_platform": "Linux",
    "os_release": "6.1.0",
    "machine": "x86_64",
    "blackboxai_version": "0.1.0",
}
BAR_CHARS = set("█▏▎▍▌▋▊▉")


def line(event: str, t: int, user: str = "u1", **props: Any) -> str:
    """One audit-log line as the writer produces it (system props included)."""
    record = {
        "event": event,
        "properties": {**props, **SYSTEM},
        "user_id": user,
        "time": t,
        "id": f"{event}-{t}",
    }
    return json.dumps(record)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    return path


KNOWN = [
    line("launched", 1_700_000_500, "alice"),
    line(
        "cli session",
        1_700_000_501,
        "alice",
        main_model="gpt-4o",
        edit_format="diff",
        files_in_chat=2,
    ),
    line(
        "message_send",
        1_700_000_510,
        "alice",
        main_model="gpt-4o",
        edit_format="diff",
        prompt_tokens=100,
        completion_tokens=20,
        total_tokens=120,
        duration_s=1.5,
    ),
    line(
        "message_send",
        1_700_000_520,
        "alice",
        main_model="gpt-4o",
        edit_format="diff",
        prompt_tokens=200,
        completion_tokens=30,
        total_tokens=230,
        duration_s=2.0,
    ),
    line(
        "message_send",
        1_700_000_530,
        "bob",
        main_model="claude-3-5-sonnet",
        edit_format="whole",
        prompt_tokens=1000,
        completion_tokens=500,
        total_tokens=1500,
        duration_s=9.0,
    ),
    line("edit_applied", 1_700_000_531, "alice", edit_format="diff", files_changed=1, blocks=2),
    line(
        "edit_failed",
        1_700_000_532,
        "alice",
        edit_format="diff",
        blocks_failed=1,
        reason="no match",
    ),
    line("command_add", 1_700_000_540, "alice"),
    line("command_add", 1_700_000_541, "alice"),
    line("command_tokens", 1_700_000_542, "bob"),
    line("api_error", 1_700_000_550, "bob", error_class="RateLimitError", status=429),
    line("api_error", 1_700_000_551, "bob", error_class="RateLimitError", status=429),
    line("api_error", 1_700_000_552, "bob", error_class="APIConnectionError", status=None),
    line("exception", 1_700_000_560, "carol", type="KeyError", frames=["a.py:1"]),
    line("model warning", 1_700_000_570, "carol", main_model="weird-model"),
    line("exit", 1_700_000_100, "alice", reason="eof"),  # earliest time, out of order
    line("exit", 1_700_000_999, "bob", reason="ctrl-c"),  # latest time
    line("exit", 1_700_000_600, "carol", reason="eof"),
]


def test_known_log_every_count(tmp_path: Path) -> None:
    s = summarise([write(tmp_path / "a.jsonl", KNOWN)])
    assert s.files == [str(tmp_path / "a.jsonl")]
    assert s.missing_files == []
    assert (s.lines_read, s.events, s.broken_lines) == (18, 18, 0)
    assert s.users == 3
    assert (s.first_time, s.last_time) == (1_700_000_100, 1_700_000_999)
    assert s.by_event == Counter(
        {
            "launched": 1,
            "cli session": 1,
            "message_send": 3,
            "edit_applied": 1,
            "edit_failed": 1,
            "command_add": 2,
            "command_tokens": 1,
            "api_error": 3,
            "exception": 1,
            "model warning": 1,
            "exit": 3,
        }
    )
    assert s.models == {
        "gpt-4o": ModelStats(messages=2, prompt_tokens=300, completion_tokens=50, total_tokens=350),
        "claude-3-5-sonnet": ModelStats(
            messages=1, prompt_tokens=1000, completion_tokens=500, total_tokens=1500
        ),
    }
    assert s.edit_formats == Counter({"diff": 2, "whole": 1})  # message_send only
    assert s.commands == Counter({"add": 2, "tokens": 1})
    assert s.exits == Counter({"eof": 2, "ctrl-c": 1})
    assert s.exceptions == Counter({"KeyError": 1})
    assert s.api_errors == Counter({"RateLimitError": 2, "APIConnectionError": 1})


def test_several_files_combine_and_missing_file_is_listed(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", KNOWN[:9])
    b = write(tmp_path / "b.jsonl", KNOWN[9:])
    missing = tmp_path / "nope.jsonl"
    s = summarise([a, str(missing), b, tmp_path])  # a directory cannot be read either
    assert s.files == [str(a), str(b)]
    assert s.missing_files == [str(missing), str(tmp_path)]
    whole = summarise([write(tmp_path / "all.jsonl", KNOWN)])
    assert to_json(s) | {"files": [], "missing_files": []} == to_json(whole) | {
        "files": [],
        "missing_files": [],
    }


def test_read_error_mid_file_keeps_what_was_read(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failing:
        """A file whose disk dies after the lines it was given."""

        def __init__(self, lines: list[str]) -> None:
            self.lines = iter(f"{x}\n" for x in lines)

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def __iter__(self) -> Failing:
            return self

        def __next__(self) -> str:
            for text in self.lines:
                return text
            raise OSError(5, "Input/output error")

    fake = Failing(KNOWN[:4])
    monkeypatch.setattr("blackboxai.analytics.views.report.open_to_read", lambda *a: -1)
    monkeypatch.setattr(
        "blackboxai.analytics.views.report.open", lambda *a, **k: fake, raising=False
    )
    s = summarise(["/dev/flaky"])
    assert s.missing_files == ["/dev/flaky"] and s.files == []
    assert (s.lines_read, s.events, s.by_event["message_send"]) == (4, 4, 2)
    assert s.models["gpt-4o"].messages == 2


def test_nothing_readable_is_an_empty_summary(tmp_path: Path) -> None:
    s = summarise([tmp_path / "missing.jsonl"])
    assert s == Summary(missing_files=[str(tmp_path / "missing.jsonl")])
    assert summarise([]) == Summary()


def test_broken_lines_are_skipped_and_counted_blank_lines_are_not(tmp_path: Path) -> None:
    good = line("launched", 1_700_000_000)
    path = tmp_path / "broken.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                good.encode(),
                b'{"event": "launched", "time": 17',  # truncated
                b'["launched", 1]',  # an array
                b'"launched"',  # a string
                b"\x00\xff\xfe\x89PNG\r\x1a garbage \xc3\x28\r\r",  # binary; \r does not split it
                b'{"properties": {}, "time": 1}',  # no "event"
                b'{"event": 42}',  # event not a string
                b'{"event": "launched"} trailing junk',
                b"[" * 100_000,  # deeper than the recursion limit
                b"",
                b"   \t ",
                b'  {"event": "exit", "properties": {"reason": "eof"}}  ',  # padded but valid
                good.encode(),
                b"",
            ]
        )
    )
    s = summarise([path])
    assert s.lines_read == 13
    assert s.broken_lines == 8
    assert s.events == 3
    assert s.by_event == Counter({"launched": 2, "exit": 1})
    assert s.exits == Counter({"eof": 1})


def test_odd_but_valid_json_is_tolerated(tmp_path: Path) -> None:
    lines = [
        json.dumps({"event": "message_send", "properties": "not a dict"}),
        json.dumps(
            {
                "event": "message_send",
                "properties": {
                    "main_model": "m",
                    "prompt_tokens": "12",
                    "completion_tokens": None,
                    "total_tokens": True,
                },
            }
        ),
        json.dumps(
            {
                "event": "message_send",
                "properties": {
                    "main_model": "m",
                    "prompt_tokens": 7.9,
                    "completion_tokens": -5,
                    "total_tokens": [1],
                },
            }
        ),
        '{"event": "message_send", "properties": {"main_model": "m", "total_tokens": NaN}}',
        json.dumps({"event": "exit", "properties": ["eof"]}),
        json.dumps({"event": "exception", "properties": {"type": 3}}),
        json.dumps({"event": "api_error"}),
        json.dumps({"event": "command_add", "time": "yesterday", "user_id": 5}),
        json.dumps({"event": "launched", "time": 1_700_000_000.7}),
        '{"event": "launched", "time": Infinity}',
        json.dumps({"event": "launched", "time": True}),
    ]
    s = summarise([write(tmp_path / "odd.jsonl", lines)])
    assert (s.events, s.broken_lines) == (11, 0)
    assert s.models == {
        UNKNOWN: ModelStats(messages=1),
        "m": ModelStats(messages=3, prompt_tokens=7),
    }
    assert s.edit_formats == Counter({UNKNOWN: 4})
    assert s.exits == Counter({UNKNOWN: 1})
    assert s.exceptions == Counter({UNKNOWN: 1})
    assert s.api_errors == Counter({UNKNOWN: 1})
    assert s.commands == Counter({"add": 1})
    assert (s.first_time, s.last_time) == (1_700_000_000, 1_700_000_000)
    assert s.users == 0


def test_undecodable_bytes_inside_a_line_and_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"  # a BOM, as some editors save
        + b'{"event": "launched", "properties": {"note": "caf\xe9 \xff"}}\r\n'
        + b'{"event": "exit", "properties": {"reason": "\xc3\xa9t\xc3\xa9"}}\r\n'
    )
    s = summarise([path])
    assert (s.lines_read, s.events, s.broken_lines) == (2, 2, 0)
    assert s.exits == Counter({"été": 1})


def test_dash_reads_stdin_without_closing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = io.BytesIO(("\n".join(KNOWN[:3]) + "\nnot json\n").encode() + b"\xff\n")
    stdin = io.TextIOWrapper(raw, encoding="ascii")  # a locale that would choke on \xff
    monkeypatch.setattr(sys, "stdin", stdin)
    s = summarise(["-", write(tmp_path / "b.jsonl", KNOWN[3:4])])
    assert s.files == ["-", str(tmp_path / "b.jsonl")]
    assert (s.lines_read, s.events, s.broken_lines) == (6, 4, 2)
    assert not raw.closed


def test_to_json_is_plain_stable_and_ranked(tmp_path: Path) -> None:
    s = summarise([write(tmp_path / "a.jsonl", KNOWN), tmp_path / "missing.jsonl"])
    data = to_json(s)
    assert list(data) == [
        "lines_read",
        "events",
        "broken_lines",
        "files",
        "missing_files",
        "first_time",
        "last_time",
        "users",
        "by_event",
        "models",
        "edit_formats",
        "commands",
        "exits",
        "exceptions",
        "api_errors",
    ]
    assert json.loads(json.dumps(data)) == data
    # counters: count descending, ties by name
    assert list(data["by_event"].items())[:5] == [  # type: ignore[attr-defined]
        ("api_error", 3),
        ("exit", 3),
        ("message_send", 3),
        ("command_add", 2),
        ("cli session", 1),
    ]
    for key in ("by_event", "edit_formats", "commands", "exits", "exceptions", "api_errors"):
        items = list(data[key].items())  # type: ignore[attr-defined]
        assert items == sorted(items, key=lambda kv: (-kv[1], kv[0]))
    assert data["models"] == {
        "gpt-4o": {
            "messages": 2,
            "prompt_tokens": 300,
            "completion_tokens": 50,
            "total_tokens": 350,
        },
        "claude-3-5-sonnet": {
            "messages": 1,
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "total_tokens": 1500,
        },
    }
    assert data["missing_files"] == [str(tmp_path / "missing.jsonl")]
    assert (data["first_time"], data["last_time"], data["users"]) == (
        1_700_000_100,
        1_700_000_999,
        3,
    )


def _render(s: Summary, width: int = 100) -> str:
    console = Console(record=True, width=width, file=io.StringIO())  # keep pytest's output clean
    render(s, console)
    return console.export_text()


def _bar_of(text: str, row_start: str) -> str:
    """The bar characters on the first table row starting with `row_start`."""
    for row in text.splitlines():
        if row.strip().startswith(row_start):
            return "".join(ch for ch in row if ch in BAR_CHARS)
    raise AssertionError(f"no row {row_start!r} in\n{text}")


def test_render_tables_with_bars(tmp_path: Path) -> None:
    lines = [
        line(
            "message_send",
            1_700_000_000 + i,
            main_model="gpt-4o",
            edit_format="diff",
            prompt_tokens=10,
            completion_tokens=1,
            total_tokens=11,
        )
        for i in range(8)
    ]
    lines += [line("command_add", 1_700_000_100 + i) for i in range(4)]
    lines += [line("exit", 1_700_086_400, reason="eof"), "{broken", "[1]", '"x"']
    s = summarise([write(tmp_path / "r.jsonl", lines)])
    text = _render(s)
    assert "Files: " in text and "r.jsonl" in text
    assert "16 lines, 13 events, 1 distinct user" in text
    assert "2023-11-14T22:13:20Z" in text and "2023-11-15T22:13:20Z" in text
    assert "Skipped 3 broken lines." in text
    for title in ("Events", "Models", "Edit formats", "Commands", "Exits"):
        assert f"\n{title}" in text or text.startswith(title)
    for absent in ("Exceptions", "API errors", "no events"):
        assert absent not in text  # sections without data are left out
    for name, count in (("message_send", "8"), ("command_add", "4"), ("exit", "1")):
        assert any(r.split()[:2] == [name, count] for r in text.splitlines()), name
    longest = _bar_of(text, "message_send")
    assert longest == "█" * 30
    assert _bar_of(text, "command_add") == "█" * 15
    assert 0 < len(_bar_of(text, "exit")) < len(_bar_of(text, "command_add"))
    assert _bar_of(text, "gpt-4o")  # the model table has a bar too
    assert any(r.split()[:5] == ["gpt-4o", "8", "80", "8", "88"] for r in text.splitlines())


def test_render_empty_and_hostile_input(tmp_path: Path) -> None:
    empty = _render(summarise([write(tmp_path / "e.jsonl", ["", ""])]))
    assert "no events" in empty and "Events" not in empty and "broken" not in empty
    hostile = write(tmp_path / "h.jsonl", [json.dumps({"event": "[red]x[/red]\x1b[2J"})])
    text = _render(summarise([hostile]))
    assert "[red]x[/red]\\x1b[2J" in text  # shown literally: no markup, no escape codes
    assert "\x1b" not in text


def test_render_counts_in_plain_english_and_ignores_impossible_times(tmp_path: Path) -> None:
    one = write(tmp_path / "one.jsonl", [json.dumps({"event": "launched", "time": 1e300})])
    text = _render(summarise([one]))
    assert "1 line, 1 event, 0 distinct users" in text
    assert "From " not in text  # a time past the year 9999 is no time span, and never printed
    assert "1000000" not in text


def test_render_caps_rows(tmp_path: Path) -> None:
    lines = [line(f"command_c{i:02}", 1) for i in range(40)]
    console = Console(record=True, width=100, file=io.StringIO())
    render(summarise([write(tmp_path / "c.jsonl", lines)]), console, max_rows=10)
    assert "… 30 more" in console.export_text()


def test_bar_uses_eighths_and_never_hides_a_nonzero_value() -> None:
    assert _bar(10, 10, 30) == "█" * 30
    assert _bar(5, 10, 30) == "█" * 15
    assert _bar(1, 16, 2) == "▏"  # 1/16 of 2 cells = one eighth
    assert _bar(3, 16, 2) == "▍"
    assert _bar(1, 10**9, 30) == "▏"
    assert _bar(0, 10, 30) == ""


def test_import_is_cheap() -> None:
    code = "import sys, blackboxai.analytics.views.report; print(sorted(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "'rich'" not in out and "'rich." not in out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=40),
            st.sampled_from(KNOWN),
            st.builds(
                json.dumps,
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(
                            st.sampled_from(
                                [
                                    "event",
                                    "time",
                                    "user_id",
                                    "properties",
                                    "main_model",
                                    "prompt_tokens",
                                    "reason",
                                    "type",
                                    "error_class",
                                ]
                            ),
                            inner,
                            max_size=4,
                        )
                    ),
                    max_leaves=8,
                ),
            ),
        ),
        max_size=30,
    )
)
def test_any_input_is_accounted_for(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes("".join(x + "\n" for x in lines).encode("utf-8", "surrogatepass"))
    s = summarise([path])
    blank = sum(1 for x in lines if not x.strip())
    assert s.lines_read == len(lines)
    assert s.events + s.broken_lines + blank == s.lines_read
    assert sum(s.by_event.values()) == s.events
    assert json.loads(json.dumps(to_json(s))) == to_json(s)
    _render(s)


def _generate(path: Path, n: int, seed: int) -> dict[str, Any]:
    """Write n lines and tally, independently of the code under test, what they hold."""
    rng = random.Random(seed)
    models = ["gpt-4o", "claude-3-5-sonnet", "deepseek-chat", "o3-mini"]
    formats = ["diff", "whole", "udiff", "architect"]
    names = [
        "launched",
        "cli session",
        "message_send",
        "edit_applied",
        "edit_failed",
        "command_add",
        "command_tokens",
        "command_drop",
        "api_error",
        "exception",
        "model warning",
        "exit",
    ]
    weights = [5, 5, 40, 10, 3, 8, 4, 3, 3, 2, 1, 5]
    broken = ['{"event": "launched", "ti', "[1, 2]", '"text"', '{"no_event": 1}', "\x00\x01"]
    exp: dict[str, Any] = {
        "by_event": Counter(),
        "models": {},
        "edit_formats": Counter(),
        "commands": Counter(),
        "exits": Counter(),
        "exceptions": Counter(),
        "api_errors": Counter(),
        "broken": 0,
        "blank": 0,
        "users": set(),
        "times": [],
    }
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            r = rng.random()
            if r < 0.01:
                f.write(rng.choice(broken) + "\n")
                exp["broken"] += 1
                continue
            if r < 0.015:
                f.write("\n")
                exp["blank"] += 1
                continue
            name = rng.choices(names, weights)[0]
            user = f"user-{rng.randrange(7)}"
            t = 1_700_000_000 + rng.randrange(10_000_000)
            props: dict[str, Any] = {}
            exp["by_event"][name] += 1
            exp["users"].add(user)
            exp["times"].append(t)
            if name == "message_send":
                model, fmt = rng.choice(models), rng.choice(formats)
                p, c = rng.randrange(50_000), rng.randrange(4_000)
                props = {
                    "main_model": model,
                    "edit_format": fmt,
                    "prompt_tokens": p,
                    "completion_tokens": c,
                    "total_tokens": p + c,
                    "duration_s": 1.25,
                }
                if rng.random() < 0.01:  # a writer bug: count the message, not the tokens
                    props["prompt_tokens"], p = "lots", 0
                m = exp["models"].setdefault(model, [0, 0, 0, 0])
                m[0] += 1
                m[1] += p
                m[2] += c
                m[3] += props["total_tokens"]
                exp["edit_formats"][fmt] += 1
            elif name.startswith("command_"):
                exp["commands"][name[len("command_") :]] += 1
            elif name == "exit":
                props = {"reason": rng.choice(["eof", "ctrl-c", "/exit"])}
                exp["exits"][props["reason"]] += 1
            elif name == "exception":
                props = {"type": rng.choice(["KeyError", "OSError"]), "frames": ["x.py:1"]}
                exp["exceptions"][props["type"]] += 1
            elif name == "api_error":
                props = {"error_class": rng.choice(["RateLimitError", "Timeout"]), "status": 429}
                exp["api_errors"][props["error_class"]] += 1
            record = {
                "event": name,
                "properties": {**props, **SYSTEM},
                "user_id": user,
                "time": t,
                "id": f"{rng.getrandbits(128):032x}",
            }
            f.write(json.dumps(record) + "\n")
    return exp


@pytest.mark.slow
def test_large_generated_log_exact_counts_and_flat_memory(tmp_path: Path) -> None:
    n = 200_000
    path = tmp_path / "large.jsonl"
    exp = _generate(path, n, seed=20240601)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        started = time.perf_counter()
        s = summarise([path])
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nsummarise: {n:,} lines in {elapsed:.2f}s under tracemalloc, peak {peak:,} bytes")
    assert s.lines_read == n
    assert s.broken_lines == exp["broken"]
    assert s.events == n - exp["broken"] - exp["blank"]
    assert s.by_event == exp["by_event"]
    assert s.users == len(exp["users"])
    assert (s.first_time, s.last_time) == (min(exp["times"]), max(exp["times"]))
    assert {
        k: [m.messages, m.prompt_tokens, m.completion_tokens, m.total_tokens]
        for k, m in s.models.items()
    } == exp["models"]
    for key in ("edit_formats", "commands", "exits", "exceptions", "api_errors"):
        assert getattr(s, key) == exp[key], key
    assert peak < 2 * 1024 * 1024  # a 60 MB file, summarised in well under 2 MB
