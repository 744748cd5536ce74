"""Settings from defaults, YAML config files, BLACKBOXAI_* variables and the command line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_NAME",
    "OPTIONS",
    "TRUSTED_ONLY",
    "ConfigError",
    "Settings",
    "config_files",
    "load_settings",
]

CONFIG_NAME = ".blackboxai.conf.yml"

# Option name -> kind. Every one can be set on the command line (--NAME), in YAML (NAME: value)
# and in the environment (BLACKBOXAI_NAME, dashes as underscores).
OPTIONS: dict[str, str] = {
    "analytics": "bool",
    "analytics-disable": "bool",
    "analytics-log": "str",
    "analytics-debug": "bool",
    "analytics-posthog-host": "str",
    "analytics-posthog-project-api-key": "str",
    "analytics-mixpanel-token": "str",
    "analytics-mixpanel-host": "str",
    "model": "str",
    "edit-format": "edit-format",
    "openai-api-base": "str",
    "openai-api-key": "str",
    "file": "list",
}
# Where your prompts, files, keys and analytics events go. A .blackboxai.conf.yml at the git root
# or in the current directory comes with the project, which may not be yours: these keys are
# ignored there (with a warning) and honoured only from ~/.blackboxai.conf.yml, --config FILE,
# the environment and the command line.
TRUSTED_ONLY = frozenset(
    {
        "openai-api-base",
        "openai-api-key",
        "analytics-posthog-host",
        "analytics-posthog-project-api-key",
        "analytics-mixpanel-token",
        "analytics-mixpanel-host",
    }
)
EDIT_FORMATS = ("whole", "diff")
DEFAULTS: dict[str, Any] = {
    "analytics": None,
    "analytics-disable": False,
    "analytics-debug": False,
    "model": "gpt-4o-mini",
    "edit-format": "whole",
    "file": [],
}
# Older, widely used variables, below our own BLACKBOXAI_* ones.
FOREIGN_ENV = {"openai-api-base": "OPENAI_API_BASE", "openai-api-key": "OPENAI_API_KEY"}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_SHOWN = 60  # at most this much of a bad value goes into a message


class ConfigError(Exception):
    """Bad configuration: one line naming the file (and line) or the variable."""


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)  # option -> where its value came from
    warnings: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        key = name.replace("_", "-")
        if key in OPTIONS:
            return self.values.get(key, DEFAULTS.get(key))
        raise AttributeError(name)

    def source(self, option: str) -> str:
        """Where the value came from: a file, a variable, or the flag itself when not set."""
        return self.sources.get(option, f"--{option}")


def env_name(option: str) -> str:
    return "BLACKBOXAI_" + option.upper().replace("-", "_")


def describe(value: object) -> str:
    """A bad value, briefly: a container only by its kind (YAML aliases can make it huge)."""
    if isinstance(value, (dict, list, set)):
        return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large number"  # repr() even refuses past 4300 digits
    text = repr(value[: _SHOWN + 1] if isinstance(value, (str, bytes)) else value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _check(option: str, value: Any, where: str) -> Any:
    """Validate a config value's type; raise ConfigError naming where it came from."""
    kind = OPTIONS[option]
    if kind == "bool" and not isinstance(value, bool):
        raise ConfigError(f"{where}: {option} must be true or false, not {describe(value)}")
    if kind == "str" and not isinstance(value, str):
        raise ConfigError(f"{where}: {option} must be a string, not {describe(value)}")
    if kind == "edit-format" and (not isinstance(value, str) or value not in EDIT_FORMATS):
        choices = ", ".join(EDIT_FORMATS)
        raise ConfigError(f"{where}: {option} must be one of {choices}, not {describe(value)}")
    if kind == "list":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {option} must be a path or a list of paths")
    return value


def _parse_env(option: str, raw: str, var: str) -> Any:
    kind = OPTIONS[option]
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{var} must be true or false, not {describe(raw)}")
    if kind == "list":
        return [p for p in raw.split(os.pathsep) if p]
    return _check(option, raw, var)


