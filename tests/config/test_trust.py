"""Path trust and the project-file rules: a checkout's config can only make things more private,
and never names a file outside the checkout, whatever its strings or symlinks say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blackboxai.config.options import CONFIG_NAME, OPTIONS, Trust
from blackboxai.config.settings import ConfigError, Settings, load_settings
from blackboxai.config.trust import checkout_root, confine, expand_home
from tests.support import make_repo


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A home with a private key, and a cloned repository beside it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN PRIVATE KEY-----\n")
    repo = make_repo(tmp_path / "clone")
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print('hi')\n")
    return {"home": home, "repo": repo, "tmp": tmp_path}


def load(world: dict[str, Path], cwd: Path | None = None, **kw: object) -> Settings:
    return load_settings({}, env={}, home=world["home"], cwd=cwd or world["repo"], **kw)  # type: ignore[arg-type]


def project(world: dict[str, Path], text: str, where: Path | None = None) -> Path:
    path = (where or world["repo"]) / CONFIG_NAME
    path.write_text(text)
    return path


def blackboxai(
    world: dict[str, Path],
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real CLI in `cwd` (the repository by default), with the world's HOME (or `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "blackboxai", *args],
        cwd=cwd or world["repo"],
        capture_output=True,
        text=True,
        env=env or {**os.environ, "HOME": str(world["home"])},
        input=input,
        timeout=60,
    )


# -- confine --------------------------------------------------------------------------------------


def test_confine_follows_a_symlinked_file_out_of_the_root(world: dict[str, Path]) -> None:
    link = world["repo"] / "notes.md"
    link.symlink_to("../home/.ssh/id_rsa")
    assert confine(link, world["repo"]) is None


def test_confine_follows_a_symlinked_directory_out_of_the_root(world: dict[str, Path]) -> None:
    (world["repo"] / "docs").symlink_to(world["home"] / ".ssh")
    assert confine(world["repo"] / "docs" / "id_rsa", world["repo"]) is None


def test_confine_keeps_a_path_inside_and_returns_where_it_really_is(
    world: dict[str, Path],
) -> None:
    (world["repo"] / "alias.py").symlink_to("src/app.py")
    real = (world["repo"] / "src" / "app.py").resolve()
    assert confine(world["repo"] / "alias.py", world["repo"]) == real
    assert confine(world["repo"] / "src" / ".." / "src" / "app.py", world["repo"]) == real
    assert confine(world["repo"] / "not-yet.py", world["repo"]) == real.parent.parent / "not-yet.py"


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/passwd", "src/../../x"])
def test_confine_refuses_dot_dot_and_absolute_paths_outside(
    world: dict[str, Path], entry: str
) -> None:
    assert confine(world["repo"] / entry, world["repo"]) is None


def test_a_symlink_loop_is_outside(world: dict[str, Path]) -> None:
    (world["repo"] / "a").symlink_to("b")
    (world["repo"] / "b").symlink_to("a")
    assert confine(world["repo"] / "a", world["repo"]) is None


def test_a_root_reached_through_a_symlink_still_holds_its_files(world: dict[str, Path]) -> None:
    via = world["tmp"] / "via"
    via.symlink_to(world["repo"])
    assert confine(via / "src" / "app.py", via) == (world["repo"] / "src" / "app.py").resolve()


# -- the checkout and ~ ---------------------------------------------------------------------------


def test_the_checkout_is_the_git_work_tree_or_the_files_own_directory(
    world: dict[str, Path],
) -> None:
    sub = world["repo"] / "pkg" / "sub"
    sub.mkdir(parents=True)
    plain = world["tmp"] / "plain" / "dir"
    plain.mkdir(parents=True)
    assert checkout_root(sub, world["home"]) == world["repo"]
    assert checkout_root(plain, world["home"]) == plain


def test_a_home_kept_in_git_is_not_a_checkout(world: dict[str, Path]) -> None:
    """Dotfiles in git: a tarball unpacked under ~ must not reach ~/.ssh through `..`."""
    make_repo(world["home"])
    unpacked = world["home"] / "Downloads" / "tool"
    unpacked.mkdir(parents=True)
    assert checkout_root(unpacked, world["home"]) == unpacked


@pytest.mark.parametrize(
    ("value", "expected"),
    [("~", "H"), ("~/log.jsonl", "H/log.jsonl"), ("a/~/b", "a/~/b"), ("~bob/x", "~bob/x")],
)
def test_tilde_means_the_home_directory(value: str, expected: str) -> None:
    assert expand_home(value, Path("H")) == expected


# -- the project-file rules in load_settings ------------------------------------------------------


def test_symlinks_out_of_the_checkout_are_dropped_with_a_warning_naming_file_and_line(
    world: dict[str, Path],
) -> None:
    repo = world["repo"]
    (repo / "notes.md").symlink_to("../home/.ssh/id_rsa")
    (repo / "docs").symlink_to(world["home"] / ".ssh")
    path = project(
        world,
        "model: m\nfile:\n  - src/app.py\n  - notes.md\n  - docs/id_rsa\n  - ~/.ssh/id_rsa\n",
    )
    s = load(world)
    assert s.file == (str((repo / "src" / "app.py").resolve()),)
    assert s.model == "m"  # the rest of the file still applies
    assert [w.split(": it leads")[0] for w in s.warnings] == [
        f"blackboxai: ignoring file {entry!r} in config file {path}, line {line}"
        for entry, line in [("notes.md", 4), ("docs/id_rsa", 5), ("~/.ssh/id_rsa", 6)]
    ]


@pytest.mark.parametrize("log", ["../.bashrc", "/tmp/elsewhere.jsonl", "~/.bashrc", "link/x.jsonl"])
def test_a_project_cannot_point_the_analytics_log_outside_the_checkout(
    world: dict[str, Path], log: str
) -> None:
    (world["repo"] / "link").symlink_to(world["home"])
    path = project(world, f"analytics-log: {log}\n")
    s = load(world)
    assert s.analytics_log is None
    [warning] = s.warnings
    assert "ignoring analytics-log" in warning and f"config file {path}, line 1" in warning


def test_a_project_cannot_name_an_analytics_log_even_inside_the_checkout(
    world: dict[str, Path],
) -> None:
    """The log holds the user's anonymous id and system details: a tracked file is no place."""
    path = project(world, "analytics: false\nanalytics-log: CONTRIBUTORS\n")
    s = load(world)
    assert (s.analytics, s.analytics_log) == (False, None)
    assert s.warnings == (
        f"blackboxai: ignoring analytics-log in config file {path}, line 2: a project's config "
        "file cannot choose where data or keys go; set it in ~/.blackboxai.conf.yml, a --config "
        "file, BLACKBOXAI_ANALYTICS_LOG or --analytics-log",
    )


