"""The child scripts shared by sections 0, 2, 3 and 4, their settings, and the warm-up."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import (
    CHILD_TIMEOUT,
    KEY,
    TOKEN,
    Backend,
    Workspace,
    checked,
    run_child,
    wait_until,
)

__all__ = [
    "EVENTS_CHILD",
    "EXIT_CHILD",
    "EXIT_EVENTS",
    "MEMORY_CHILD",
    "SAME_PROCESS_CHILD",
    "child_cfg",
    "warm_up",
]

EXIT_EVENTS = 20

CHILD_COMMON = """\
import json, os, sys, time
cfg = json.loads(sys.argv[1])
# blackboxai's message_send as its catalogue describes it, recorded the same way by both sides.
PROPS = dict(main_model="gpt-4o-mini", edit_format="diff", prompt_tokens=1234,
             completion_tokens=56, total_tokens=1290, duration_s=0.235)

def make():
    if cfg["who"] == "ours":
        from blackboxai.analytics import Analytics
        a = Analytics(logfile=cfg["log"], posthog_host=cfg["url"],
                      posthog_project_api_key=cfg["key"], mixpanel_token=cfg["token"],
                      mixpanel_host=cfg["url"])
        if not a.opt_in() or not a.enable():
            raise SystemExit("could not opt in: " + str(a.last_error))
        return a
    from bench.baseline import BaselineAnalytics  # the child runs in the repository root
    return BaselineAnalytics(data_dir=cfg["data"], posthog_host=cfg["url"],
                             posthog_project_api_key=cfg["key"], mixpanel_token=cfg["token"],
                             mixpanel_host=cfg["url"], logfile=cfg["log"])

def finish(a):
    if cfg["who"] == "ours":
        a.close()
"""

EVENTS_CHILD = (
    CHILD_COMMON
    + """
a = make()
ev, pc = a.event, time.perf_counter
for _ in range(cfg["warmup"]):
    ev("message_send", **PROPS)
times = []
for _ in range(cfg["n"]):
    t = pc()
    ev("message_send", **PROPS)
    times.append(pc() - t)
times.sort()
n = len(times)
print("BENCH", json.dumps({"median": times[n // 2] * 1e6,
                           "p99": times[max(0, -(-99 * n // 100) - 1)] * 1e6,
                           "mean": sum(times) / n * 1e6}), flush=True)
finish(a)
"""
)

# Ours (log on, consented, both destinations), then a bare `posthog.capture` of the same
# properties, in one process: the same interpreter, warmed up alike. Each side runs in the
# conditions it makes itself: the PostHog client (and its consumer thread, which competes for the
# GIL with the caller) starts after ours was measured, as a program using one or the other has it.
SAME_PROCESS_CHILD = (
    CHILD_COMMON
    + """
import logging
pc = time.perf_counter

def measure(call):
    for _ in range(cfg["warmup"]):
        call()
    spent = []
    for _ in range(cfg["n"]):
        t = pc(); call(); spent.append(pc() - t)
    spent.sort()
    return spent[len(spent) // 2] * 1e6

ours = make()
out = {"ours": measure(lambda: ours.event("message_send", **PROPS))}
from posthog import Posthog
ph = Posthog(cfg["key"], host=cfg["url"], enable_exception_autocapture=False)
logging.getLogger("posthog").disabled = True
user = "0b0e5a3c-6d1f-4f0a-9f8b-2a7e6c9d1e0f"
out["posthog"] = measure(lambda: ph.capture("message_send", distinct_id=user, properties=PROPS))
print("BENCH", json.dumps(out), flush=True)
ours.close()
ph.shutdown()
"""
)

EXIT_CHILD = (
    CHILD_COMMON
    + """
a = make()
if cfg.get("marker"):
    open(cfg["marker"], "w").close()
t = time.perf_counter()
for i in range(cfg["n"]):
    a.event("message_send", **PROPS)
print("BENCH", json.dumps({"events_ms": (time.perf_counter() - t) * 1000}), flush=True)
t = time.perf_counter()
finish(a)
print("CLOSE", (time.perf_counter() - t) * 1000, flush=True)
"""
)

MEMORY_CHILD = (
    CHILD_COMMON
    + """
def status(name):
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])  # kB
    raise SystemExit("no " + name + " in /proc/self/status")

a = make()
rss0 = status("VmRSS")
for i in range(cfg["n"]):
    a.event("message_send", **PROPS)
hwm, rss1 = status("VmHWM"), status("VmRSS")
print("BENCH", json.dumps({"peak_mb": (hwm - rss0) / 1024, "rss_mb": (rss1 - rss0) / 1024}),
      flush=True)
finish(a)
if cfg["who"] != "ours":
    os._exit(0)  # skip the SDK's exit flush, which would wait on the silent host
"""
)


def child_cfg(home: Path, who: str, url: str, **extra: object) -> str:
    cfg = {
        "who": who,
        "url": url,
        "key": KEY,
        "token": TOKEN,
        "data": str(home / "baseline"),
        "log": str(home / "analytics.jsonl"),
        **extra,
    }
    return json.dumps(cfg)


def warm_up(ws: Workspace, backend: Backend) -> None:
    """Fill the bytecode cache for every module either side (and our uploader) imports."""
    for who in ("ours", "base"):
        home = ws.fresh()
        cfg = child_cfg(home, who, backend.url, n=EXIT_EVENTS)
        checked(run_child(EXIT_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), f"warm-up {who}")
    if not wait_until(lambda: len(backend.requests) >= 4, 30.0):  # 2 SDK batches + 2 uploads
        raise RuntimeError(f"warm-up: loopback got {backend.requests}, expected 4 requests")