def read_config(path: Path, *, trusted: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Parse one YAML file with the safe loader; return its valid options and warnings.

    An untrusted (project) file's TRUSTED_ONLY keys are ignored, with a warning.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    node = None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"config file {path}: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # good YAML that Python refuses: 2024-13-45
        reason = str(exc).split(";")[0].split(":")[0][:_SHOWN]
        raise ConfigError(f"config file {path}: a value is out of range ({reason})") from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, but a position
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"config file {path}, line {line}: special characters are not allowed"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of option: value")
    lines = _key_lines(node)
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        at = f"config file {path}, line {lines.get(_hashable(key), '?')}"
        if not isinstance(key, str) or key not in OPTIONS:
            warnings.append(f"blackboxai: ignoring unknown option {describe(key)} in {at}")
            continue
        if not trusted and key in TRUSTED_ONLY:
            warnings.append(_untrusted(key, at))
            continue
        values[key] = _check(key, value, at)
        if not trusted and key == "file":
            values[key] = _inside_project(values[key], at, warnings)
    return values, warnings


def _inside_project(paths: list[str], at: str, warnings: list[str]) -> list[str]:
    """A project file may add its own files to the chat, never ~/.ssh/id_rsa or ../../etc."""
    kept = []
    for entry in paths:
        parts = Path(entry).parts
        if Path(entry).is_absolute() or entry.startswith("~") or ".." in parts:
            warnings.append(
                f"blackboxai: ignoring file {describe(entry)} in {at}: a project's config file "
                "can only add files inside the project"
            )
        else:
            kept.append(entry)
    return kept


def _untrusted(option: str, at: str) -> str:
    return (
        f"blackboxai: ignoring {option} in {at}: a project's config file cannot choose where "
        f"data or keys go; set it in ~/{CONFIG_NAME}, a --config file, {env_name(option)} "
        f"or --{option}"
    )


def _hashable(key: object) -> object:
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def _key_lines(node: object) -> dict[object, int]:
    """Each top-level key's line, by constructed key (so `null:` and `1.5:` work too)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    loader = yaml.SafeLoader("")
    lines: dict[object, int] = {}
    for key_node, _ in node.value:
        try:
            key = loader.construct_object(key_node, deep=True)
        except yaml.YAMLError:
            continue
        # the last duplicate wins, as in the data
        lines[_hashable(key)] = key_node.start_mark.line + 1
    return lines


def git_root(start: Path) -> Path | None:
    """The enclosing git work tree, found by walking up (no subprocess on the start-up path)."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def config_files(cwd: Path, home: Path) -> list[Path]:
    """Implicit config files, lowest priority first; each existing file once."""
    candidates = [home / CONFIG_NAME]
    root = git_root(cwd)
    if root is not None:
        candidates.append(root / CONFIG_NAME)
    candidates.append(cwd / CONFIG_NAME)
    seen: list[Path] = []
    for path in candidates:
        if path.is_file() and all(not _same(path, other) for other in seen):
            seen.append(path)
    return seen


def config_layers(cwd: Path, home: Path, config: Path | None) -> list[tuple[Path, bool]]:
    """Files to read, lowest priority first, each with whether it is trusted: the user chose
    the home and --config files; the git-root and cwd files come with the project."""
    home_file = home / CONFIG_NAME
    layers = [
        (path, _same(path, home_file))
        for path in config_files(cwd, home)
        if config is None or not _same(path, config)  # read once, as the file the user named
    ]
    return layers + ([(config, True)] if config is not None else [])


def current_directory() -> Path:
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise ConfigError("the current directory no longer exists") from None
    except OSError as exc:
        raise ConfigError(f"the current directory cannot be read: {exc.strerror}") from None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def load_settings(
    cli: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    home: Path,
    cwd: Path | None = None,  # None: the process's current directory
    config: Path | None = None,
) -> Settings:
    """Merge every source, later ones winning: defaults, YAML files, --config, env, command line."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    cwd = current_directory() if cwd is None else cwd
    for path, trusted in config_layers(cwd, home, config):
        found, notes = read_config(path, trusted=trusted)
        warnings.extend(notes)
        values.update(found)
        sources.update({k: str(path) for k in found})
    for option, var in FOREIGN_ENV.items():
        if env.get(var):
            values[option], sources[option] = env[var], var
    for option in OPTIONS:
        var = env_name(option)
        raw = env.get(var)
        if raw is not None and raw != "":
            values[option], sources[option] = _parse_env(option, raw, var), var
    for option, value in cli.items():
        if value is not None:
            values[option] = _check(option, value, f"--{option}")
            sources[option] = (
                f"--{option}"
                if value is not False or OPTIONS[option] != "bool"
                else f"--no-{option}"
            )
    return Settings(values=values, sources=sources, warnings=tuple(warnings))
