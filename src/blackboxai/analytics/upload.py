"""The detached uploader: what a run needs to know, how a session starts one, its entry point."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from blackboxai.analytics.defaults import (
    UPLOAD_CONNECT_TIMEOUT,
    UPLOAD_LIFETIME,
    UPLOAD_LOCK_WAIT,
    UPLOAD_REQUEST_TIMEOUT,
    UPLOAD_SEND_TIME,
)

if TYPE_CHECKING:
    from blackboxai.analytics.outcome import Outcome

__all__ = ["UploadConfig", "deliver", "main"]

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
    its spooled record, so no destination is named here."""

    data_dir: str
    connect_timeout: float = UPLOAD_CONNECT_TIMEOUT
    request_timeout: float = UPLOAD_REQUEST_TIMEOUT  # the whole request, and each read in it
    lock_wait: float = UPLOAD_LOCK_WAIT  # for a run already under way to finish
    send_time: float = UPLOAD_SEND_TIME  # from getting the lock to the end of the run

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> UploadConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)} - {"data_dir"}
        bounds = {k: float(v) for k, v in data.items() if k in known}
        return cls(str(data["data_dir"]), **bounds)


def deliver(config: UploadConfig, **seams: Any) -> Outcome:
    """Run a delivery in this process (`analytics send`; the uploader). Imported on use, so a
    session that only launches the uploader never loads the delivery modules."""
    from blackboxai.analytics.deliver import deliver as run

    return run(config, **seams)


def main() -> int:
    """Entry point of the detached process: never raises, never prints, ends by its lifetime."""
    try:
        import logging
        import signal
        import warnings

        warnings.simplefilter("ignore")
        # A backstop: a run ends well before by its own bounds. Without SIGALRM (Windows), a
        # daemon timer ends the process just the same.
        if hasattr(signal, "alarm"):
            signal.alarm(UPLOAD_LIFETIME)
        else:
            import threading

            timer = threading.Timer(UPLOAD_LIFETIME, os._exit, (1,))
            timer.daemon = True
            timer.start()
        for name in ("posthog", "mixpanel", "urllib3", "requests"):
            logging.getLogger(name).disabled = True
        try:
            config = UploadConfig.from_json(os.environ[CONFIG_ENV])
        except (KeyError, ValueError, TypeError, AttributeError):  # not a config of ours
            return 2
        deliver(config)
        return 0
    except Exception:
        return 1


if __name__ == "__main__":
    sys.exit(main())
