"""Settings: defaults, YAML files, --config, BLACKBOXAI_* variables, then the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blackboxai.config.options import Trust, ident
from blackboxai.config.settings import (
    CONFIG_NAME,
    OPTIONS,
    ConfigError,
    Settings,
    config_files,
    env_name,
    load_settings,
    read_config,
)

LAYERS = ["home", "git-root", "cwd", "--config", "env", "cli"]


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A home, and a git work tree whose subdirectory is the working directory."""
    home = tmp_path / "h"
    root = tmp_path / "repo"
    cwd = root / "pkg" / "sub"
    (root / ".git").mkdir(parents=True)
    cwd.mkdir(parents=True)
    home.mkdir()
    return {"home": home, "root": root, "cwd": cwd, "tmp": tmp_path}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(
    tree: dict[str, Path],
    cli: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> Settings:
    return load_settings(
        cli or {}, env=env or {}, cwd=tree["cwd"], home=tree["home"], config=config
    )


# -- defaults and layering ------------------------------------------------------------------------


def test_defaults_apply_when_nothing_is_configured(tree: dict[str, Path]) -> None:
    s = load(tree)
    assert s.analytics is None
    assert s.analytics_disable is False
    assert s.analytics_log is None
    assert s.model == "gpt-4o-mini"
    assert s.edit_format == "whole"
    assert s.file == ()
    assert s.source("analytics-log") == "--analytics-log"  # unset: named by its flag
    assert s.warnings == ()


def test_unknown_attribute_is_an_attribute_error(tree: dict[str, Path]) -> None:
    with pytest.raises(AttributeError):
        _ = load(tree).no_such_option


@pytest.mark.parametrize("top", LAYERS)
def test_each_layer_overrides_every_layer_below(tree: dict[str, Path], top: str) -> None:
    """Set the model in every layer up to `top`; the value and its source come from `top`."""
    layers = LAYERS[: LAYERS.index(top) + 1]
    value = {layer: f"model-{layer.strip('-')}" for layer in layers}
    files = {
        "home": tree["home"] / CONFIG_NAME,
        "git-root": tree["root"] / CONFIG_NAME,
        "cwd": tree["cwd"] / CONFIG_NAME,
        "--config": tree["tmp"] / "extra.yml",
    }
    for layer, path in files.items():
        if layer in layers:
            write(path, f"model: {value[layer]}\n")
    env = {"BLACKBOXAI_MODEL": value["env"]} if "env" in layers else {}
    cli = {"model": value["cli"]} if "cli" in layers else {}
    config = files["--config"] if "--config" in layers else None

    s = load(tree, cli=cli, env=env, config=config)

    assert s.model == value[top]
    expected_source = {"env": "BLACKBOXAI_MODEL", "cli": "--model"}.get(top, str(files.get(top)))
    assert s.sources["model"] == expected_source


def test_layers_merge_option_by_option(tree: dict[str, Path]) -> None:
    write(tree["home"] / CONFIG_NAME, "model: home-model\nedit-format: diff\n")
    write(tree["cwd"] / CONFIG_NAME, "model: cwd-model\n")
    s = load(tree)
    assert s.model == "cwd-model"
    assert s.edit_format == "diff"
    assert s.source("edit-format") == str(tree["home"] / CONFIG_NAME)
    assert s.source("model") == str(tree["cwd"] / CONFIG_NAME)


def test_analytics_false_in_a_file_is_overridden_by_env_and_cli(tree: dict[str, Path]) -> None:
    write(tree["cwd"] / CONFIG_NAME, "analytics: false\n")
    assert load(tree).analytics is False
    s = load(tree, env={"BLACKBOXAI_ANALYTICS": "true"})
    assert (s.analytics, s.source("analytics")) == (True, "BLACKBOXAI_ANALYTICS")
    s = load(tree, cli={"analytics": False}, env={"BLACKBOXAI_ANALYTICS": "true"})
    assert (s.analytics, s.source("analytics")) == (False, "--no-analytics")
    s = load(tree, cli={"analytics": True}, env={"BLACKBOXAI_ANALYTICS": "0"})
    assert (s.analytics, s.source("analytics")) == (True, "--analytics")


def test_cli_none_means_not_given(tree: dict[str, Path]) -> None:
    write(tree["cwd"] / CONFIG_NAME, "analytics: false\nmodel: m\n")
    s = load(tree, cli={name: None for name in OPTIONS})
    assert s.analytics is False and s.model == "m"


def test_git_root_is_found_from_a_subdirectory_and_a_git_file_counts(tmp_path: Path) -> None:
    root = tmp_path / "wt"
    deep = root / "a" / "b"
    deep.mkdir(parents=True)
    (root / ".git").write_text("gitdir: /elsewhere\n")  # a worktree or submodule
    write(root / CONFIG_NAME, "model: from-root\n")
    home = tmp_path / "empty-home"
    home.mkdir()
    assert config_files(deep, home) == [root / CONFIG_NAME]
    assert load_settings({}, env={}, cwd=deep, home=home).model == "from-root"


def test_without_a_git_repo_only_home_and_cwd_are_read(tmp_path: Path) -> None:
    home, cwd = tmp_path / "h", tmp_path / "plain" / "sub"
    cwd.mkdir(parents=True)
    home.mkdir()
    write(tmp_path / "plain" / CONFIG_NAME, "model: parent-not-a-repo\n")
    write(home / CONFIG_NAME, "model: home\n")
    assert load_settings({}, env={}, cwd=cwd, home=home).model == "home"


@pytest.mark.parametrize("where", ["cwd-is-home", "cwd-is-git-root"])
def test_a_file_reached_twice_is_read_once(tmp_path: Path, where: str) -> None:
    cwd = tmp_path / "dir"
    cwd.mkdir()
    if where == "cwd-is-git-root":
        (cwd / ".git").mkdir()
        home = tmp_path / "empty-home"
        home.mkdir()
    else:
        home = cwd
    write(cwd / CONFIG_NAME, "bogus: 1\n")
    assert config_files(cwd, home) == [cwd / CONFIG_NAME]
    assert len(load_settings({}, env={}, cwd=cwd, home=home).warnings) == 1


def test_config_flag_file_sits_above_the_cwd_file(tree: dict[str, Path]) -> None:
    write(tree["cwd"] / CONFIG_NAME, "model: cwd\nedit-format: diff\n")
    extra = write(tree["tmp"] / "x.yml", "model: flag\n")
    s = load(tree, config=extra)
    assert (s.model, s.source("model")) == ("flag", str(extra))
    assert s.edit_format == "diff"


# -- environment variables ------------------------------------------------------------------------


def test_every_option_has_a_blackboxai_variable() -> None:
    long_name = "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY"
    assert env_name("analytics-posthog-project-api-key") == long_name
    assert all(env_name(o).startswith("BLACKBOXAI_") and "-" not in env_name(o) for o in OPTIONS)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
    ],
)
def test_boolean_variables_accept_the_usual_spellings(
    tree: dict[str, Path], raw: str, value: bool
) -> None:
    assert load(tree, env={"BLACKBOXAI_ANALYTICS": raw}).analytics is value


