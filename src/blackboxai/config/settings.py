"""Settings from defaults, YAML config files, BLACKBOXAI_* variables and the command line.

What each option is, and what a project's file may do with it, is in `options.py`; what a
project's file may set, and the warnings for the rest, in `projectfile.py`; where a path may lead
is decided by `trust.confine`. This module reads, checks and merges.
"""

from __future__ import annotations

import os
from pathlib import Path

from blackboxai.addresses import web_address
from blackboxai.config.locks import lock, unreadable
from blackboxai.config.options import (
    CONFIG_NAME,
    DEFAULTS,
    OPTIONS,
    Kind,
    Settings,
    Trust,
    env_name,
    ident,
)
from blackboxai.config.projectfile import (
    OFF,
    UNREADABLE,
    file_refusal,
    from_project,
    off_said,
    refused,
)
from blackboxai.config.trust import expand_home, git_root, valid_name
from blackboxai.policy import NO_POLICY, Policy
from blackboxai.terminal import shown
from blackboxai.yamlfile import ConfigError, describe, hashable, load_yaml

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "CONFIG_NAME",
    "OPTIONS",
    "ConfigError",
    "Settings",
    "config_files",
    "describe",
    "load_settings",
    "read_config",
]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _check(option: str, value: Any, where: str) -> Any:
    """Validate a value's type; raise ConfigError naming where it came from (`where`: a file
    and line, a variable, or the flag itself)."""
    checked, problem = _checked(option, value)
    if problem is not None:
        what = where if where == f"--{option}" else f"{where}: {option}"
        raise ConfigError(f"{what} {problem}")
    return checked


def _checked(option: str, value: Any) -> tuple[Any, str | None]:
    """The value in its option's shape (one path is a list of one), or what is wrong with it:
    "must be a string, not 1"."""
    spec = OPTIONS[option]
    if spec.kind is Kind.BOOL and not isinstance(value, bool):
        return None, f"must be true or false, not {describe(value)}"
    if spec.kind in (Kind.STR, Kind.PATH, Kind.URL) and not isinstance(value, str):
        return None, f"must be a string, not {describe(value)}"
    if spec.kind is Kind.URL and not web_address(value):
        return None, f"must be an http:// or https:// address, not {describe(value)}"
    if spec.kind is Kind.PATH and not value:
        return None, "needs a file name, not an empty string"
    if spec.kind is Kind.PATH and not valid_name(value):  # a NUL byte: no system can open it
        return None, f"names {describe(value)}, which is not a valid file name"
    if spec.kind is Kind.CHOICE and (not isinstance(value, str) or value not in spec.choices):
        return None, f"must be one of {', '.join(spec.choices)}, not {describe(value)}"
    if spec.kind is Kind.PATHS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return None, "must be a path or a list of paths"
        if not all(value):
            return None, "needs file names, not an empty string"
        bad = [v for v in value if not valid_name(v)]
        if bad:
            return None, f"names {describe(bad[0])}, which is not a valid file name"
        return tuple(value), None
    return value, None


def _parse_env(option: str, raw: str, var: str, home: Path) -> Any:
    kind = OPTIONS[option].kind
    if kind is Kind.BOOL:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{var} must be true or false, not {describe(raw)}")
    if kind is Kind.PATHS:
        return _check(option, tuple(expand_home(p, home) for p in raw.split(os.pathsep) if p), var)
    if kind is Kind.PATH:
        return _check(option, expand_home(raw, home), var)
    return _check(option, raw, var)


