"""Starting the detached uploader: what a run needs to know, and the process that runs it.

A session never waits for it and never imports what it imports: the command line below runs
`blackboxai.analytics.upload.main()` in a new process, with the run's bounds in its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from blackboxai.analytics.defaults import (
    UPLOAD_CONNECT_TIMEOUT,
    UPLOAD_LOCK_WAIT,
    UPLOAD_REQUEST_TIMEOUT,
    UPLOAD_SEND_TIME,
)

if TYPE_CHECKING:
    from blackboxai.policy import Policy

__all__ = ["BOOTSTRAP", "CONFIG_ENV", "Launched", "Launcher", "UploadConfig", "spawn_uploader"]

CONFIG_ENV = "BLACKBOXAI_UPLOAD_CONFIG"
# `python -m` and `-c` put the working directory first on sys.path, and a session's working
# directory is a project that may not be trusted: a `posthog/` or `requests.py` there must
# never be imported. Drop that entry before importing anything (`-P` exists only from 3.11).
BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "from blackboxai.analytics.upload import main; sys.exit(main())"
)


@dataclass(frozen=True)
class UploadConfig:
    """Where the waiting events are, and the bounds of a run. Where each event goes travels in
    its spooled record, so no destination is named here; only the services the machine's policy
    turned off (`analytics-hosted: false`, named by `policy`): what waits for them stays, unsent.
    What the policy alone sends (its analytics-otlp-required) goes only while the file still
    requires it; `required` is that answer for a policy made in code (there is no file).
    `machine`: the policy is this machine's, which the run looks up afresh (one may have
    arrived, or changed, since the session began)."""

    data_dir: str
    connect_timeout: float = UPLOAD_CONNECT_TIMEOUT
    request_timeout: float = UPLOAD_REQUEST_TIMEOUT  # the whole request, and each read in it
    lock_wait: float = UPLOAD_LOCK_WAIT  # for a run already under way to finish
    send_time: float = UPLOAD_SEND_TIME  # from getting the lock to the end of the run
    turned_off: tuple[str, ...] = ()
    policy: str | None = None
    required: bool = False
    machine: bool = False

    @classmethod
    def under(cls, data_dir: Path | str, policy: Policy, **bounds: float) -> UploadConfig:
        """A run for the events in `data_dir` (LookupError when it is why there is none), under
        the machine's `policy`, within `bounds` (the timeouts above)."""
        from blackboxai.policy import HOSTED

        if isinstance(data_dir, str):
            raise LookupError(data_dir)
        return cls(
            str(data_dir),
            **bounds,
            turned_off=() if policy.hosted else HOSTED,
            policy=policy.path,
            required=policy.path is None and policy.otlp_required,
            machine=policy.machine,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> UploadConfig:
        """Raises ValueError (or KeyError, TypeError) for anything but a config of ours: a run
        that cannot tell which services are off sends nothing."""
        data = json.loads(text)
        others = {"data_dir", "turned_off", "policy", "required", "machine"}
        known = {f.name for f in fields(cls)} - others
        bounds = {k: float(v) for k, v in data.items() if k in known}
        off, policy = data.get("turned_off", []), data.get("policy")
        if not isinstance(off, list) or not all(isinstance(name, str) for name in off):
            raise ValueError("turned_off must be a list of service names")
        if policy is not None and not isinstance(policy, str):
            raise ValueError("policy must be a file name")
        return cls(
            str(data["data_dir"]),
            **bounds,
            turned_off=tuple(off),
            policy=policy,
            required=data.get("required", False) is True,
            machine=data.get("machine", False) is True,
        )


class Launched(Protocol):
    """A started uploader: `poll()` is None while it runs (subprocess.Popen has it)."""

    def poll(self) -> int | None: ...


Launcher = Callable[[UploadConfig], "Launched | None"]


def spawn_uploader(config: UploadConfig) -> Launched:
    """Start the uploader detached: its own session (process group on Windows), stdio on the
    null device, the delivery settings in its environment. Nothing waits for it.

    `subprocess` is imported with this module, when a session first has events to queue: a
    hand-over at exit (or from a collected object) never imports anything."""
    env = {**os.environ, CONFIG_ENV: config.to_json()}
    flags = 0
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI job
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
    return subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=sys.platform != "win32",
        creationflags=flags,
    )
