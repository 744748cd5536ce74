"""The detached uploader's entry point: one delivery run, never raising, never printing.

A session starts it with `queue.launch.spawn_uploader`; an embedding program with a launcher of
its own runs `main()` with `UploadConfig.to_json()` in the BLACKBOXAI_UPLOAD_CONFIG variable.
"""

from __future__ import annotations

import os
import sys

from blackboxai.analytics.defaults import UPLOAD_LIFETIME
from blackboxai.analytics.queue.launch import CONFIG_ENV, UploadConfig

__all__ = ["main"]


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
        from blackboxai.analytics.delivery.run import deliver

        deliver(config)
        return 0
    except Exception:
        return 1


if __name__ == "__main__":
    sys.exit(main())