def test_a_git_root_config_is_read_against_the_git_root_from_any_subdirectory(
    world: dict[str, Path],
) -> None:
    sub = world["repo"] / "pkg" / "sub"
    sub.mkdir(parents=True)
    project(world, "file: [src/app.py]\n")
    at_root, below = load(world), load(world, cwd=sub)
    assert at_root.file == below.file == (str((world["repo"] / "src" / "app.py").resolve()),)
    assert below.warnings == ()


def test_a_cwd_config_in_a_subdirectory_may_name_files_elsewhere_in_its_checkout(
    world: dict[str, Path],
) -> None:
    sub = world["repo"] / "pkg"
    sub.mkdir()
    project(world, "file: [../src/app.py, ../../home/.ssh/id_rsa]\n", where=sub)
    s = load(world, cwd=sub)
    assert s.file == (str((world["repo"] / "src" / "app.py").resolve()),)
    assert len(s.warnings) == 1


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("analytics: true", None),
        ("analytics-disable: false", False),
        ("analytics-debug: false", False),
    ],
)
def test_a_project_file_cannot_make_analytics_less_private(
    world: dict[str, Path], line: str, value: object
) -> None:
    path = project(world, f"model: m\n{line}\n")
    s = load(world)
    option = line.split(":")[0]
    assert getattr(s, option.replace("-", "_")) is value
    [warning] = s.warnings
    assert warning.startswith(f"blackboxai: ignoring {line} in config file {path}, line 2: ")
    assert "can only make analytics more private" in warning
    assert f"BLACKBOXAI_{option.upper().replace('-', '_')}" in warning


