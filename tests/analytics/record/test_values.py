"""What a value says by its type, before any text is scrubbed
(blackboxai.analytics.record.values)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blackboxai.analytics.record.scrub import MAX_STRING, scrub_properties, scrub_value

MORE = "…"
PATH = "<path>"
FINE_TUNE = "ft:gpt-4o:my-org:secret"


def test_an_exception_says_its_type_and_never_its_message() -> None:
    exc = FileNotFoundError(2, "No such file or directory", "/srv/acme/salaries.xlsx")
    named = ImportError("no module at /srv/acme", name="acme_private")  # has a str .name
    out = scrub_properties({"error": exc, "errors": [exc, named], "model": exc, "other": named})
    assert out == {
        "error": "FileNotFoundError",
        "errors": '["FileNotFoundError","ImportError"]',
        "model": "FileNotFoundError",
        "other": "ImportError",
    }
    assert scrub_value(KeyError("ann@example.com")) == "KeyError"


@pytest.mark.parametrize(
    "path", [Path("/srv/acme/x.py"), PurePosixPath("rel/x"), PureWindowsPath("C:/acme/x.docx")]
)
def test_a_path_object_becomes_a_path_marker(path: PurePath) -> None:
    assert scrub_properties({"file": path, "main_model": path}) == {
        "file": PATH,
        "main_model": PATH,
    }
    assert scrub_properties({"files": [path]}) == {"files": f'["{PATH}"]'}
    assert scrub_value(path) == PATH


@pytest.mark.parametrize(
    "key", ["model", "MODEL", "models", "llm", "model_name", "editor-model", "mainModel", "x_llm"]
)
def test_model_keys_are_recognised_whatever_their_spelling(key: str) -> None:
    assert scrub_properties({key: FINE_TUNE}) == {key: "openai/REDACTED"}


@pytest.mark.parametrize("key", ["datamodel", "modelling", "model_count", "remodel"])
def test_other_keys_mentioning_model_are_scrubbed_as_text(key: str) -> None:
    assert scrub_properties({key: "relational"}) == {key: "relational"}


EXCEPTIONS = st.sampled_from([ValueError, KeyError, OSError, FileNotFoundError, RuntimeError])


@settings(max_examples=200, deadline=None)
@given(kind=EXCEPTIONS, message=st.text(min_size=1), key=st.sampled_from(["reason", "model"]))
def test_generated_exceptions_say_only_their_type(
    kind: type[Exception], message: str, key: str
) -> None:
    exc = kind(message)
    assert scrub_properties({key: exc}) == {key: kind.__name__}
    assert scrub_properties({key: [exc, {"e": exc}]}) == {
        key: f'["{kind.__name__}",{{"e":"{kind.__name__}"}}]'
    }


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class _BrokenName:
    @property
    def name(self) -> str:
        raise RuntimeError("no name")


def test_an_unprintable_item_costs_only_itself() -> None:
    out = scrub_properties({"items": [_Unprintable(), _BrokenName(), 1]})
    assert out == {"items": '["<unprintable>","<unprintable>",1]'}


# --- bounds: one budget for the whole walk -----------------------------------------------------

# Each builds a value that an adversarial review found hanging event(), or that could: small in
# memory, huge (or endless) when read item by item. Run in a child process, so that a regression
# fails on the timeout instead of hanging the suite; the timeout is a guard, not a measurement.
HOSTILE = """
import json, sys
from blackboxai.analytics.record.scrub import scrub_properties

class Huge:
    def __str__(self) -> str:
        return "x " * 5_000_000

class Raises:
    def __str__(self) -> str:
        raise RuntimeError("no")

shared = ["a"] * 4000
shared = [shared] * 4000
shared = [shared] * 4000
circular = []
circular.append(circular)
selfish = {}
selfish["me"] = selfish
deep = []
for _ in range(100_000):
    deep = [deep]
sys.set_int_max_str_digits(0)  # a host may allow printing any int: it must not take minutes
values = {
    "shared": shared,
    "ints": [[0] * 4000] * 1000,
    "strings": ["y" * 100_000] * 1000,
    "words": ["ann smith " * 10_000] * 1000,
    "circular": circular,
    "selfish": selfish,
    "deep": deep,
    "huge-str": [Huge()] * 4000,
    "raises": [Raises()] * 4000,
    "huge-int": [10**200_000] * 4000,
    "top-int": 10**200_000,
    "set": frozenset(range(1_000_000)),
    "tuple-key": {("k",) * 4000: shared},
}
print(json.dumps({name: scrub_properties({"reason": v})["reason"] for name, v in values.items()}))
"""


def test_containers_built_from_shared_references_are_read_within_one_budget() -> None:
    run = subprocess.run(
        [sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=120, check=True
    )
    out = json.loads(run.stdout)
    assert all(isinstance(v, str) and len(v) <= MAX_STRING for v in out.values()), out
    assert out["shared"].startswith('[[["a","a",') and len(out["shared"]) == MAX_STRING
    assert out["ints"].startswith("[[0,0,") and len(out["ints"]) == MAX_STRING
    # A string is cut before it is copied, losing the word the cut splits; then nothing more fits.
    assert out["strings"] == f'["{MORE}","{MORE}"]'
    assert out["words"].startswith('["ann smith ann smith')
    assert out["circular"] == out["deep"] == "[" * 65 + f'"{MORE}"' + "]" * 65
    assert out["selfish"] == '{"me":' * 65 + f'"{MORE}"' + "}" * 65
    assert out["huge-str"].startswith('["x x x x') and len(out["huge-str"]) == MAX_STRING
    assert out["raises"].startswith('["<unprintable>","<unprintable>",')
    assert out["huge-int"].startswith('["<unprintable>","<unprintable>",')
    assert out["top-int"] == "<unprintable>"
    assert out["set"].startswith("[0,1,10,100,")  # the items read, sorted by their text
    assert out["tuple-key"] == f'{{"{MORE}":["{MORE}"]}}'


def test_a_container_that_fits_is_copied_whole_and_one_that_does_not_ends_with_a_marker() -> None:
    small = {"files": 3, "kinds": ["whole", "diff"], "ok": True}
    assert scrub_properties({"v": small}) == {"v": json.dumps(small, **COMPACT)}
    words = [f"w{i}" for i in range(2000)]
    out = scrub_value({"n": 1, "words": words})
    assert isinstance(out, str) and out.startswith('{"n":1,"words":["w0","w1",')
    long = scrub_value([" ".join(words)])  # the cut drops the word it splits
    assert isinstance(long, str) and long.startswith('["w0 w1 w2')


COMPACT: dict[str, object] = {"sort_keys": True, "separators": (",", ":")}


@settings(max_examples=100, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.integers() | st.text(max_size=50) | st.sampled_from([FINE_TUNE, "a" * 5000]),
        lambda children: st.builds(
            lambda item, n, kind: kind([item] * n),  # one object referenced n times
            children,
            st.integers(0, 3000),
            st.sampled_from([list, tuple]),
        ),
        max_leaves=6,
    )
)
def test_shared_references_never_multiply_the_work(value: object) -> None:
    out = scrub_properties({"reason": value, "model": value})
    assert set(out) == {"reason", "model"}
    for text in out.values():
        assert text is None or isinstance(text, (int, str))
        assert not isinstance(text, str) or len(text) <= MAX_STRING
        assert not isinstance(text, str) or "my-org" not in text
