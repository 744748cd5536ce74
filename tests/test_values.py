"""What a value says by its type, before any text is scrubbed (blackboxai.analytics.values)."""

from __future__ import annotations

from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blackboxai.analytics.scrub import scrub_properties, scrub_value

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
