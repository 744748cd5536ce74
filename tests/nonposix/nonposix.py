"""Our code as Windows would run it: POSIX-only modules and calls do not exist for blackboxai.

`apply()` runs at interpreter start-up (sitecustomize.py beside this file, on PYTHONPATH),
before anything of ours is imported. From then on, any module named blackboxai or blackboxai.*
that imports `os` or `signal` gets a view without the names below, and importing fcntl,
termios, tty, pty, pwd, grp or resource fails as it does on Windows. `getattr(os, name, d)`,
`hasattr` and `from os import name` all see the view.

Only our modules get the view. The libraries under us (filelock, platformdirs, subprocess,
pytest) still run their POSIX implementations, which on Windows would be their Windows ones:
hiding fcntl from filelock, say, would make it fall back to a lock *file* that a killed holder
leaves behind for ever, which is not what a Windows user gets (an msvcrt lock the OS releases).
`sys.platform` stays "linux": code behind `sys.platform == "win32"` runs only on Windows CI.
"""

from __future__ import annotations

import builtins
import os
import signal
import types
from typing import Any

__all__ = ["HIDDEN_MODULES", "HIDDEN_OS", "HIDDEN_SIGNAL", "apply", "view"]

HIDDEN_MODULES = frozenset({"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource"})

# In the os module on Linux and macOS, not in Windows CPython 3.10 and 3.11 (set_blocking and
# get_blocking came to Windows in 3.12, for pipes only).
HIDDEN_OS = frozenset(
    {
        *("pread", "pwrite", "preadv", "pwritev", "sendfile", "pipe2"),
        *("posix_spawn", "posix_spawnp", "POSIX_SPAWN_OPEN", "POSIX_SPAWN_CLOSE"),
        *("POSIX_SPAWN_DUP2", "fork", "forkpty", "openpty", "register_at_fork"),
        *("wait", "wait3", "wait4", "WNOHANG", "WUNTRACED", "WCONTINUED"),
        *("O_NONBLOCK", "O_NOFOLLOW", "O_CLOEXEC", "O_NOCTTY", "O_DIRECTORY"),
        *("O_SYNC", "O_DSYNC", "set_blocking", "get_blocking"),
        *("uname", "setsid", "getsid", "setpgid", "getpgid", "setpgrp", "getpgrp", "killpg"),
        *("getuid", "geteuid", "getgid", "getegid", "getgroups", "setuid", "setgid"),
        *("chown", "fchown", "lchown", "fchmod", "mkfifo", "mknod", "statvfs", "fstatvfs"),
        *("sync", "getloadavg", "nice", "ttyname", "sched_getaffinity"),
    }
)

# Windows has SIGINT, SIGTERM, SIGABRT, SIGFPE, SIGILL, SIGSEGV and SIGBREAK, and no timers.
HIDDEN_SIGNAL = frozenset(
    {
        *("SIGHUP", "SIGALRM", "SIGQUIT", "SIGPIPE", "SIGUSR1", "SIGUSR2", "SIGCHLD"),
        *("SIGCONT", "SIGSTOP", "SIGTSTP", "SIGWINCH", "SIGKILL"),
        *("alarm", "pause", "setitimer", "getitimer", "ITIMER_REAL", "siginterrupt"),
        *("sigwait", "pthread_kill", "pthread_sigmask"),
    }
)


def view(module: types.ModuleType, hidden: frozenset[str]) -> types.ModuleType:
    """A module that forwards to `module` (monkeypatches of it included) except for `hidden`."""
    shown = types.ModuleType(module.__name__, module.__doc__)

    def __getattr__(name: str) -> Any:
        if name in hidden:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
        return getattr(module, name)

    shown.__getattr__ = __getattr__  # type: ignore[method-assign]  # PEP 562
    return shown


_VIEWS = {"os": view(os, HIDDEN_OS), "signal": view(signal, HIDDEN_SIGNAL)}
_real_import = builtins.__import__


def _ours(importer: object) -> bool:
    return isinstance(importer, str) and (
        importer == "blackboxai" or importer.startswith("blackboxai.")
    )


def _import(
    name: str,
    globals: dict[str, Any] | None = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    if level == 0 and _ours((globals or {}).get("__name__")):
        top = name.partition(".")[0]
        if top in HIDDEN_MODULES:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        if top in _VIEWS:
            module = _real_import(name, globals, locals, fromlist, level)
            if name == top or not fromlist:  # `import os`, `import os.path`, `from os import x`
                return _VIEWS[top]
            return module  # `from os.path import x`
    return _real_import(name, globals, locals, fromlist, level)


def apply() -> None:
    """Install the view for our modules; idempotent."""
    builtins.__import__ = _import