@pytest.mark.parametrize(
    "var", ["BLACKBOXAI_ANALYTICS", "BLACKBOXAI_ANALYTICS_DISABLE", "BLACKBOXAI_ANALYTICS_DEBUG"]
)
def test_a_bad_boolean_variable_is_an_error_naming_it(tree: dict[str, Path], var: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tree, env={var: "maybe"})
    message = str(info.value)
    assert var in message and "'maybe'" in message and "\n" not in message


def test_a_bad_edit_format_variable_is_an_error_naming_it(tree: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="BLACKBOXAI_EDIT_FORMAT"):
        load(tree, env={"BLACKBOXAI_EDIT_FORMAT": "udiff"})


def test_an_empty_variable_is_ignored(tree: dict[str, Path]) -> None:
    write(tree["home"] / CONFIG_NAME, "analytics-log: from-file.jsonl\n")
    s = load(tree, env={"BLACKBOXAI_ANALYTICS_LOG": "", "BLACKBOXAI_ANALYTICS": ""})
    assert s.analytics_log == str(tree["home"] / "from-file.jsonl")
    assert s.analytics is None


def test_file_variable_is_split_on_the_path_separator(tree: dict[str, Path]) -> None:
    s = load(tree, env={"BLACKBOXAI_FILE": f"a.py{os.pathsep}{os.pathsep}b/c.py"})
    assert s.file == ("a.py", "b/c.py")  # relative to the current directory, as given


