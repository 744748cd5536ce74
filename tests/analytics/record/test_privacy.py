"""docs/privacy.md's promise, end to end: whatever a library caller passes as a property value,
no code, key, email, path or private model name reaches the audit log, the spool or
`analytics pending` (the leaks an adversarial review reproduced, through the public API)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blackboxai.analytics import Analytics
from blackboxai.analytics.queue.launch import UploadConfig
from blackboxai.analytics.queue.spool import Spool
from tests.support import REPO

HOST = "http://127.0.0.1:9"  # nothing listens there; the uploader is never started anyway
FINE_TUNE = "ft:gpt-4o:my-org:secret"
SALARIES = "/srv/acme-payroll/salaries-2025.xlsx"

# (event, property, value) as a careless caller might pass them; catalogued free-text properties.
CALLS: dict[str, tuple[str, str, object]] = {
    "exception-text": (
        "edit_failed",
        "reason",
        str(FileNotFoundError(2, "No such file", SALARIES)),
    ),
    "exception": ("edit_failed", "reason", FileNotFoundError(2, "No such file", SALARIES)),
    "url-credentials": ("api_error", "error_class", "https://admin:hunter2@10.0.0.5:8080/v1"),
    "query-secret": ("api_error", "error_class", "https://h.example/v1?api_key=abcd1234efgh5678"),
    "assignment": ("edit_failed", "reason", "password=hunter2hunter2"),
    "root-home": ("edit_failed", "reason", "/root/.ssh/id_rsa"),
    "relative": ("edit_failed", "reason", "src/acme/customer_list.py"),
    "windows": ("edit_failed", "reason", "D:\\clients\\acme\\contract.docx"),
    "home-with-a-space": ("edit_failed", "reason", "/Users/ann smith/x.py"),
    "path-object": ("edit_failed", "reason", Path(SALARIES)),
    "fine-tune-in-a-dict": ("model warning", "main_model", {"model": FINE_TUNE}),
    "fine-tune-in-a-list": ("command_model", "main_model", ["gpt-4o", FINE_TUNE]),
    "fine-tune-as-text": ("exit", "reason", f"switched to {FINE_TUNE}"),
    "basic-auth": ("api_error", "error_class", "Authorization: Basic YW5uOmh1bnRlcjI= rejected"),
    "quoted-password": ("edit_failed", "reason", 'password="hunter 2 with spaces"'),
    "scp": ("edit_failed", "reason", "ann@buildhost:/srv/x"),
}
FORBIDDEN = (
    "acme", "salaries", "hunter2", "admin", "abcd1234", "id_rsa", ".ssh", "customer", "clients",
    "smith", "my-org", "YW5uOmh1bnRlcjI", "spaces", "buildhost",
)  # fmt: skip


def launcher(config: UploadConfig) -> None:
    """Stands in for the uploader: nothing leaves the machine in these tests."""


def record(data_dir: Path, log: Path, event: str, prop: str, value: object) -> None:
    other = Analytics(data_dir=data_dir)
    assert other.opt_in()
    analytics = Analytics(
        data_dir=data_dir,
        posthog_host=HOST,
        posthog_project_api_key="phc_test",
        env={},
        tty=False,
        launcher=launcher,
        logfile=log,
    )
    assert analytics.enable()
    analytics.event(event, **{prop: value})
    analytics.close()


@pytest.mark.parametrize(("event", "prop", "value"), CALLS.values(), ids=CALLS.keys())
def test_a_careless_value_never_reaches_the_log_the_spool_or_pending(
    data_dir: Path, tmp_path: Path, cli: Any, event: str, prop: str, value: object
) -> None:
    log = tmp_path / "audit.jsonl"
    record(data_dir, log, event, prop, value)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    spooled = list(Spool(data_dir).records())
    assert [r["event"] for r in logged] == [event] and [r["event"] for r in spooled] == [event]
    assert logged[0]["properties"][prop] == spooled[0]["properties"][prop]
    pending = cli("analytics", "pending")
    assert pending.returncode == 0, pending.stderr
    assert [json.loads(line)["id"] for line in pending.stdout.splitlines()] == [spooled[0]["id"]]
    for text in (log.read_text(), pending.stdout, json.dumps(spooled)):
        assert not [word for word in FORBIDDEN if word in text], text


def test_what_the_reproduced_leaks_become(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    for event, prop, value in CALLS.values():
        record(data_dir, log, event, prop, value)
    got = [
        r["properties"][prop]
        for r, (_, prop, _) in zip(
            (json.loads(line) for line in log.read_text().splitlines()), CALLS.values(), strict=True
        )
    ]
    assert dict(zip(CALLS, got, strict=True)) == {
        "exception-text": "[Errno 2] No such file: '<path>'",
        "exception": "FileNotFoundError",
        "url-credentials": "<url>",
        "query-secret": "<url>",
        "assignment": "password=<secret>",
        "root-home": "<path>",
        "relative": "<path>",
        "windows": "<path>",
        "home-with-a-space": "<path>",
        "path-object": "<path>",
        "fine-tune-in-a-dict": '{"model":"openai/REDACTED"}',
        "fine-tune-in-a-list": '["gpt-4o","openai/REDACTED"]',
        "fine-tune-as-text": "switched to openai/REDACTED",
        "basic-auth": "Authorization: Basic <secret> rejected",
        "quoted-password": 'password="<secret>"',
        "scp": "<email>:<path>",
    }


# Builds a list of 4000 references to a list of 4000 references to a list of 4000 strings:
# 100 KB in memory, 64 billion strings if read item by item (an adversarial review's event()
# never returned). In a child process, so that a regression fails on the timeout (a guard, not a
# measurement) instead of hanging the suite.
SHARED = """
import sys
from pathlib import Path
from tests.analytics.record.test_privacy import record

