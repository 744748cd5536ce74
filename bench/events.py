"""Section 2: what one event() call costs the caller, ours against the baseline."""

from __future__ import annotations

import json
import statistics

from bench.children import EVENTS_CHILD, SAME_PROCESS_CHILD, child_cfg
from bench.common import (
    CHILD_TIMEOUT,
    TOKEN,
    Backend,
    Sizes,
    Workspace,
    checked,
    run_child,
    settle_uploader,
)
from bench.report import Measure, Report

__all__ = ["measure_events", "measure_same_process"]


def events_run(ws: Workspace, who: str, n: int, backend: Backend, *, mixpanel: bool = True) -> dict:
    home = ws.fresh()
    cfg = child_cfg(home, who, backend.url, n=n, warmup=20, token=TOKEN if mixpanel else None)
    run = checked(run_child(EVENTS_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), f"events {who}")
    if who == "ours":
        settle_uploader(home)
    return json.loads(run.bench())


def measure_events(ws: Workspace, sizes: Sizes, backend: Backend, report: Report) -> None:
    n = sizes.events
    rounds: dict[str, list[dict]] = {"ours": [], "full": [], "ph": []}
    for _ in range(sizes.event_rounds):  # alternated, so a noisy spell hits both sides
        rounds["ours"].append(events_run(ws, "ours", n, backend))
        rounds["full"].append(events_run(ws, "base", n, backend))
        rounds["ph"].append(events_run(ws, "base", n, backend, mixpanel=False))

    def stat(side: str, key: str) -> float:
        return statistics.median(r[key] for r in rounds[side])

    def per_round(side: str) -> str:
        return "/".join(f"{r['median']:.0f}" for r in rounds[side])

    tag = (
        f"{n} events per run, log on, ok loopback; median of {sizes.event_rounds} alternated "
        f"runs per side (run medians, us: ours {per_round('ours')}, baseline full "
        f"{per_round('full')}, PostHog only {per_round('ph')})"
    )
    for ident, what, side, key in (
        ("2a", "median vs baseline log+PostHog+Mixpanel", "full", "median"),
        ("2b", "p99 vs baseline log+PostHog+Mixpanel", "full", "p99"),
        ("2c", "median vs baseline log+PostHog only", "ph", "median"),
        ("2d", "p99 vs baseline log+PostHog only", "ph", "p99"),
        ("2e", "mean vs baseline log+PostHog only", "ph", "mean"),
    ):
        report.add(
            Measure(
                ident,
                f"event() {what}",
                "us",
                stat("ours", key),
                stat(side, key),
                note=tag if ident == "2a" else "",
            )
        )


def measure_same_process(ws: Workspace, sizes: Sizes, backend: Backend, report: Report) -> None:
    """2f: ours (with the audit log on) against a bare `posthog.capture` of the same catalogued
    properties, one after the other in one process."""
    runs = []
    # More runs than 2a-2e: each side is timed for a fraction of a second, and this machine's
    # speed moves by half from one second to the next; the median of 7 rides that out.
    for _ in range(2 * sizes.event_rounds + 1):
        home = ws.fresh()
        cfg = child_cfg(home, "ours", backend.url, n=sizes.events, warmup=200)
        run = checked(run_child(SAME_PROCESS_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), "2f")
        settle_uploader(home)
        runs.append(json.loads(run.bench()))
    shown = ", ".join(f"{r['ours']:.1f}/{r['posthog']:.1f}" for r in runs)
    report.add(
        Measure(
            "2f",
            "event() median vs posthog.capture, one process",
            "us",
            statistics.median(r["ours"] for r in runs),
            statistics.median(r["posthog"] for r in runs),
            note=f"{sizes.events} calls a side, ours first, log on; median of {len(runs)} runs "
            f"(ours/posthog per run, us: {shown})",
        )
    )
