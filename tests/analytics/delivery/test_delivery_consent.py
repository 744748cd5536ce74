"""Consent is continuous: a real uploader waiting to retry stops when the user opts out, resets
the id or clears the queue through the real CLI, and never sends the batch again."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from blackboxai.analytics.delivery.outcome import LAST_FILE
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import Backend
from tests.support import posthog_at, spooled, start_uploader

RETRY_AFTER = 8  # what the server asks; the uploader must be gone well before it has passed

COMMANDS = {
    "opt-out": ("analytics", "off"),
    "reset-id": ("analytics", "reset-id"),
    "clear": ("analytics", "pending", "--clear"),
}


@pytest.mark.parametrize("change", COMMANDS)
def test_a_change_of_consent_during_a_retry_after_wait_stops_the_uploader_at_once(
    cli, data_dir: Path, backend: Backend, change: str
) -> None:
    spooled(data_dir, 5, to=[posthog_at(backend.url)])
    backend.fail(503, retry_after=RETRY_AFTER, path="/batch/")
    uploader = start_uploader(data_dir)
    try:
        assert backend.wait_until(lambda: len(backend.answers) == 1)  # it is waiting now
        done = cli(*COMMANDS[change])
        assert done.returncode == 0, done.stderr
        changed = time.monotonic()
        # Ends at its next look at consent: long before the server's Retry-After runs out.
        assert uploader.wait(timeout=RETRY_AFTER - 2) == 0
        took = time.monotonic() - changed
    except subprocess.TimeoutExpired:
        pytest.fail(f"the uploader kept waiting to resend after `{' '.join(COMMANDS[change])}`")
    finally:
        uploader.kill()
        uploader.wait()
    assert backend.requests == ["/batch/"] and backend.posthog == []  # never sent again
    assert Spool(data_dir).count() == 0 and list(data_dir.glob("claimed-*")) == []
    last = json.loads((data_dir / LAST_FILE).read_text())
    assert last["discarded"] == 5 and not last.get("sent") and not last.get("kept")
    print(f"uploader ended {took:.2f} s after `{' '.join(COMMANDS[change])}`")