def test_openai_variables_sit_between_files_and_our_own_variables(tree: dict[str, Path]) -> None:
    write(tree["home"] / CONFIG_NAME, "openai-api-base: http://file\n")
    assert load(tree).openai_api_base == "http://file"
    s = load(tree, env={"OPENAI_API_BASE": "http://openai"})
    assert s.openai_api_base == "http://openai"
    assert s.source("openai-api-base") == "OPENAI_API_BASE"
    env = {"OPENAI_API_BASE": "http://openai", "BLACKBOXAI_OPENAI_API_BASE": "http://ours"}
    s = load(tree, env=env)
    assert s.openai_api_base == "http://ours"
    assert s.source("openai-api-base") == "BLACKBOXAI_OPENAI_API_BASE"


# -- read_config: good and bad files --------------------------------------------------------------


def test_every_option_is_read_from_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.yml",
        (
            "analytics: true\nanalytics-disable: false\nanalytics-log: log.jsonl\n"
            "analytics-debug: true\n"
            "analytics-posthog-host: http://ph\nanalytics-posthog-project-api-key: phc_x\n"
            "analytics-mixpanel-token: tok\nanalytics-mixpanel-host: http://mp\nmodel: m\n"
            "analytics-otlp-endpoint: https://otel.example:4318\n"
            "analytics-otlp-protocol: http/json\nanalytics-otlp-headers: a=b\n"
            "edit-format: diff\nopenai-api-base: http://api\nopenai-api-key: k\nfile: one.py\n"
        ),
    )
    values, warnings = read_config(path)
    assert set(values) == set(OPTIONS)
    assert values["file"] == (str(tmp_path / "one.py"),)  # one path is a list of one, made
    assert values["analytics-log"] == str(tmp_path / "log.jsonl")  # absolute from the file's dir
    assert values["analytics"] is True and values["edit-format"] == "diff"
    assert warnings == []


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_an_empty_file_sets_nothing(tmp_path: Path, text: str) -> None:
    assert read_config(write(tmp_path / "c.yml", text)) == ({}, [])


def test_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "model: gpt-4o\nedit-format: whole\nanalytics: x: y\n")
    with pytest.raises(ConfigError) as info:
        read_config(path)
    message = str(info.value)
    assert str(path) in message and "line 3" in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("model: m\nanalytics: maybe\n", "analytics", 2),
        ("analytics-disable: 1\n", "analytics-disable", 1),
        ("# c\n\nmodel: 4\n", "model", 3),
        ("edit-format: udiff\n", "edit-format", 1),
        ("file: [1, 2]\n", "file", 1),
        ("{model: m,\n analytics: maybe}\n", "analytics", 2),
    ],
)
def test_a_bad_value_names_the_file_line_and_key(
    tmp_path: Path, text: str, key: str, line: int
) -> None:
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    message = str(info.value)
    assert str(path) in message and f"line {line}" in message and key in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text",
    ["analytics: false\nmodel: m\nanalytics: true\n", "analytics: false\n? analytics\n: true\n"],
)
def test_a_key_set_twice_is_an_error_naming_both_lines(tmp_path: Path, text: str) -> None:
    """YAML requires unique keys; PyYAML would quietly keep the last one."""
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    line = text.count("\n", 0, text.rindex("analytics")) + 1
    assert str(info.value) == (
        f"config file {path}, line {line}: 'analytics' is set twice (first on line 1)"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "&k analytics: false\n*k : true\n",
            "line 1: 'analytics' is set twice (again through an alias)",
        ),
        (
            "<<: {analytics: false}\n<<: {analytics: true}\n",
            "line 2: '<<' is set twice (first on line 1)",
        ),
    ],
)
def test_a_key_set_twice_through_an_alias_or_a_merge_is_an_error(
    tmp_path: Path, text: str, said: str
) -> None:
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(info.value) == f"config file {path}, {said}"


