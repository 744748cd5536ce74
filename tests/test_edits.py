"""Edit parsing (pure) and applying (real files): only chat files change, all or nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from blackboxai.session.edits import (
    DiffEdit,
    WholeEdit,
    apply_blocks,
    apply_edits,
    clean_path,
    parse_diff,
    parse_whole,
    replace_once,
)

# -- whole format: parsing ---------------------------------------------------------------


def test_parse_whole_reads_path_then_fenced_content() -> None:
    reply = "Here you go.\n\nsrc/app.py\n```python\nprint(1)\n```\n\nnotes.txt\n```\nhi\n```\n"
    assert parse_whole(reply) == (
        [WholeEdit("src/app.py", "print(1)\n"), WholeEdit("notes.txt", "hi\n")],
        0,
    )


def test_parse_whole_accepts_decorated_path_lines_and_a_blank_line() -> None:
    reply = "**app.py**\n\n```\nx = 1\n```\n`b.py`:\n```py\n```\n"
    assert parse_whole(reply) == ([WholeEdit("app.py", "x = 1\n"), WholeEdit("b.py", "")], 0)


def test_parse_whole_skips_fences_introduced_by_prose() -> None:
    reply = "Run this command:\n```sh\nmake test\n```\nDone."
    assert parse_whole(reply) == ([], 0)


def test_parse_whole_ends_a_block_at_a_fence_of_the_same_length() -> None:
    reply = "README.md\n````markdown\nRun:\n```sh\nmake\n```\n````\n"
    assert parse_whole(reply) == ([WholeEdit("README.md", "Run:\n```sh\nmake\n```\n")], 0)


def test_parse_whole_counts_an_unclosed_block_as_malformed() -> None:
    assert parse_whole("app.py\n```python\nprint(1)\n") == ([], 1)


def test_clean_path_rejects_prose_and_markers() -> None:
    assert clean_path("  ### src/app.py:  ") == "src/app.py"
    assert clean_path("Here is the file:") is None
    assert clean_path("```python") is None
    assert clean_path(">>>>>>> REPLACE") is None
    assert clean_path("   ") is None


# -- diff format: parsing ----------------------------------------------------------------

DIFF_REPLY = """I'll rename it.

app.py
```python
<<<<<<< SEARCH
def old():
=======
def new():
>>>>>>> REPLACE
```

And the call site:

```python
<<<<<<< SEARCH
old()
=======
new()
>>>>>>> REPLACE
```
"""


def test_parse_diff_reads_blocks_and_reuses_the_last_path() -> None:
    assert parse_diff(DIFF_REPLY) == (
        [
            DiffEdit("app.py", "def old():\n", "def new():\n"),
            DiffEdit("app.py", "old()\n", "new()\n"),
        ],
        0,
    )


def test_parse_diff_without_fences_and_with_empty_search() -> None:
    reply = "new.txt\n<<<<<<< SEARCH\n=======\nfirst line\n>>>>>>> REPLACE\n"
    assert parse_diff(reply) == ([DiffEdit("new.txt", "", "first line\n")], 0)


def test_parse_diff_counts_incomplete_or_pathless_blocks_as_malformed() -> None:
    missing_divider = "a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n"
    missing_end = "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n"
    no_path = "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"
    assert parse_diff(missing_divider) == ([], 1)
    assert parse_diff(missing_end) == ([], 1)
    assert parse_diff(no_path) == ([], 1)


_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20).filter(
    lambda s: not s.lstrip().startswith(("<<<<<", "=====", ">>>>>"))
)


@given(st.lists(_LINE, max_size=5), st.lists(_LINE, max_size=5))
def test_parse_diff_round_trips_any_block(search: list[str], replace: list[str]) -> None:
    text = "\n".join(["x/y.py", "```", "<<<<<<< SEARCH", *search, "=======", *replace])
    text += "\n>>>>>>> REPLACE\n```\n"
    joined = ["".join(line + "\n" for line in lines) for lines in (search, replace)]
    assert parse_diff(text) == ([DiffEdit("x/y.py", *joined)], 0)


# -- matching ----------------------------------------------------------------------------


def test_replace_once_exact_then_trailing_whitespace_insensitive() -> None:
    assert replace_once("a\nb\na\n", "a\n", "c\n") == "c\nb\na\n"
    assert replace_once("def f():   \n    pass\t\n", "def f():\n    pass\n", "g\n") == "g\n"
    assert replace_once("last", "last\n", "new\n") == "new\n"
    assert replace_once("a\n", "zzz\n", "y\n") is None
    assert replace_once("a", "", "b\n") == "a\nb\n"


def test_apply_blocks_is_all_or_nothing() -> None:
    good, bad = DiffEdit("f", "a\n", "b\n"), DiffEdit("f", "nope\n", "x\n")
    assert apply_blocks("a\nb\n", [good, DiffEdit("f", "b\nb\n", "c\n")]) == "c\n"
    assert apply_blocks("a\n", [good, bad]) is None
    assert apply_blocks(None, [DiffEdit("f", "", "new\n")]) == "new\n"
    assert apply_blocks(None, [good]) is None


@given(st.text(max_size=40), st.data())
def test_exact_substring_replacement_matches_str_replace(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    search = text[start:end]
    if search.strip():
        assert replace_once(text, search, "R") == text.replace(search, "R", 1)


# -- applying to real files --------------------------------------------------------------


def _workspace(tmp_path: Path) -> tuple[Path, Path]:
    app = tmp_path / "app.py"
    app.write_text("def old():\n    return 1\n\nold()\n")
    return tmp_path, app


def test_whole_edit_rewrites_a_chat_file(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    result = apply_edits("app.py\n```python\nprint('new')\n```\n", "whole", root, [app])
    assert app.read_text() == "print('new')\n"
    assert (result.files_changed, result.blocks_applied, result.blocks_failed) == (1, 1, 0)


def test_diff_edit_applies_blocks_in_order(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    result = apply_edits(DIFF_REPLY, "diff", root, [app])
    assert app.read_text() == "def new():\n    return 1\n\nnew()\n"
    assert (result.files_changed, result.blocks_applied, result.blocks_failed) == (1, 2, 0)


def test_one_failed_block_leaves_the_file_unchanged(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    before = app.read_text()
    reply = DIFF_REPLY.replace("old()\n=======", "missing()\n=======")
    result = apply_edits(reply, "diff", root, [app])
    assert app.read_text() == before
    assert (result.files_changed, result.blocks_applied, result.blocks_failed) == (0, 0, 2)
    assert result.reason == "no_match"
    assert result.failures[0].message == (
        "Edit to app.py failed: the SEARCH text was not found; nothing changed."
    )


def test_edits_to_files_outside_the_chat_are_rejected(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    other = root / "other.py"
    other.write_text("keep\n")
    outside = "../escape.py\n```\nx\n```\nother.py\n```\nchanged\n```\n"
    result = apply_edits(outside, "whole", root, [app])
    assert other.read_text() == "keep\n"
    assert not (root.parent / "escape.py").exists()
    assert result.reason == "not_in_chat"
    assert (result.files_changed, result.blocks_failed) == (0, 2)
    assert "not in the chat" in result.failures[0].message


def test_snippets_under_a_bare_word_are_not_edits(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    result = apply_edits("Usage:\n```sh\npython app.py\n```\n", "whole", root, [app])
    assert (result.files_changed, result.blocks_applied, result.failures) == (0, 0, ())


def test_empty_search_creates_a_new_chat_file(tmp_path: Path) -> None:
    new = tmp_path / "pkg" / "new.py"
    reply = "pkg/new.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"
    result = apply_edits(reply, "diff", tmp_path, [new.resolve()])
    assert new.read_text() == "x = 1\n"
    assert result.files_changed == 1
    assert not [p for p in new.parent.iterdir() if p.name.endswith(".tmp")]


def test_rewrite_keeps_crlf_line_endings_and_file_mode(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_bytes(b"echo old\r\necho keep\r\n")
    script.chmod(0o755)
    reply = "run.sh\n<<<<<<< SEARCH\necho old\n=======\necho new\n>>>>>>> REPLACE\n"
    apply_edits(reply, "diff", tmp_path, [script.resolve()])
    assert script.read_bytes() == b"echo new\r\necho keep\r\n"
    assert stat.S_IMODE(os.stat(script).st_mode) == 0o755


def test_malformed_blocks_are_reported_and_change_nothing(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    before = app.read_text()
    result = apply_edits("app.py\n<<<<<<< SEARCH\nold()\n", "diff", root, [app])
    assert app.read_text() == before
    assert (result.reason, result.blocks_failed, result.files_changed) == ("malformed", 1, 0)


def test_unchanged_content_is_applied_but_not_counted_as_a_change(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    result = apply_edits(f"app.py\n```\n{app.read_text()}```\n", "whole", root, [app])
    assert (result.files_changed, result.blocks_applied, result.blocks_failed) == (0, 1, 0)