def read_config(
    path: Path, *, trusted: bool = True, home: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Parse one YAML file with the safe loader; return its valid options and warnings.

    Paths are made absolute against the file's directory, `~` against `home`. An untrusted
    (project) file's values go through `projectfile.from_project`: what it may not set is
    dropped, with a warning naming the file and line. So is a bad value there: one mistake in a
    cloned repository must not stop every command (a bad value in the user's own file is an
    error).
    """
    data, lines = load_yaml(path)
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        raise ConfigError(f"config file {shown(path)}: expected a mapping of option: value")
    home = Path.home() if home is None else home
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in data.items():
        line, item_lines = lines.get(hashable(key), ("?", []))
        at = f"config file {shown(path)}, line {line}"
        if not isinstance(key, str) or key not in OPTIONS:
            warnings.append(f"blackboxai: ignoring unknown option {describe(key)} in {at}")
            continue
        if not trusted and OPTIONS[key].trust is Trust.USER:
            warnings.append(refused(key, key, at, "cannot choose where data or keys go"))
            continue
        checked, problem = _checked(key, value)
        if problem is not None and trusted:
            raise ConfigError(f"{at}: {key} {problem}")
        if problem is not None:
            said = f"blackboxai: ignoring {key} in {at}: it {problem}"
            if OPTIONS[key].trust is Trust.PRIVATE:  # it may have said no: the private reading
                values["analytics"], said = False, f"{said}; {OFF}"
            warnings.append(said)
            continue
        if trusted:
            values[key] = _absolute(key, checked, path.parent, home)
            continue
        ats = [f"config file {shown(path)}, line {n}" for n in item_lines]
        kept = from_project(key, checked, path.parent, home, (at, ats), warnings)
        if kept is not None:
            values[key] = kept
    return values, warnings


def _absolute(option: str, value: Any, base: Path, home: Path) -> Any:
    """A path from a config file: `~` is the home, a relative one starts at the file's directory
    (so a git-root file means the same from every subdirectory)."""
    kind = OPTIONS[option].kind
    if kind is Kind.PATH:
        return str(base / expand_home(value, home))
    if kind is Kind.PATHS:
        return tuple(str(base / expand_home(entry, home)) for entry in value)
    return value


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
    cli: Mapping[str, object],
    *,
    env: Mapping[str, str],
    home: Path,
    cwd: Path | None = None,  # None: the process's current directory
    config: Path | None = None,
    policy: Policy = NO_POLICY,
) -> Settings:
    """Merge every source, later ones winning: defaults, YAML files, --config, env, command line,
    and above them all what the machine's `policy` locks (config/locks.py).

    `cli` holds what the command line gave, by option name; None means not given.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings = unreadable(policy)
    cwd = current_directory() if cwd is None else cwd
    for path, trusted in config_layers(cwd, home, config):
        refusal = None if trusted else file_refusal(path, home)
        if refusal is not None:
            warnings.append(refusal)
            continue
        try:
            found, notes = read_config(path, trusted=trusted, home=home)
        except ConfigError as exc:
            if trusted:
                raise
            # A clone's broken file must not stop every command, nor make things less private
            # than it may have meant: ignored, and analytics are off for this run.
            found, notes = {"analytics": False}, [f"blackboxai: {exc}; {UNREADABLE}"]
        warnings.extend(notes)
        values.update(found)
        sources.update({k: str(path) for k in found})
    for option, spec in OPTIONS.items():
        alias = spec.env_alias
        if alias and env.get(alias):
            values[option], sources[option] = env[alias], alias
    for option in OPTIONS:
        var = env_name(option)
        raw = env.get(var)
        if raw is not None and raw != "":
            values[option], sources[option] = _parse_env(option, raw, var, home), var
    for option, value in cli.items():
        if value is not None:
            values[option] = _check(option, value, f"--{option}")
            negated = value is False and OPTIONS[option].negatable
            sources[option] = f"--no-{option}" if negated else f"--{option}"
    warnings += lock(policy, values, sources)
    merged = {ident(o): values.get(o, default) for o, default in DEFAULTS.items()}
    warnings = off_said(warnings, values.get("analytics"), sources.get("analytics"))
    return Settings(**merged, sources=sources, warnings=tuple(warnings), policy=policy)