def test_a_merge_that_an_explicit_key_overrides_is_yaml_as_meant(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "<<: {model: a, edit-format: diff}\nmodel: b\n")
    found, notes = read_config(path)
    assert (found["model"], found["edit-format"], notes) == ("b", "diff", [])


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n", "false\n", "[]\n"])
def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError, match="mapping") as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_config(tmp_path / "missing.yml")


def test_a_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        read_config(tmp_path)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_bytes(b"model: \xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot be read") as info:
        read_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_python_tags_are_refused_by_the_safe_loader(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "model: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_config(path)


def test_several_documents_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        read_config(write(tmp_path / "c.yml", "model: a\n---\nmodel: b\n"))


def test_an_unknown_key_is_a_one_line_warning_naming_key_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "model: m\nmodle: typo\n")
    values, warnings = read_config(path)
    assert values == {"model": "m"}
    assert len(warnings) == 1
    assert "'modle'" in warnings[0] and str(path) in warnings[0] and "line 2" in warnings[0]
    assert "\n" not in warnings[0]


def test_unknown_keys_warn_through_load_settings(tree: dict[str, Path]) -> None:
    write(tree["cwd"] / CONFIG_NAME, "colour: blue\n")
    assert [w for w in load(tree).warnings if "'colour'" in w]


def test_an_unknown_non_string_key_warning_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "model: m\nnull: x\n")
    _, warnings = read_config(path)
    assert len(warnings) == 1 and "line 2" in warnings[0]


def test_a_control_character_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", 'model: m\nanalytics: "a\x07"\n')
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert "line 2" in str(info.value)


def test_deeply_nested_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "model: " + "[" * 1000 + "]" * 1000 + "\n")
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(path) in str(info.value)


YAMLISH = st.lists(
    st.sampled_from(
        [
            *"ab:-[]{}#&*!|>'\"\n \t,?%@`0.1~",
            "analytics",
            "model",
            "file",
            "edit-format",
            "true",
            "null",
            "maybe",
            "é",
            "---",
            "...",
        ]
    ),
    max_size=30,
).map("".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=YAMLISH)
def test_read_config_raises_only_one_line_config_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "fuzz.yml", text)
    try:
        values, warnings = read_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message and "\r" not in message
        return
    assert set(values) <= set(OPTIONS)
    assert all("\n" not in w for w in warnings)


# -- project files are not trusted with destinations or keys --------------------------------------

# Spelled out rather than imported, so these tests also describe the rule on their own.
DESTINATIONS_AND_KEYS = {
    "analytics-log": "/srv/clone/CONTRIBUTORS",  # the user's id and system, in a tracked file
    "openai-api-base": "http://attacker.example/v1",
    "openai-api-key": "sk-from-the-repo",
    "analytics-posthog-host": "http://attacker.example/ph",
    "analytics-posthog-project-api-key": "phc_attacker",
    "analytics-mixpanel-token": "mp_attacker",
    "analytics-mixpanel-host": "http://attacker.example/mp",
    "analytics-otlp-endpoint": "http://attacker.example:4318",
    "analytics-otlp-protocol": "http/json",
    "analytics-otlp-headers": "authorization=Bearer%20theirs",
}