shared = ["a"] * 4000
shared = [shared] * 4000
shared = [shared] * 4000
record(Path(sys.argv[1]), Path(sys.argv[2]), "edit_failed", "reason", shared)
"""


def test_a_container_of_shared_references_is_recorded_bounded(
    data_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    root = REPO
    argv = [sys.executable, "-c", SHARED, str(data_dir), str(log)]
    subprocess.run(argv, cwd=root, check=True, timeout=120)
    [logged] = [json.loads(line) for line in log.read_text().splitlines()]
    reason = logged["properties"]["reason"]
    assert reason.startswith('[[["a","a","a",') and len(reason) == 1000


def test_a_url_through_the_home_goes_whole_to_the_log(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/ann")
    log = tmp_path / "audit.jsonl"
    url = "ssh://git@gitlab.acme.com/home/ann/acme-billing.git"
    record(data_dir, log, "edit_failed", "reason", f"push to {url} failed")
    [logged] = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged["properties"]["reason"] == "push to <url> failed"
    assert "acme" not in log.read_text()


class _ExitOnAnyAttribute:
    def __getattr__(self, name: str) -> object:
        raise SystemExit(3)


class _ExitOnStr:
    def __str__(self) -> str:
        raise SystemExit(1)

    def __hash__(self) -> int:
        return 1


class _NameRaises:
    @property
    def name(self) -> str:
        raise RuntimeError("/home/ann/acme")


class _InterruptOnAnyAttribute:
    def __getattr__(self, name: str) -> object:
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("reason", _ExitOnAnyAttribute(), "<unprintable>"),
        ("main_model", _ExitOnAnyAttribute(), "<unprintable>"),
        ("reason", {_ExitOnStr(): 1}, '{"<unprintable>":1}'),
        ("reason", _NameRaises(), "<unprintable>"),
        ("reason", [_NameRaises(), _ExitOnAnyAttribute()], '["<unprintable>","<unprintable>"]'),
    ],
    ids=["getattr-exits", "model-getattr-exits", "key-str-exits", "name-raises", "in-a-list"],
)
def test_a_caller_object_raising_anything_never_leaves_event(
    data_dir: Path, tmp_path: Path, prop: str, value: object, expected: str
) -> None:
    log = tmp_path / "audit.jsonl"
    record(data_dir, log, "edit_failed", prop, value)
    [logged] = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged["properties"][prop] == expected


def test_a_keyboard_interrupt_from_a_caller_object_is_the_users_and_goes_through(
    data_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        record(
            data_dir, tmp_path / "audit.jsonl", "edit_failed", "reason", _InterruptOnAnyAttribute()
        )