def test_a_project_cannot_undo_the_users_own_choices(world: dict[str, Path]) -> None:
    (world["home"] / CONFIG_NAME).write_text(
        "analytics: false\nanalytics-disable: true\nanalytics-debug: true\n"
    )
    project(world, "analytics: true\nanalytics-disable: false\nanalytics-debug: false\n")
    s = load(world)
    assert (s.analytics, s.analytics_disable, s.analytics_debug) == (False, True, True)
    home_file = str(world["home"] / CONFIG_NAME)
    assert s.source("analytics") == s.source("analytics-disable") == home_file
    assert len(s.warnings) == 3


def test_a_project_may_turn_analytics_off_and_is_named_for_it(world: dict[str, Path]) -> None:
    path = project(world, "analytics: false\nanalytics-disable: true\nanalytics-debug: true\n")
    s = load(world)
    assert (s.analytics, s.analytics_disable, s.analytics_debug, s.warnings) == (
        False,
        True,
        True,
        (),
    )
    assert s.source("analytics") == str(path)


def test_the_users_own_files_variables_and_flags_keep_full_power(world: dict[str, Path]) -> None:
    secret = str(world["home"] / ".ssh" / "id_rsa")
    (world["home"] / CONFIG_NAME).write_text(
        "analytics: true\nfile: [~/.ssh/id_rsa]\nanalytics-log: ../outside.jsonl\n"
    )
    s = load(world)
    assert (s.analytics, s.file, s.warnings) == (True, (secret,), ())
    assert s.analytics_log == str(world["home"] / ".." / "outside.jsonl")  # from the file's dir
    env = {"BLACKBOXAI_FILE": f"~/.ssh/id_rsa{os.pathsep}rel.py", "BLACKBOXAI_ANALYTICS": "1"}
    s = load_settings({}, env=env, home=world["home"], cwd=world["repo"])
    assert s.file == (secret, "rel.py") and s.analytics is True
    s = load_settings({"file": [secret]}, env={}, home=world["home"], cwd=world["repo"])
    assert s.file == (secret,)


def test_every_option_has_a_trust_class_and_paths_are_confined() -> None:
    by_trust = {t: {n for n, s in OPTIONS.items() if s.trust is t} for t in Trust}
    assert by_trust[Trust.INSIDE] == {"file"}
    assert "analytics-log" in by_trust[Trust.USER]
    assert by_trust[Trust.PRIVATE] == {"analytics", "analytics-disable", "analytics-debug"}
    assert by_trust[Trust.ANY] == {"model", "edit-format"}
    assert {OPTIONS[n].private for n in by_trust[Trust.PRIVATE]} <= {True, False}


# -- the repository's own .git, and the project file itself -------------------------------------


@pytest.mark.parametrize("entry", [".git/config", ".git/hooks/post-checkout", "src/../.git/HEAD"])
def test_nothing_in_the_repositorys_own_git_directory_is_the_projects(
    world: dict[str, Path], entry: str
) -> None:
    assert confine(world["repo"] / entry, world["repo"]) is None
    project(world, f"file: [{entry}]\nanalytics-log: .git/hooks/post-merge\n")
    s = load(world)
    assert s.file == () and s.analytics_log is None
    assert len(s.warnings) == 2  # each one line, naming the file and line


def test_a_project_file_that_links_outside_the_checkout_is_not_read(
    world: dict[str, Path],
) -> None:
    secret = world["home"] / "shadow.yml"
    secret.write_text("root:*:20228:0:99999:7:: 1\nmodel: leaked\n")
    (world["repo"] / CONFIG_NAME).symlink_to(secret)
    s = load(world)
    assert s.model != "leaked"
    [warning] = s.warnings
    assert "a link to a file outside the project" in warning and "root:" not in warning


