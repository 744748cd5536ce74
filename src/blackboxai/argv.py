"""The common session command line, read without Typer: `blackboxai [OPTIONS] [FILES]...`.

Importing Typer costs more CPU than the rest of a session's start-up together (bench/README.md),
so `cli.main()` tries this parser first. It reads only what it is sure of: the root options
from the registry (`--opt value`, `--opt=value`, `-m TEXT`, `-mTEXT`), files before, between and
after them, and `--`. Anything else (help, --version, a subcommand, an unknown option, a missing
value) returns None and goes to the Typer app, which reports it. tests/cli/test_argv.py checks that
both read every command line this one accepts alike: one behaviour, two speeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blackboxai.config.options import COMMANDS, OPTIONS, Kind, ident

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Invocation", "from_params", "parse", "suggest"]


@dataclass(frozen=True)
class Invocation:
    """A session's command line: the settings it gives (by option name; absent when not given),
    the files to chat about, and the options that exist only on the command line."""

    values: dict[str, object] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    message: str | None = None
    config: str | None = None
    exit_now: bool = False
    # The files came after `--`: names, never commands, whatever they say. Only the fast path
    # sees a `--` before the first file (Typer gets no such line), so it takes no part in ==.
    literal: bool = field(default=False, compare=False)


# flag -> (destination, action). Destinations are option names, or the command-line-only
# "message", "config" and "exit". Actions: "value", "append", or the constant a flag stores.
_LONG: dict[str, tuple[str, object]] = {
    "--message": ("message", "value"),
    "--config": ("config", "value"),
    "--exit": ("exit", True),
}
for _name, _spec in OPTIONS.items():
    if _spec.kind is Kind.BOOL:
        _LONG[f"--{_name}"] = (_name, True)
        if _spec.negatable:
            _LONG[f"--no-{_name}"] = (_name, False)
    else:
        _LONG[f"--{_name}"] = (_name, "append" if _spec.kind is Kind.PATHS else "value")
_SHORT = {"-m": "message", "-c": "config"}  # both take a value, attached (-mTEXT) or next


def parse(argv: Sequence[str]) -> Invocation | None:
    """The session that `argv` asks for, or None when the Typer app must read it."""
    values: dict[str, object] = {}
    extra: dict[str, object] = {}
    files: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            extra["literal"] = not files  # `-- analytics on` chats about two files
            files.extend(args[i:])
            break
        if arg == "-" or not arg.startswith("-"):
            files.append(arg)
            continue
        if arg.startswith("--"):
            flag, equals, attached = arg.partition("=")
            has_value = bool(equals)
            entry = _LONG.get(flag)
        else:  # -m TEXT, -mTEXT, -c FILE; a cluster of short flags goes to Typer
            flag, attached, has_value = arg[:2], arg[2:], len(arg) > 2
            entry = (_SHORT[flag], "value") if flag in _SHORT else None
        if entry is None:
            return None
        dest, action = entry
        target = values if dest in OPTIONS else extra
        if not isinstance(action, str):  # a flag: it stores a constant and takes no value
            if has_value:
                return None
            target[dest] = action
            continue
        if not has_value:
            if i == len(args):
                return None  # "requires an argument": Typer says so
            attached = args[i]  # taken even when it starts with "-", as click does
            i += 1
        target[dest] = (*_strs(target.get(dest)), attached) if action == "append" else attached
    if files and files[0] in COMMANDS and not extra.get("literal"):
        return None
    return _invocation(values, files, extra)


def _strs(value: object) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else ()


def _invocation(
    values: dict[str, object], files: Sequence[str], extra: Mapping[str, object]
) -> Invocation:
    message, config = extra.get("message"), extra.get("config")
    return Invocation(
        values,
        tuple(files),
        message=message if isinstance(message, str) else None,
        config=config if isinstance(config, str) else None,
        exit_now=extra.get("exit") is True,
        literal=extra.get("literal") is True,
    )


def from_params(params: Mapping[str, object], files: Sequence[str]) -> Invocation:
    """The same Invocation from the Typer root's parameters (`ctx.params`), where a flag that
    was not given is False and a list that was not given is None or empty."""
    values: dict[str, object] = {}
    for name, spec in OPTIONS.items():
        value = params.get(ident(name))
        if spec.kind is Kind.PATHS:
            value = tuple(value) if isinstance(value, (list, tuple)) and value else None
        if value is None or (value is False and not spec.negatable):
            continue
        values[name] = value
    extra = {"message": params.get("message"), "config": params.get("config")}
    return _invocation(values, files, {**extra, "exit": params.get("exit_")})


def suggest(word: str) -> str | None:
    """The command a file name probably meant (`status` -> `blackboxai analytics status`), or
    None. Only bare words are candidates: `notes.md` or `src/status` are files, whatever."""
    if not word or not all(c.isalpha() or c in "-_" for c in word):
        return None
    typed = word.lower().replace("_", "-")
    for group, commands in COMMANDS.items():
        if _near(typed, group):
            return f"blackboxai {group}"
        for command in commands:
            if _near(typed, command):
                return f"blackboxai {group} {command}"
    if typed in ("help", "version"):
        return f"blackboxai --{typed}"
    return None


def _near(typed: str, name: str) -> bool:
    """Equal, or one slip away for names of five letters or more (`analytic`, `stauts`)."""
    return typed == name or (len(name) >= 5 and _distance(typed, name) <= 1)


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) between two short words."""
    if abs(len(a) - len(b)) > 1:
        return 2
    previous: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        earlier, previous, row = previous, row, [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], earlier[j - 2] + 1)
    return row[-1]