def test_the_registry_keeps_every_destination_and_key_from_project_files() -> None:
    user_only = {name for name, spec in OPTIONS.items() if spec.trust is Trust.USER}
    assert user_only == set(DESTINATIONS_AND_KEYS)


@pytest.mark.parametrize("option", sorted(DESTINATIONS_AND_KEYS))
@pytest.mark.parametrize("layer", ["git-root", "cwd"])
def test_a_project_file_cannot_set_a_destination_or_key(
    tree: dict[str, Path], layer: str, option: str
) -> None:
    path = tree["root" if layer == "git-root" else "cwd"] / CONFIG_NAME
    write(path, f"model: from-the-repo\n{option}: {DESTINATIONS_AND_KEYS[option]}\n")
    s = load(tree)
    assert getattr(s, ident(option)) is None
    assert s.model == "from-the-repo"  # the rest of the file still applies
    assert len(s.warnings) == 1
    warning = s.warnings[0]
    assert warning.startswith("blackboxai: ignoring ") and "\n" not in warning
    assert option in warning and str(path) in warning and "line 2" in warning
    for where in ("~/.blackboxai.conf.yml", "--config", env_name(option), f"--{option}"):
        assert where in warning, where
    assert DESTINATIONS_AND_KEYS[option] not in warning  # a key is never echoed


def test_a_project_file_cannot_override_a_trusted_destination(tree: dict[str, Path]) -> None:
    write(tree["home"] / CONFIG_NAME, "openai-api-base: http://mine\n")
    write(tree["cwd"] / CONFIG_NAME, "openai-api-base: http://theirs\n")
    s = load(tree)
    assert s.openai_api_base == "http://mine"
    assert s.source("openai-api-base") == str(tree["home"] / CONFIG_NAME)


def test_a_bad_destination_in_a_project_file_is_ignored_not_an_error(
    tree: dict[str, Path],
) -> None:
    write(tree["cwd"] / CONFIG_NAME, "openai-api-key: [1, 2]\nmodel: m\n")
    s = load(tree)
    assert s.openai_api_key is None and s.model == "m" and len(s.warnings) == 1


@pytest.mark.parametrize("layer", ["home", "--config"])
def test_home_and_config_files_may_set_destinations_and_keys(
    tree: dict[str, Path], layer: str
) -> None:
    text = "".join(f"{k}: {v}\n" for k, v in DESTINATIONS_AND_KEYS.items())
    path = tree["home"] / CONFIG_NAME if layer == "home" else tree["tmp"] / "mine.yml"
    write(path, text)
    s = load(tree, config=path if layer == "--config" else None)
    assert {k: getattr(s, ident(k)) for k in DESTINATIONS_AND_KEYS} == DESTINATIONS_AND_KEYS
    assert s.warnings == ()


def test_a_config_file_named_with_the_flag_is_trusted_even_in_the_project(
    tree: dict[str, Path],
) -> None:
    path = write(tree["cwd"] / CONFIG_NAME, "openai-api-base: http://chosen\n")
    s = load(tree, config=path)
    assert (s.openai_api_base, s.warnings) == ("http://chosen", ())


def test_a_home_that_is_also_the_git_root_stays_trusted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # dotfiles kept in git
    (home / "notes").mkdir()
    write(home / CONFIG_NAME, "openai-api-base: http://mine\n")
    s = load_settings({}, env={}, cwd=home / "notes", home=home)
    assert (s.openai_api_base, s.warnings) == ("http://mine", ())


