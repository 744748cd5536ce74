"""Edit parsing (pure) and applying (real files): only chat files change, all or nothing."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blackboxai.session.edits import (
    FAILURE_REASONS,
    DiffEdit,
    EditFailure,
    WholeEdit,
    WholeRefusal,
    apply_blocks,
    apply_edits,
    clean_path,
    parse_diff,
    parse_whole,
    replace_once,
    write_atomic,
)


def join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# -- whole format: parsing ---------------------------------------------------------------


def test_parse_whole_reads_path_then_fenced_content() -> None:
    reply = "Here you go.\n\nsrc/app.py\n```python\nprint(1)\n```\n\nnotes.txt\n```\nhi\n```\n"
    assert parse_whole(reply) == (
        [WholeEdit("src/app.py", "print(1)\n"), WholeEdit("notes.txt", "hi\n")],
        [],
    )


def test_parse_whole_accepts_decorated_path_lines_and_a_blank_line() -> None:
    reply = "**app.py**\n\n```\nx = 1\n```\n`b.py`:\n```py\n```\n"
    assert parse_whole(reply) == ([WholeEdit("app.py", "x = 1\n"), WholeEdit("b.py", "")], [])


def test_parse_whole_skips_fences_introduced_by_prose() -> None:
    reply = "Run this command:\n```sh\nmake test\n```\nDone."
    assert parse_whole(reply) == ([], [])


def test_parse_whole_ends_a_block_at_a_fence_of_the_same_length() -> None:
    reply = "README.md\n````markdown\nRun:\n```sh\nmake\n```\n````\n"
    assert parse_whole(reply) == ([WholeEdit("README.md", "Run:\n```sh\nmake\n```\n")], [])


def test_parse_whole_refuses_an_unclosed_block_as_malformed() -> None:
    assert parse_whole("app.py\n```python\nprint(1)\n") == (
        [],
        [WholeRefusal("app.py", "malformed")],
    )


# -- whole format: a block ends at its real end, or the reply is refused ------------------

README = "# Tool\n\nInstall:\n```sh\npip install tool\n```\n\nDone.\n"


def test_a_readme_with_a_sh_block_inside_a_plain_fence_comes_back_whole() -> None:
    reply = f"README.md\n```\n{README}```\n"
    assert parse_whole(reply) == ([WholeEdit("README.md", README)], [])


def test_a_markdown_tagged_fence_around_nested_blocks_comes_back_whole() -> None:
    reply = f"Updated.\n\nREADME.md\n```markdown\n{README}```\n\nThat adds the install step.\n"
    assert parse_whole(reply) == ([WholeEdit("README.md", README)], [])


def test_a_longer_outer_fence_keeps_bare_inner_fences_as_content() -> None:
    content = "Output:\n```\nok\n```\n```\n"  # even an unbalanced bare ``` inside
    assert parse_whole(f"notes.md\n````\n{content}````\n") == (
        [WholeEdit("notes.md", content)],
        [],
    )


def test_a_file_whose_last_line_is_a_fence_keeps_it() -> None:
    content = "Example:\n```python\nprint(1)\n```\n"
    assert parse_whole(f"doc.md\n```md\n{content}```\n") == ([WholeEdit("doc.md", content)], [])


def test_an_indented_fence_pair_in_a_docstring_is_nested_not_the_end() -> None:
    content = 'def f():\n    """Example:\n\n    ```\n    f()\n    ```\n    """\n'
    assert parse_whole(f"f.py\n```python\n{content}```\n") == ([WholeEdit("f.py", content)], [])


def test_several_files_with_prose_and_a_tagged_snippet_between_and_after() -> None:
    reply = (
        "First the code.\n\na.py\n```python\nA = 1\n```\n\nThen run:\n```sh\nmake\n```\n"
        "\nb/c.md\n```\n# C\n```\nUsage:\n```sh\nc --help\n```\nDone.\n"
    )
    edits, refused = parse_whole(reply)
    assert (edits[0], edits[1], refused) == (
        WholeEdit("a.py", "A = 1\n"),
        WholeEdit("b/c.md", "# C\n"),
        [],
    )


def test_a_bare_fence_inside_a_plain_fenced_file_refuses_the_whole_reply() -> None:
    """```-fenced content with its own bare ``` block reads as the file ending early."""
    content = "# Tool\n\nRun:\n```\nmake all\n```\n"
    reply = f"a.py\n```\nA = 1\n```\n\nREADME.md\n```\n{content}```\n"
    assert parse_whole(reply) == (
        [],
        [WholeRefusal("a.py", "ambiguous_fence"), WholeRefusal("README.md", "ambiguous_fence")],
    )


def test_a_bare_snippet_after_a_file_is_indistinguishable_and_refused() -> None:
    reply = "a.py\n```\nA = 1\n```\n\nRun it with:\n```\npython a.py\n```\n"
    assert parse_whole(reply) == ([], [WholeRefusal("a.py", "ambiguous_fence")])


def test_a_bare_snippet_before_any_file_is_harmless() -> None:
    reply = "You saw:\n```\nTraceback\n```\n\nfix.py\n```python\nok = 1\n```\n"
    assert parse_whole(reply) == ([WholeEdit("fix.py", "ok = 1\n")], [])


def test_a_cut_off_second_file_refuses_the_first_too() -> None:
    reply = "a.py\n```\nA = 1\n```\n\nb.py\n```python\nB = "
    assert parse_whole(reply) == (
        [],
        [WholeRefusal("a.py", "ambiguous_fence"), WholeRefusal("b.py", "malformed")],
    )


def test_crlf_replies_and_unicode_line_separators_keep_the_content() -> None:
    content = "s = 'a\u2028b'\nform\x0cfeed = 1\n"
    reply = f"x.py\r\n```\r\n{content.replace(chr(10), chr(13) + chr(10))}```\r\n"
    assert parse_whole(reply) == ([WholeEdit("x.py", content)], [])


# Property: content fenced the way the system prompt asks (more backticks than any run in
# it) always comes back exactly, whatever its lines are and however many files there are.
_ANY_LINE = st.one_of(
    st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",))),
    st.sampled_from(["```", "```sh", "````", "````md", "   ```", "app.py", "<<<<<<< SEARCH"]),
)


def _fence_for(content: str) -> str:
    """More backticks than any run of them in content, as the system prompt asks."""
    longest = max((len(run) for run in re.findall("`+", content)), default=0)
    return "`" * max(3, longest + 1)


def _render(path: str, content: str, info: str = "") -> str:
    fence = _fence_for(content)
    return f"{path}\n{fence}{info}\n{content}{fence}\n"


@given(
    st.lists(st.lists(_ANY_LINE, max_size=8), min_size=1, max_size=3),
    st.sampled_from(["", "python", "markdown"]),
    st.sampled_from(
        ["", "\nDone, both files are updated.\n", "\nRun it with:\n```sh\nmake\n```\n"]
    ),
)
def test_content_fenced_as_the_prompt_asks_always_comes_back_exactly(
    files: list[list[str]], info: str, tail: str
) -> None:
    contents = [join(lines) for lines in files]
    paths = [f"src/f{n}.md" for n in range(len(contents))]
    blocks = [_render(path, content, info) for path, content in zip(paths, contents, strict=True)]
    reply = "Here you go.\n\n" + "\nAnd the next one:\n\n".join(blocks) + tail
    assert parse_whole(reply) == (
        [WholeEdit(p, c) for p, c in zip(paths, contents, strict=True)],
        [],
    )


# Property: a well-formed markdown file (every block in it closed) fenced with a plain ```,
# as a model that ignores the prompt writes it, comes back exactly or is refused, never cut.
# Its lines are prose, blank or fences: a bare file name right above a bare fence reads as
# a second file by any reading, and an unclosed ``` inside reads as the file's end.
_TEXT = st.sampled_from(["some text", "x = 1  # note", "  indented text", "", "``"])


@st.composite
def _markdown(draw: st.DrawFn) -> list[str]:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            lines += draw(st.lists(_TEXT, max_size=3))
            continue
        ticks = "`" * draw(st.sampled_from([3, 4]))
        indent = draw(st.sampled_from(["", "  "]))
        literal = ["```sh", "````md", *(["```"] if len(ticks) == 4 else [])]
        inner = draw(st.lists(st.one_of(_TEXT, st.sampled_from(literal)), max_size=4))
        lines += [indent + ticks + draw(st.sampled_from(["", "sh", "md"])), *inner, indent + ticks]
    return lines


@given(
    _markdown(),
    st.sampled_from(["```", "```markdown"]),
    st.sampled_from(
        ["", "\nDone.\n", "\nRun it with:\n```sh\nmake\n```\n", "\nUsage:\n```sh\nx\n```\n"]
    ),
)
def test_markdown_in_a_plain_fence_comes_back_exactly_or_is_refused(
    lines: list[str], opening: str, tail: str
) -> None:
    content = join(lines)
    edits, refused = parse_whole(f"README.md\n{opening}\n{content}```\n{tail}")
    readme = [edit for edit in edits if edit.path == "README.md"]
    if readme:
        assert (readme, refused) == ([WholeEdit("README.md", content)], [])
    else:
        assert "README.md" in [refusal.path for refusal in refused]


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
        [],
    )


def test_parse_diff_without_fences_and_with_empty_search() -> None:
    reply = "new.txt\n<<<<<<< SEARCH\n=======\nfirst line\n>>>>>>> REPLACE\n"
    assert parse_diff(reply) == ([DiffEdit("new.txt", "", "first line\n")], [])


def test_parse_diff_names_the_file_of_each_incomplete_or_pathless_block() -> None:
    missing_divider = "a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n"
    missing_end = "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n"
    no_path = "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n"
    assert parse_diff(missing_divider) == ([], ["a.py"])
    assert parse_diff(missing_end) == ([], ["a.py"])
    assert parse_diff(no_path) == ([], [""])


_LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20).filter(
    lambda s: not s.lstrip().startswith(("<<<<<", "=====", ">>>>>"))
)


@given(st.lists(_LINE, max_size=5), st.lists(_LINE, max_size=5))
def test_parse_diff_round_trips_any_block(search: list[str], replace: list[str]) -> None:
    text = "\n".join(["x/y.py", "```", "<<<<<<< SEARCH", *search, "=======", *replace])
    text += "\n>>>>>>> REPLACE\n```\n"
    joined = ["".join(line + "\n" for line in lines) for lines in (search, replace)]
    assert parse_diff(text) == ([DiffEdit("x/y.py", *joined)], [])


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


def test_a_readme_with_nested_fences_is_saved_whole(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("old\n")
    result = apply_edits(f"README.md\n```markdown\n{README}```\n", "whole", tmp_path, [readme])
    assert readme.read_text() == README
    assert (result.files_changed, result.failures) == (1, ())


def test_an_ambiguous_reply_writes_nothing_and_says_why_in_one_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("old\n")
    reply = "README.md\n```\n# Tool\n```\nmake\n```\nMore docs.\n```\n"
    result = apply_edits(reply, "whole", tmp_path, [readme])
    assert readme.read_text() == "old\n"
    assert (result.files_changed, result.blocks_failed, result.reason) == (0, 1, "ambiguous_fence")
    [failure] = result.failures
    assert failure.message.startswith("Edit to README.md refused: ")
    assert failure.message.endswith("nothing was written.") and "\n" not in failure.message


def test_a_malformed_block_keeps_its_files_other_blocks_from_landing(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    before = app.read_text()
    reply = (
        "app.py\n<<<<<<< SEARCH\ndef old():\n=======\ndef new():\n>>>>>>> REPLACE\n"
        "app.py\n<<<<<<< SEARCH\nold()\n>>>>>>> REPLACE\n"  # no divider
    )
    result = apply_edits(reply, "diff", root, [app])
    assert app.read_text() == before
    assert (result.files_changed, result.blocks_applied, result.blocks_failed) == (0, 0, 2)
    assert result.reason == "malformed"


def test_a_path_no_file_can_have_is_not_in_the_chat_rather_than_a_crash(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    (tmp_path / "loop").symlink_to("loop")
    for name in ("a\x00b.py", "loop/x.py", "x" * 5000 + ".py"):
        for fmt, reply in (
            ("whole", f"{name}\n```\nx\n```\n"),
            ("diff", f"{name}\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n"),
        ):
            result = apply_edits(reply, fmt, root, [app])
            assert (result.reason, result.files_changed) == ("not_in_chat", 0), (name, fmt)


def test_failure_reasons_are_fixed_snake_case_codes() -> None:
    assert len(set(FAILURE_REASONS)) == len(FAILURE_REASONS)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in FAILURE_REASONS)
    with pytest.raises(ValueError, match="unknown edit failure reason"):
        EditFailure("a.py", "Something went wrong", "message")


def test_every_failure_reason_comes_from_a_real_failed_edit(tmp_path: Path) -> None:
    root, app = _workspace(tmp_path)
    (tmp_path / "blocker").write_text("a file where a directory should be\n")
    stuck = tmp_path / "blocker" / "new.py"
    search = "app.py\n<<<<<<< SEARCH\nmissing\n=======\nx\n>>>>>>> REPLACE\n"
    cases = [
        ("diff", search, [app]),
        ("whole", "other.py\n```\nx\n```\n", [app]),
        ("whole", "app.py\n```\nx = 1\n", [app]),
        ("whole", "app.py\n```\n# x\n```\nmore\n```\n", [app]),
        ("whole", "blocker/new.py\n```\nx\n```\n", [stuck]),
    ]
    seen = [apply_edits(reply, fmt, root, chat).reason for fmt, reply, chat in cases]
    assert seen == list(FAILURE_REASONS)
    assert app.read_text() == "def old():\n    return 1\n\nold()\n"


# -- symlinked chat files ----------------------------------------------------------------


def test_an_edit_to_a_symlinked_chat_file_writes_through_and_keeps_the_link(
    tmp_path: Path,
) -> None:
    """The file the user chose gets the content; the link is not swapped for a regular file."""
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    target = elsewhere / "notes.md"
    target.write_text("old\n")
    link = project / "notes.md"
    link.symlink_to(target)
    result = apply_edits("notes.md\n```\nnew\n```\n", "whole", project, [link])
    assert link.is_symlink() and link.readlink() == target
    assert target.read_text() == "new\n"
    assert result.changed == (target,)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["notes.md"]  # no temp file left


def test_write_atomic_given_a_link_replaces_the_file_it_points_at(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old\r\n")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    write_atomic(link, "new\n")
    assert link.is_symlink() and target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
