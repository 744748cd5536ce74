"""The session end to end: real files, real httpx, a loopback endpoint, recorded events."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics.record.model_names import known_models
from blackboxai.session import Session, SessionConfig
from tests.fake_openai import FakeOpenAI, HTTPError, Raw, Reply
from tests.loopback import refused_url
from tests.support import REPO

API_KEY = "sk-test-SECRET-0123456789"
ORIGINAL = "def greet():\n    return 'hello'\n"


class Recorder:
    """Test double for the analytics dependency: remembers every event."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, name: str, **props: Any) -> None:
        self.events.append((name, props))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def props(self, name: str) -> dict[str, Any]:
        [found] = [props for event, props in self.events if event == name]
        return found


class Harness:
    """A session wired to a recorder, captured output and a fake endpoint."""

    def __init__(self, root: Path, api: FakeOpenAI, **config: Any) -> None:
        self.root, self.api, self.analytics = root, api, Recorder()
        self.out: list[str] = []
        self.err: list[str] = []
        self.status: Callable[[], str] | None = None
        settings: dict[str, Any] = {"api_base": api.url, "api_key": API_KEY, "root": root}
        settings.update(config)
        self.session = Session(
            SessionConfig(**settings),
            self.analytics,
            out=self.out.append,
            err=self.err.append,
            status=lambda: self.status() if self.status else "",
        )


@pytest.fixture
def api() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "greeter.py"
    path.write_text(ORIGINAL)
    return path


@pytest.fixture
def make(tmp_path: Path, api: FakeOpenAI) -> Callable[..., Harness]:
    return lambda **config: Harness(config.pop("root", tmp_path), api, **config)


WHOLE_REPLY = "Sure.\n\ngreeter.py\n```python\ndef greet():\n    return 'hi'\n```\n"
DIFF_REPLY = (
    "greeter.py\n```python\n<<<<<<< SEARCH\n    return 'hello'\n=======\n"
    "    return 'howdy'\n>>>>>>> REPLACE\n```\n"
)


# -- sending messages --------------------------------------------------------------------


def test_whole_edit_end_to_end(make: Callable[..., Harness], app: Path) -> None:
    h = make(files=(Path("greeter.py"),))
    h.api.replies.append(
        Reply(WHOLE_REPLY, {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49})
    )
    assert h.session.send("make it say hi") is True
    assert app.read_text() == "def greet():\n    return 'hi'\n"
    assert h.out == [WHOLE_REPLY, "Applied edit to greeter.py."]
    assert h.analytics.names() == ["message_send", "edit_applied"]
    sent = h.analytics.props("message_send")
    assert {k: v for k, v in sent.items() if k != "duration_s"} == {
        "main_model": "gpt-4o-mini",
        "edit_format": "whole",
        "prompt_tokens": 40,
        "completion_tokens": 9,
        "total_tokens": 49,
    }
    assert isinstance(sent["duration_s"], float)
    assert sent["duration_s"] == round(sent["duration_s"], 3)
    assert h.analytics.props("edit_applied") == {
        "edit_format": "whole",
        "files_changed": 1,
        "blocks": 1,
        "lines_added": 1,  # the greeting's line, rewritten
        "lines_removed": 1,
    }