def test_a_huge_project_config_file_is_one_clear_line_not_gigabytes_of_memory(
    world: dict[str, Path],
) -> None:
    with (world["repo"] / CONFIG_NAME).open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)  # sparse: no disk, but far too large for settings
    s = load(world)
    [warning] = s.warnings
    assert "too large to be a settings file" in warning and "ignoring this project file" in warning
    assert s.analytics is False  # it may have said so: the more private reading


@pytest.mark.parametrize(
    "text",
    [
        "model: [\nfoo",
        "analytics: false\nmodel: {",
        "- a list\n",
        "when: 2024-13-45\n",
        "analytics: false\nanalytics: true\n",  # which did it mean? the more private reading
    ],
)
def test_a_broken_project_file_is_ignored_with_analytics_off_and_commands_still_run(
    world: dict[str, Path], text: str
) -> None:
    project(world, text)
    env = {**os.environ, "HOME": str(world["home"]), "XDG_DATA_HOME": str(world["home"] / "d")}
    env.pop("XDG_CONFIG_HOME", None)
    for command in (["analytics", "status"], ["--analytics", "--exit"]):
        result = blackboxai(world, *command, env=env)
        assert result.returncode == 0, result.stderr
        [line] = [x for x in result.stderr.splitlines() if "ignoring this project file" in x]
        assert str(world["repo"].name) in line
    status = blackboxai(world, "analytics", "status", env=env)
    assert "Reporting:     no" in status.stdout


def test_a_broken_file_of_the_users_own_is_still_an_error(world: dict[str, Path]) -> None:
    from blackboxai.yamlfile import ConfigError

    own = world["home"] / CONFIG_NAME
    own.write_text("model: [\nfoo")
    with pytest.raises(ConfigError, match="line 2"):
        load(world)


def test_a_project_value_cannot_draw_on_the_users_terminal(world: dict[str, Path]) -> None:
    forged = "../n/\x1b[2K\rAnalytics are permanently disabled./x"  # outside: a warning
    project(world, f'file: "{forged.encode("unicode_escape").decode()}"\n')
    result = blackboxai(world, "--exit")
    assert "\x1b" not in result.stderr and "\r" not in result.stderr
    assert len(result.stderr.splitlines()) == 1  # one warning line, escapes shown escaped


def test_a_config_file_inside_git_is_ignored_as_inside_git_not_as_a_link(
    world: dict[str, Path],
) -> None:
    """From a working directory inside .git/, the file there is the repository's, not a link."""
    inside = world["repo"] / ".git"
    (inside / CONFIG_NAME).write_text("model: from-git\n")
    result = blackboxai(world, "--exit", cwd=inside)
    assert result.returncode == 0
    assert result.stderr == (
        f"blackboxai: ignoring config file {inside / CONFIG_NAME}: it is in the repository's "
        ".git directory, which is not the project's\n"
    )


def test_a_project_file_entry_in_git_is_ignored_as_inside_git(world: dict[str, Path]) -> None:
    path = project(world, "file: [.git/config, ../outside.py]\n")
    result = blackboxai(world, "--exit", cwd=world["repo"])
    assert result.returncode == 0
    assert result.stderr.splitlines() == [
        f"blackboxai: ignoring file '.git/config' in config file {path}, line 1: it is in the "
        "repository's .git directory, which is not the project's; a project's config file can "
        "only name the project's own files",
        f"blackboxai: ignoring file '../outside.py' in config file {path}, line 1: it leads "
        f"outside the project {world['repo']}; a project's config file can only name files "
        "inside it",
    ]


# -- names no system can open (a NUL byte, a lone surrogate) --------------------------------------

_BAD_NAMES = [r'"\0evil"', r'"a\ud800"', r'[ok.py, "src/\0x"]']