def test_a_project_file_may_set_the_rest_within_the_project(tree: dict[str, Path]) -> None:
    write(
        tree["cwd"] / CONFIG_NAME,
        "analytics: false\nanalytics-disable: true\n"
        "analytics-debug: true\nmodel: m\nedit-format: diff\nfile: [a.py]\n",
    )
    s = load(tree)
    here = tree["cwd"].resolve()
    assert s.warnings == ()
    assert (s.analytics, s.analytics_disable) == (False, True)
    assert (s.analytics_debug, s.model, s.edit_format) == (True, "m", "diff")
    assert s.file == (str(here / "a.py"),)


# -- bad values are described, never printed whole ------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML whose last alias stands for width**levels strings: tiny on disk, huge if walked."""
    items = ", ".join(["x"] * width)
    lines = [f"a0: &a0 [{items}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + f"\nmodel: *a{levels - 1}\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("model: [a, b]\n", "a list"),
        ("analytics: {a: 1}\n", "a mapping"),
        ("edit-format: [whole]\n", "a list"),
        ("edit-format: " + "y" * 5000 + "\n", "'yyyy"),
        ("analytics: " + "z" * 5000 + "\n", "'zzzz"),
        ("model: 0b" + "1" * 20000 + "\n", "number"),
    ],
)
def test_a_bad_value_is_described_briefly(tmp_path: Path, text: str, shown: str) -> None:
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    message = str(info.value)
    assert shown in message and len(message) < len(str(path)) + 160, message


def test_an_alias_bomb_is_a_quick_one_line_error(tmp_path: Path) -> None:
    """In a child process with a timeout: unfixed, this hangs rather than fails."""
    path = write(tmp_path / "bomb.yml", alias_bomb())
    script = (
        "import pathlib, sys\n"
        "from blackboxai.config.settings import read_config\n"
        "read_config(pathlib.Path(sys.argv[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=10
    )
    last = result.stderr.splitlines()[-1]
    assert last.startswith("blackboxai.yamlfile.ConfigError: ") and "a list" in last, last


def test_a_long_unknown_key_is_shortened_in_its_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yml", "? " + "k" * 5000 + "\n: 1\n")  # explicit: no 1024 limit
    _, warnings = read_config(path)
    assert len(warnings) == 1 and len(warnings[0]) < len(str(path)) + 160


def test_a_long_bad_variable_is_shortened_in_its_error(tree: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as info:
        load(tree, env={"BLACKBOXAI_ANALYTICS": "m" * 5000})
    assert "BLACKBOXAI_ANALYTICS" in str(info.value) and len(str(info.value)) < 160


@pytest.mark.parametrize(
    "text", ["model: 2024-13-45\n", "model: " + "1" * 5000 + "\n", "a: 1\nmodel: 2024-02-30\n"]
)
def test_values_yaml_cannot_construct_are_config_errors(tmp_path: Path, text: str) -> None:
    """Python, not YAML, rejects these (a 13th month, an int past the 4300-digit limit)."""
    path = write(tmp_path / "c.yml", text)
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# -- the current directory ------------------------------------------------------------------------


def test_a_deleted_current_directory_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(ConfigError) as info:
        load_settings({}, env={}, home=tmp_path)
    assert str(info.value) == "the current directory no longer exists"


def test_a_project_file_cannot_add_files_from_outside_the_project(tmp_path: Path) -> None:
    home, work = tmp_path / "h", tmp_path / "w"
    home.mkdir()
    work.mkdir()
    path = write(
        work / CONFIG_NAME, "file: [src/app.py, /etc/passwd, ~/.ssh/id_rsa, ../../secret.txt]\n"
    )
    settings = load_settings({}, env={}, cwd=work, home=home)
    assert settings.file == (str(work.resolve() / "src" / "app.py"),)
    ignored = [w for w in settings.warnings if "leads outside the project" in w]
    assert len(ignored) == 3 and all(f"config file {path}, line 1" in w for w in ignored)
    (home / CONFIG_NAME).write_text("file: [/etc/hosts]\n")  # the user's own file
    path.unlink()
    assert load_settings({}, env={}, cwd=work, home=home).file == ("/etc/hosts",)