def test_request_carries_format_prompt_file_content_and_message(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make(files=(app,), edit_format="diff", model="gpt-4o")
    h.api.replies.append("No changes needed.")
    h.session.send("explain greet")
    [request] = h.api.requests
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-4o"
    system, user = request.body["messages"]
    assert system["role"] == "system" and "<<<<<<< SEARCH" in system["content"]
    assert user["role"] == "user"
    assert "greeter.py\n```\n" + ORIGINAL + "```" in user["content"]
    assert str(app.parent) not in user["content"]  # paths are relative to root
    assert user["content"].endswith("explain greet")
    assert h.analytics.names() == ["message_send"]  # no edits, no edit events


def test_diff_edit_end_to_end(make: Callable[..., Harness], app: Path) -> None:
    h = make(files=(app,), edit_format="diff")
    h.api.replies.append(DIFF_REPLY)
    assert h.session.send("howdy please")
    assert app.read_text() == "def greet():\n    return 'howdy'\n"
    assert h.analytics.props("edit_applied") == {
        "edit_format": "diff",
        "files_changed": 1,
        "blocks": 1,
        "lines_added": 1,
        "lines_removed": 1,
    }


def test_non_matching_diff_changes_nothing_and_says_so(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make(files=(app,), edit_format="diff")
    h.api.replies.append(DIFF_REPLY.replace("'hello'", "'bonjour'", 1))
    assert h.session.send("howdy please")
    assert app.read_text() == ORIGINAL
    assert h.err == ["Edit to greeter.py failed: the SEARCH text was not found; nothing changed."]
    assert h.analytics.names() == ["message_send", "edit_failed"]
    assert h.analytics.props("edit_failed") == {
        "edit_format": "diff",
        "blocks_failed": 1,
        "reason": "no_match",
    }


def test_edit_to_a_file_not_in_the_chat_is_rejected(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make()
    h.api.replies.append(WHOLE_REPLY)
    assert h.session.send("make it say hi")
    assert app.read_text() == ORIGINAL
    assert "not in the chat" in h.err[0]
    assert h.analytics.props("edit_failed")["reason"] == "not_in_chat"
    assert "edit_applied" not in h.analytics.names()


@pytest.mark.parametrize(
    ("reply", "config", "error_class", "status"),
    [
        (HTTPError(500, "The server had an error"), {}, "HTTPStatusError", 500),
        (HTTPError(401, "Incorrect API key provided"), {}, "HTTPStatusError", 401),
        (Raw("<html>hi</html>", content_type="text/html"), {}, "BadResponse", 0),
        (Raw('{"object": "list", "data": []}'), {}, "BadResponse", 0),
        (None, {"api_base": "refused"}, "ConnectError", 0),
        (None, {"api_base": None}, "NoEndpoint", 0),
        (None, {"api_key": None}, "NoKey", 0),
    ],
)
def test_endpoint_failures_are_one_line_and_one_event(
    make: Callable[..., Harness],
    app: Path,
    reply: Any,
    config: dict[str, Any],
    error_class: str,
    status: int,
) -> None:
    if config.get("api_base") == "refused":
        config = {"api_base": refused_url() + "/v1"}
    h = make(files=(app,), **config)
    if reply is not None:
        h.api.replies.append(reply)
    assert h.session.send("hello") is False
    assert len(h.err) == 1 and h.err[0].startswith("Error: ")
    assert "\n" not in h.err[0] and "Traceback" not in h.err[0]
    assert h.out == []
    assert h.analytics.events == [("api_error", {"error_class": error_class, "status": status})]
    assert app.read_text() == ORIGINAL


def test_endpoint_error_message_is_shown(make: Callable[..., Harness]) -> None:
    h = make()
    h.api.replies.append(HTTPError(401, "Incorrect API key provided"))
    h.session.send("hello")
    assert h.err == ["Error: The model endpoint returned HTTP 401: Incorrect API key provided"]


def test_missing_usage_reports_zero_tokens(make: Callable[..., Harness]) -> None:
    h = make()
    h.api.replies.append(Reply("ok", usage=None))
    h.session.send("hello")
    sent = h.analytics.props("message_send")
    assert (sent["prompt_tokens"], sent["completion_tokens"], sent["total_tokens"]) == (0, 0, 0)


# -- slash commands ----------------------------------------------------------------------


def test_add_ls_drop(make: Callable[..., Harness], app: Path, tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text("b\n")
    h = make()
    assert h.session.run_command("/add greeter.py b.py new.py")
    assert h.out == [
        "Added greeter.py to the chat.",
        "Added b.py to the chat.",
        "Added new.py to the chat (new file).",
    ]
    h.out.clear()
    h.session.run_command("/ls")
    assert h.out == ["Files in the chat:", "  greeter.py", "  b.py", "  new.py"]
    h.out.clear()
    h.session.run_command("/drop b.py")
    h.session.run_command("/ls")
    assert h.out == [
        "Dropped b.py from the chat.",
        "Files in the chat:",
        "  greeter.py",
        "  new.py",
    ]
    h.out.clear()
    h.session.run_command("/drop")
    h.session.run_command("/ls")
    assert h.out == ["Dropped all files from the chat.", "No files in the chat."]
    assert h.analytics.events == [
        ("command_add", {}),
        ("command_ls", {}),
        ("command_drop", {}),
        ("command_ls", {}),
        ("command_drop", {}),
        ("command_ls", {}),
    ]
    assert h.err == []


def test_add_rejects_directories_paths_outside_root_and_duplicates(
    make: Callable[..., Harness], app: Path, tmp_path: Path
) -> None:
    (tmp_path / "pkg").mkdir()
    h = make(files=(app,))
    h.session.run_command("/add pkg ../outside.py greeter.py")
    assert h.err == [
        "pkg is a directory; add files one by one.",
        "../outside.py is outside the working directory; use an absolute path.",
    ]
    assert h.out == ["greeter.py is already in the chat."]
    h.session.run_command("/drop nothere.py")
    assert h.err[-1] == "nothere.py is not in the chat."


def test_added_file_content_is_sent(make: Callable[..., Harness], app: Path) -> None:
    h = make()
    h.session.run_command("/add greeter.py")
    h.api.replies.append("ok")
    h.session.send("look")
    assert ORIGINAL in h.api.requests[0].body["messages"][1]["content"]


def test_model_shows_and_switches(make: Callable[..., Harness]) -> None:
    h = make()
    h.session.run_command("/model")
    assert h.out == ["Model: gpt-4o-mini"]
    h.session.run_command("/model gpt-4o")
    assert h.out[-1] == "Model set to gpt-4o."
    h.api.replies.append("ok")
    h.session.send("hi")
    assert h.api.requests[0].body["model"] == "gpt-4o"
    assert h.analytics.events[:2] == [
        ("command_model", {"main_model": "gpt-4o-mini"}),
        ("command_model", {"main_model": "gpt-4o"}),
    ]


def test_tokens_accumulate_over_the_session(make: Callable[..., Harness]) -> None:
    h = make()
    h.api.replies += [
        Reply("a", {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}),
        HTTPError(500),
        Reply("b", {"prompt_tokens": 20, "completion_tokens": 3, "total_tokens": 23}),
    ]
    for message in ("one", "two", "three"):
        h.session.send(message)
    h.out.clear()
    h.session.run_command("/tokens")
    assert h.out == ["Tokens used this session: prompt 30, completion 5, total 35."]
    assert h.analytics.events[-1] == ("command_tokens", {})


def test_help_exit_analytics_and_unknown(make: Callable[..., Harness]) -> None:
    h = make()
    assert h.session.run_command("/help") is True
    assert all(cmd in h.out[0] for cmd in ("/add", "/drop", "/ls", "/model", "/tokens", "/exit"))
    h.out.clear()
    h.status = lambda: "Analytics: off (no consent given)."
    h.session.run_command("/analytics")
    assert h.out == ["Analytics: off (no consent given)."]
    assert h.session.run_command("/frobnicate now") is True
    assert h.err == ["Unknown command /frobnicate. Type /help."]
    assert h.session.run_command("/exit") is False
    assert h.analytics.names() == [
        "command_help", "command_analytics", "command_unknown", "command_exit"
    ]  # fmt: skip


def test_analytics_without_status_says_unavailable(tmp_path: Path) -> None:
    out: list[str] = []
    recorder = Recorder()
    Session(SessionConfig(root=tmp_path), recorder, out=out.append).run_command("/analytics")
    assert out == ["Analytics status is unavailable."]
    assert recorder.names() == ["command_analytics"]


# -- paths the user types: a bad one is one line, never the end of the session ----------

BAD_PATHS = {
    "unknown-user": (
        "~nosuchuser/x",
        "there is no user nosuchuser, so ~nosuchuser cannot be expanded",
    ),
    "nul-byte": ("a\x00b", "a path cannot contain a NUL byte"),
    "over-long-name": ("x" * 300, "file name too long"),
    "symlink-loop": ("loop/x.py", "too many levels of symbolic links"),
    "unencodable-name": ("\ud800.py", "the name cannot be encoded for this system"),
}


@pytest.fixture
def loop(tmp_path: Path) -> Path:
    (tmp_path / "loop").symlink_to("loop")
    return tmp_path / "loop"


@pytest.mark.parametrize("case", sorted(BAD_PATHS))
def test_a_bad_path_in_add_gets_one_line_and_the_prompt_returns(
    make: Callable[..., Harness], loop: Path, case: str
) -> None:
    raw, reason = BAD_PATHS[case]
    h = make()
    assert h.session.run_command(f"/add {raw}") is True
    [line] = h.err
    assert line.startswith("Cannot use ") and line.endswith(f": {reason}.")
    assert "\x00" not in line and len(line) < 200
    assert (h.out, h.session.files, h.analytics.names()) == ([], [], ["command_add"])


@pytest.mark.parametrize("case", sorted(BAD_PATHS))
def test_a_bad_path_in_drop_gets_one_line_and_the_prompt_returns(
    make: Callable[..., Harness], loop: Path, app: Path, case: str
) -> None:
    raw, reason = BAD_PATHS[case]
    h = make(files=(app,))
    assert h.session.run_command(f"/drop {raw}") is True
    [line] = h.err  # the reason, or "is not in the chat" when nothing had to be looked up
    assert line.endswith((f": {reason}.", " is not in the chat.")) and len(line) < 200
    h.session.run_command("/ls")
    assert h.out == ["Files in the chat:", "  greeter.py"]


def test_a_nul_byte_in_add_gets_one_line_and_the_prompt_returns(
    make: Callable[..., Harness],
) -> None:
    h = make()
    h.session.run_command("/add a\x00b")
    assert h.err == ["Cannot use a\\x00b: a path cannot contain a NUL byte."]


def test_good_paths_beside_a_bad_one_are_still_added(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make()
    h.session.run_command("/add greeter.py ~nosuchuser/x new.py")
    assert h.out == ["Added greeter.py to the chat.", "Added new.py to the chat (new file)."]
    assert h.err == ["Cannot use ~nosuchuser/x: there is no user nosuchuser, so ~nosuchuser "
                     "cannot be expanded."]  # fmt: skip


def test_a_bad_path_on_the_command_line_is_one_line_and_the_session_starts(
    make: Callable[..., Harness], app: Path, tmp_path: Path
) -> None:
    h = make(files=(tmp_path / "a\x00b", app, Path("~nosuchuser/x")))
    assert len(h.err) == 2 and all(line.startswith("Cannot use ") for line in h.err)
    h.session.run_command("/ls")
    assert h.out == ["Files in the chat:", "  greeter.py"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_path_behind_a_locked_directory_gets_one_line(
    make: Callable[..., Harness], tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        h = make()
        assert h.session.run_command("/add locked/x.py") is True
        assert h.err == ["Cannot use locked/x.py: permission denied."]
    finally:
        locked.chmod(0o700)


def test_the_loop_survives_every_bad_path_and_keeps_reading(
    make: Callable[..., Harness], loop: Path
) -> None:
    h = make()
    commands = [f"/add {raw}" for raw, _ in BAD_PATHS.values()] + ["/drop ~typo/x", "/ls"]
    read, prompts = _script(commands)
    assert h.session.run_loop(read) == "eof"
    assert len(prompts) == len(commands) + 1
    assert len(h.err) == len(commands) - 1
    assert h.out == ["No files in the chat."]


# -- symlinks: added by choice, shown as given, /ls says where they lead ------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with notes.md -> a file outside it, and docs/ -> a directory outside."""
    root, outside = tmp_path / "project", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("outside\n")
    (outside / "guide.md").write_text("guide\n")
    (root / "real.md").write_text("real\n")
    (root / "notes.md").symlink_to(outside / "secret.txt")
    (root / "docs").symlink_to(outside)
    (root / "inner.md").symlink_to("real.md")
    return root


def test_ls_names_symlinks_that_leave_the_project(
    make: Callable[..., Harness], project: Path
) -> None:
    """Named in full they are the user's choice; /ls still says where they (and any link) lead."""
    h = make(root=project)
    h.session.run_command(f"/add {project}/notes.md {project}/docs/guide.md inner.md")
    assert h.out == [
        "Added notes.md to the chat.",
        "Added docs/guide.md to the chat.",
        "Added inner.md to the chat.",
    ]
    h.out.clear()
    h.session.run_command("/ls")
    outside = project.parent / "outside"
    assert h.out == [
        "Files in the chat:",
        f"  notes.md -> {outside / 'secret.txt'} (outside the project)",
        f"  docs/guide.md -> {outside / 'guide.md'} (outside the project)",
        "  inner.md -> real.md",
    ]
    h.session.run_command("/drop notes.md docs/guide.md")
    assert h.err == [] and len(h.session.files) == 1


def test_a_relative_name_that_leads_out_through_a_symlink_is_refused_naming_the_target(
    make: Callable[..., Harness], project: Path
) -> None:
    outside = project.parent / "outside"
    h = make(root=project, files=(Path("notes.md"),))
    h.session.run_command("/add docs/guide.md inner.md")
    assert h.err == [
        f"notes.md is a symbolic link to {outside / 'secret.txt'}, outside the project; not "
        f"added (name {outside / 'secret.txt'} itself if you mean it).",
        f"docs/guide.md is in docs, a symbolic link to {outside}, outside the project; not "
        f"added (name {outside / 'guide.md'} itself if you mean it).",
    ]
    assert h.out == ["Added inner.md to the chat."]
    h.session.run_command(f"/add {outside / 'guide.md'}")  # the target itself: the user's choice
    assert [f.path for f in h.session.files] == [project / "real.md", outside / "guide.md"]


def test_an_absolute_file_outside_the_project_is_listed_as_given(
    make: Callable[..., Harness], project: Path
) -> None:
    h = make(root=project)
    target = project.parent / "outside" / "secret.txt"
    h.session.run_command(f"/add {target}")
    h.out.clear()
    h.session.run_command("/ls")
    assert h.out == ["Files in the chat:", f"  {target}"]


def test_a_reply_to_a_symlinked_chat_file_writes_the_file_the_user_chose(
    make: Callable[..., Harness], project: Path
) -> None:
    h = make(root=project, files=(project / "notes.md",))
    h.api.replies.append("notes.md\n```\nnew\n```\n")
    assert h.session.run_message("update the notes") is True
    user = h.api.requests[0].body["messages"][1]["content"]
    assert "notes.md\n```\noutside\n```" in user and "secret.txt" not in user
    assert (project / "notes.md").is_symlink()
    assert (project.parent / "outside" / "secret.txt").read_text() == "new\n"
    assert h.out[-1] == "Applied edit to notes.md."


# -- model check -------------------------------------------------------------------------


def test_check_model_warns_only_for_unknown_models(make: Callable[..., Harness]) -> None:
    known = sorted(known_models())[0]
    for name in (known, known.upper(), f"openrouter/{known}"):
        h = make(model=name)
        h.session.check_model()
        assert (h.err, h.analytics.events) == ([], [])
    h = make(model="my-private-finetune")
    h.session.check_model()
    assert h.err == [
        "Warning: unknown model my-private-finetune; token counts and edit quality may vary."
    ]
    assert h.analytics.events == [("model warning", {"main_model": "my-private-finetune"})]


def test_check_model_agrees_with_the_analytics_redaction(make: Callable[..., Harness]) -> None:
    """Warned about exactly when analytics would redact it; dated, prefixed names are known."""
    for name in ("GPT-4o", "anthropic/claude-3-5-sonnet", "claude-3-5-sonnet-20241022"):
        h = make(model=name)
        h.session.check_model()
        assert (h.err, h.analytics.events) == ([], []), name
    h = make(model="gpt-4o-private")
    h.session.check_model()
    assert h.analytics.names() == ["model warning"]


# -- loop and one-shot -------------------------------------------------------------------


def _script(lines: list[str]) -> tuple[Callable[[str], str], list[str]]:
    prompts: list[str] = []
    queue = list(lines)

    def read(prompt: str) -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        return queue.pop(0)

    return read, prompts


def test_run_loop_until_eof(make: Callable[..., Harness], app: Path) -> None:
    h = make(files=(app,))
    h.api.replies.append(WHOLE_REPLY)
    read, prompts = _script(["", "   ", "/ls", "make it say hi", "/tokens"])
    assert h.session.run_loop(read) == "eof"
    assert prompts == ["> "] * 6
    assert app.read_text() == "def greet():\n    return 'hi'\n"
    assert h.analytics.names() == [
        "cli session",
        "command_ls",
        "message_send",
        "edit_applied",
        "command_tokens",
    ]
    assert h.analytics.props("cli session") == {
        "main_model": "gpt-4o-mini",
        "edit_format": "whole",
        "files_in_chat": 1,
    }


def test_run_loop_stops_at_exit(make: Callable[..., Harness]) -> None:
    h = make()
    read, prompts = _script(["/exit", "never read"])
    assert h.session.run_loop(read) == "exit_command"
    assert len(prompts) == 1
    assert h.analytics.names() == ["cli session", "command_exit"]


def test_run_loop_lets_keyboard_interrupt_through(make: Callable[..., Harness]) -> None:
    def read(prompt: str) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make().session.run_loop(read)


def test_run_loop_reads_through_input_as_patched_at_call_time(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default reader is resolved when the loop runs, not when the module was imported."""
    import builtins

    read, prompts = _script(["/ls"])
    monkeypatch.setattr(builtins, "input", read)
    h = make()
    assert h.session.run_loop() == "eof"
    assert prompts == ["> ", "> "]
    assert h.analytics.names() == ["cli session", "command_ls"]


def test_run_loop_treats_a_missing_stdin_as_eof(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`blackboxai <&-` starts Python with sys.stdin None; input() would raise RuntimeError."""
    import sys

    monkeypatch.setattr(sys, "stdin", None)
    h = make()
    assert h.session.run_loop() == "eof"
    assert h.analytics.names() == ["cli session"]


def test_edits_land_before_the_reply_is_printed(make: Callable[..., Harness], app: Path) -> None:
    """A closed stdout (`... | true`) fails the first print; the edit must already be written."""
    h = make(files=(app,))
    h.api.replies.append(WHOLE_REPLY)

    def broken_out(text: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    h.session.out = broken_out
    with pytest.raises(BrokenPipeError):
        h.session.send("make it say hi")
    assert app.read_text() == "def greet():\n    return 'hi'\n"
    assert h.analytics.names() == ["message_send", "edit_applied"]


def test_a_message_that_is_not_valid_utf8_is_still_sent(make: Callable[..., Harness]) -> None:
    """A non-UTF-8 argument arrives as a lone surrogate; it is sent as U+FFFD, not refused."""
    h = make(model="gpt-4o\udcff")
    h.api.replies.append("ok")
    assert h.session.send("hi \udcff") is True
    [request] = h.api.requests
    assert request.body["messages"][-1]["content"] == "hi \ufffd"
    assert request.body["model"] == "gpt-4o\ufffd"
    assert (h.out, h.err, h.analytics.names()) == (["ok"], [], ["message_send"])


FAILED_EDITS = {
    "no_match": ("diff", DIFF_REPLY.replace("'hello'", "'bonjour'", 1)),
    "not_in_chat": ("whole", "other.py\n```\nx = 1\n```\n"),
    "malformed": ("whole", "greeter.py\n```python\ndef greet():\n"),
    "ambiguous_fence": ("whole", "greeter.py\n```\n# x\n```\nmake\n```\nmore\n```\n"),
}


@pytest.mark.parametrize("reason", sorted(FAILED_EDITS))
def test_run_message_is_false_when_an_edit_of_the_reply_failed(
    make: Callable[..., Harness], app: Path, reason: str
) -> None:
    edit_format, reply = FAILED_EDITS[reason]
    h = make(files=(app,), edit_format=edit_format)
    h.api.replies.append(reply)
    assert h.session.run_message("change it") is False
    assert app.read_text() == ORIGINAL
    assert h.analytics.props("edit_failed")["reason"] == reason
    assert len(h.err) == 1


def test_run_message_is_false_when_the_file_cannot_be_written(
    make: Callable[..., Harness], tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file where a directory should be\n")
    h = make(files=(Path("blocker/new.py"),))
    h.api.replies.append("blocker/new.py\n```\nx = 1\n```\n")
    assert h.session.run_message("create it") is False
    assert h.analytics.props("edit_failed")["reason"] == "write_error"
    assert h.err[-1].startswith("Could not write blocker/new.py: ")


def test_run_message_is_true_when_every_edit_landed_or_there_were_none(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make(files=(app,))
    h.api.replies += [WHOLE_REPLY, "No change needed."]
    assert h.session.run_message("say hi") is True
    assert h.session.run_message("anything else?") is True


def test_a_failed_edit_in_the_loop_is_reported_and_the_loop_goes_on(
    make: Callable[..., Harness], app: Path
) -> None:
    h = make(files=(app,), edit_format="diff")
    h.api.replies += [FAILED_EDITS["no_match"][1], DIFF_REPLY]
    read, _ = _script(["try this", "and this"])
    assert h.session.run_loop(read) == "eof"
    assert app.read_text() == "def greet():\n    return 'howdy'\n"
    assert h.err == ["Edit to greeter.py failed: the SEARCH text was not found; nothing changed."]


def test_run_message_reports_success_and_failure(make: Callable[..., Harness]) -> None:
    h = make()
    h.api.replies += ["fine", HTTPError(500)]
    assert h.session.run_message("first") is True
    assert h.session.run_message("second") is False
    assert h.analytics.names() == ["cli session", "message_send", "cli session", "api_error"]


# -- privacy -----------------------------------------------------------------------------


def test_events_never_carry_prompts_replies_paths_keys_or_urls(
    make: Callable[..., Harness], app: Path, tmp_path: Path
) -> None:
    h = make(files=(app,), edit_format="diff")
    secret_prompt = "please rename the zanzibar function"
    h.api.replies += [
        DIFF_REPLY,
        DIFF_REPLY.replace("'hello'", "'quixotic'", 1),
        "otherfile.py\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n",
        HTTPError(401, "Incorrect API key provided: sk-test-SECRET"),
    ]
    read, _ = _script(
        [
            "/add greeter.py notes.md",
            "/ls",
            secret_prompt,
            secret_prompt,
            secret_prompt,
            secret_prompt,
            "/drop notes.md",
            "/model",
            "/tokens",
            "/help",
            "/analytics",
            "/bogus greeter.py",
            "/model my-private-model",
            "/exit",
        ]
    )
    h.session.run_loop(read)
    h.session.run_message(secret_prompt)
    dumped = json.dumps(h.analytics.events)
    assert set(h.analytics.names()) == {
        "cli session", "message_send", "edit_applied", "edit_failed", "api_error", "model warning",
        "command_add", "command_ls", "command_drop", "command_model", "command_tokens",
        "command_help", "command_analytics", "command_unknown", "command_exit",
    }  # fmt: skip
    forbidden = [
        secret_prompt,
        "zanzibar",
        "howdy",
        "quixotic",
        "greet",
        "greeter",
        "notes.md",
        "otherfile",
        ".py",
        str(tmp_path),
        tmp_path.name,
        API_KEY,
        "sk-test",
        h.api.url,
        "127.0.0.1",
        "http",
    ]
    for text in forbidden:
        assert text not in dumped, text


def test_event_names_are_string_literals_in_the_session_source() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "src/blackboxai/session").glob("*.py"))
    calls = re.findall(r'\.event\(\s*("[^"]*"|[^,)\s]+)', source)
    assert calls, "expected analytics calls"
    assert all(re.fullmatch(r'"[a-z_ ]+"', arg) for arg in calls), calls
