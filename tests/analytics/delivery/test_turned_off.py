"""The uploader honours `analytics-hosted: false` (#21): events waiting for a service the machine's
policy turned off are not sent, even those recorded before the policy came; they wait, and the run
says why. The real uploader process against the loopback stand-in of both services."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from blackboxai.analytics.queue.launch import BOOTSTRAP, CONFIG_ENV, UploadConfig
from blackboxai.analytics.queue.spool import Spool
from tests.loopback import Backend
from tests.support import config, mixpanel_at, posthog_at, spooled, wait_for_last

POLICY = "/etc/xdg/blackboxai/policy.yml"


def run_uploader(text: str) -> int:
    env = {**os.environ, CONFIG_ENV: text}
    return subprocess.run([sys.executable, "-c", BOOTSTRAP], env=env, timeout=60).returncode


def test_a_service_the_policy_turned_off_gets_nothing_and_its_events_wait(
    data_dir: Path, backend: Backend
) -> None:
    spooled(data_dir, 3, to=[posthog_at(backend.url), mixpanel_at(backend.url)])
    off = dataclasses.replace(config(data_dir), turned_off=("posthog",), policy=POLICY)
    assert run_uploader(off.to_json()) == 0
    last = wait_for_last(data_dir)
    assert len(backend.mixpanel) == 3  # the run could send, and did, where it may
    assert backend.posthog == [] and "/batch/" not in backend.requests
    assert (last["sent"], last["kept"]) == ({"mixpanel": 3}, {"posthog": 3})
    assert last["errors"] == {"posthog": f"turned off by {POLICY}"}
    assert Spool(data_dir).count() == 3  # still waiting, for PostHog alone


def test_a_config_that_cannot_say_what_is_off_sends_nothing(
    data_dir: Path, backend: Backend
) -> None:
    spooled(data_dir, 2, to=[posthog_at(backend.url)])
    body = json.loads(config(data_dir).to_json())
    body["turned_off"] = "posthog"  # not a list: which services are off cannot be told
    assert run_uploader(json.dumps(body)) == 2
    assert backend.requests == [] and Spool(data_dir).count() == 2


def test_a_config_round_trips_with_what_is_off() -> None:
    sent = UploadConfig("/d", lock_wait=2.0, turned_off=("posthog", "mixpanel"), policy=POLICY)
    assert UploadConfig.from_json(sent.to_json()) == sent
    assert UploadConfig.from_json(json.dumps({"data_dir": "/d"})).turned_off == ()
