"""One YAML settings file read safely: its data and each key's line, or a one-line ConfigError.
A key set twice is an error (YAML requires unique keys; PyYAML would keep the last silently).

The config files (config/) and the machine's policy (policy/) are read by this one reader, with
the same bounds: config/ and analytics/ may not import each other, and the policy serves both.
Messages describe bad values and paths briefly (`terminal.shown`): a YAML alias can stand for
millions of strings, and a path can be thousands of characters long.
"""

from __future__ import annotations

from blackboxai.terminal import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ConfigError", "describe", "hashable", "load_yaml"]

_SHOWN = 60  # at most this much of a bad value goes into a message
_MAX_BYTES = 1 << 20  # a settings file is a few lines: far more is not one to parse


class ConfigError(Exception):
    """Bad configuration: one line naming the file (and line) or the variable."""


def describe(value: object) -> str:
    """A bad value, briefly: a container only by its kind (YAML aliases can make it huge)."""
    if isinstance(value, (dict, list, set)):
        return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large number"  # repr() even refuses past 4300 digits
    text = repr(value[: _SHOWN + 1] if isinstance(value, (str, bytes)) else value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def load_yaml(
    path: Path, what: str = "config file"
) -> tuple[object, dict[object, tuple[int, list[int]]]]:
    """The file's data and, by top-level key, its line and its list items' lines. `what` names
    the file in messages ("config file", "policy file")."""
    import yaml

    try:
        text = _read(path, what)
    except IsADirectoryError:
        raise ConfigError(f"{what} {shown(path)} is a directory") from None
    except FileNotFoundError:
        raise ConfigError(f"{what} {shown(path)} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {shown(path)} cannot be read: {exc.reason}") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__  # str(exc) would repeat the whole path
        raise ConfigError(f"{what} {shown(path)} cannot be read: {why}") from None
    try:
        data = yaml.safe_load(text)
        return data, _lines(yaml.compose(text, Loader=yaml.SafeLoader), f"{what} {shown(path)}")
    except RecursionError:
        raise ConfigError(f"{what} {shown(path)}: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # good YAML that Python refuses: 2024-13-45
        reason = str(exc).split(";")[0].split(":")[0][:_SHOWN]
        raise ConfigError(f"{what} {shown(path)}: a value is out of range ({reason})") from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, but a position
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"{what} {shown(path)}, line {line}: special characters are not allowed"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{what} {shown(path)}{where}: {problem}") from None


def _read(path: Path, what: str) -> str:
    """The file's text, newlines translated as read_text() would. Opened without blocking: a
    named pipe that nothing writes reads as empty, never waits; one with a writer (`--config
    <(...)`) is read. A device is refused, and nothing is read past _MAX_BYTES (/dev/zero)."""
    import os
    import stat

    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as file:  # closes fd
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if stat.S_ISCHR(info.st_mode) and info.st_rdev == os.stat(os.devnull).st_rdev:
            return ""  # `--config /dev/null`: the usual way to say "nothing more"
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
            raise ConfigError(f"{what} {shown(path)} is a device, not a file")
        if nonblock:
            os.set_blocking(fd, True)  # a pipe with a writer: wait for what it writes
        data = file.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise ConfigError(f"{what} {shown(path)} is too large to be a settings file")
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def hashable(key: object) -> object:
    try:
        hash(key)
    except TypeError:
        return repr(key)
    return key


def _lines(node: object, where: str) -> dict[object, tuple[int, list[int]]]:
    """Each top-level key's line and its list items' lines, by constructed key (so `null:` and
    `1.5:` work too); a key set twice is a ConfigError naming both lines (`where`: the file,
    as messages name it). Walks nodes only: an alias is one node, however much it stands for."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}
    loader = yaml.SafeLoader("")
    lines: dict[object, tuple[int, list[int]]] = {}
    nodes: dict[object, object] = {}  # each key's node: an alias is the same node again
    merge: int | None = None  # the line of a `<<:` merge key
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<:` twice: which one was meant?
            if merge is not None:
                raise ConfigError(
                    f"{where}, line {line}: '<<' is set twice (first on line {merge})"
                )
            merge = line
            continue
        try:
            key = loader.construct_object(key_node, deep=True)
        except yaml.YAMLError:
            continue
        first = lines.get(hashable(key))
        if first is not None:
            again = (
                f"line {first[0]}: {describe(key)} is set twice (again through an alias)"
                if nodes.get(hashable(key)) is key_node
                else f"line {line}: {describe(key)} is set twice (first on line {first[0]})"
            )
            raise ConfigError(f"{where}, {again}")
        items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        lines[hashable(key)] = (line, [n.start_mark.line + 1 for n in items])
        nodes[hashable(key)] = key_node
    return lines