@pytest.mark.parametrize("entry", ["\0evil", "a\ud800", "src/\0"])
def test_confine_takes_a_name_no_system_can_open_for_outside(
    world: dict[str, Path], entry: str
) -> None:
    from blackboxai.config.trust import in_git_dir, valid_name

    assert not valid_name(entry)
    assert confine(world["repo"] / entry, world["repo"]) is None
    assert in_git_dir(world["repo"] / entry, world["repo"]) is False


def test_undecodable_bytes_from_the_command_line_are_a_valid_name() -> None:
    from blackboxai.config.trust import valid_name

    assert valid_name(os.fsdecode(b"a\xff.py"))


@pytest.mark.parametrize("value", _BAD_NAMES)
def test_a_project_file_naming_an_impossible_file_is_one_warning_and_every_command_runs(
    world: dict[str, Path], value: str
) -> None:
    path = project(world, f"model: m\nfile: {value}\n")
    env = {**os.environ, "HOME": str(world["home"]), "XDG_DATA_HOME": str(world["tmp"] / "d")}
    for args in (["--exit"], ["analytics", "status"], ["--no-analytics", "analytics", "status"]):
        done = blackboxai(world, *args, env=env)
        assert done.returncode == 0, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith(f"blackboxai: ignoring file in config file {path}, line 2: ")
        assert line.endswith("which is not a valid file name")
    s = load(world)
    assert (s.model, s.file) == ("m", ())


@pytest.mark.parametrize("value", _BAD_NAMES)
def test_the_users_own_file_naming_an_impossible_file_is_one_line_and_exit_2(
    world: dict[str, Path], value: str
) -> None:
    (world["home"] / CONFIG_NAME).write_text(f"file: {value}\n")
    env = {**os.environ, "HOME": str(world["home"]), "XDG_DATA_HOME": str(world["tmp"] / "d")}
    for args in (["--exit"], ["analytics", "status"], ["analytics", "off"]):
        done = blackboxai(world, *args, env=env)
        assert done.returncode == 2, done.stderr
        error = [line for line in done.stderr.splitlines() if "valid file name" in line]
        assert error == done.stderr.splitlines()[-1:]
        assert error[0].startswith(f"blackboxai: config file {world['home'] / CONFIG_NAME}, line 1")
        assert "unexpected" not in done.stderr
    state = world["tmp"] / "d" / "blackboxai" / "analytics.json"
    assert json.loads(state.read_text())["permanently_disable"] is True  # `off` landed first


def test_an_impossible_name_in_the_analytics_log_setting_is_one_line(
    world: dict[str, Path],
) -> None:
    (world["home"] / CONFIG_NAME).write_text('analytics-log: "log\\0.jsonl"\n')
    with pytest.raises(ConfigError, match=r"analytics-log names 'log\\x00.jsonl', which is not a"):
        load(world)
    with pytest.raises(ConfigError, match=r"^--file names '\\x00', which is not a valid file"):
        load_settings({"file": ["ok", "\0"]}, env={}, home=world["tmp"], cwd=world["repo"])


# -- a project's directory name is the project's: shown escaped ---------------------------------


@pytest.mark.parametrize(
    ("text", "args", "stdin"),
    [
        ("analytics: false\n", ["analytics", "status"], ""),
        ("analytics: false\n", ["analytics", "on"], ""),
        ("analytics: false\n", [], "/analytics\n"),
        ("analytics-disable: true\n", ["analytics", "on"], ""),
    ],
)
def test_a_project_directory_named_with_terminal_escapes_is_shown_escaped(
    world: dict[str, Path], text: str, args: list[str], stdin: str
) -> None:
    where = world["tmp"] / "p3\x1b]0;T\x07\x1b[31m"
    make_repo(where)
    project(world, text, where)
    env = {**os.environ, "HOME": str(world["home"]), "XDG_DATA_HOME": str(world["tmp"] / "d")}
    done = blackboxai(world, *args, cwd=where, env=env, input=stdin)
    assert "p3\\x1b]0;T\\x07\\x1b[31m" in done.stdout + done.stderr  # named, escaped
    assert not {"\x1b", "\x07"} & set(done.stdout + done.stderr)
