"""On PYTHONPATH with NONPOSIX=1: every Python process started so (tests, CLI, uploader) runs
without POSIX-only calls, from its first line (see nonposix.py)."""

import os

if os.environ.get("NONPOSIX") == "1":
    import nonposix

    nonposix.apply()
