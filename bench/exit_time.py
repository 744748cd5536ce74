"""Section 3: time a process adds at exit after sending events, with silent and refused backends."""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass, field

from bench.children import EXIT_CHILD, EXIT_EVENTS, child_cfg
from bench.common import (
    CHILD_TIMEOUT,
    TOKEN,
    Backend,
    Background,
    Sizes,
    Workspace,
    checked,
    refused_url,
    run_child,
    settle_uploader,
    wait_until,
)
from bench.report import Measure, Report

__all__ = ["measure_exit"]


@dataclass
class ExitRuns:
    walls: list[float] = field(default_factory=list)  # ms, whole process
    events: list[float] = field(default_factory=list)  # ms in the event() calls, in the child
    close: list[float] = field(default_factory=list)  # ms in close() (ours), in the child

    def median(self) -> float:
        return statistics.median(self.walls)

    def inside(self) -> str:
        return (
            f"{statistics.median(self.events):.1f} ms in the event() calls, "
            f"{statistics.median(self.close):.1f} ms in close()"
        )


def exit_run(
    ws: Workspace, who: str, url: str, n: int, into: ExitRuns, *, mixpanel: bool = True
) -> None:
    home = ws.fresh()
    cfg = child_cfg(home, who, url, n=n, token=TOKEN if mixpanel else None)
    run = checked(run_child(EXIT_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), f"exit {who}")
    into.walls.append(run.wall * 1000.0)
    into.events.append(json.loads(run.bench())["events_ms"])
    closing = [ln for ln in run.stdout.splitlines() if ln.startswith("CLOSE ")]
    into.close.append(float(closing[-1].split()[1]) if closing else math.nan)
    if who == "ours" and n:
        settle_uploader(home)


def start_baseline_group(ws: Workspace, sizes: Sizes, url: str, runs: int) -> list[Background]:
    """Baseline runs that may sit on their cap: started one at a time (each past its imports
    before the next), then left to wait on the network while the rest is measured."""
    group = []
    for _ in range(runs):
        home = ws.fresh()
        marker = home / "ready"
        cfg = child_cfg(
            home,
            "base",
            url,
            n=EXIT_EVENTS,
            marker=str(marker),
            token=TOKEN if sizes.base_exit_mixpanel else None,
        )
        group.append(Background(EXIT_CHILD, [cfg], ws.env(home), sizes.base_exit_cap))
        wait_until(marker.exists, 30.0)
    return group


def collect_group(group: list[Background], noop: float) -> tuple[float, bool, str]:
    """Median added ms; True when any run hit the cap (the value is then a lower bound)."""
    runs = [b.join() for b in group]
    for run in runs:
        if not run.timed_out:
            checked(run, "exit baseline")
    capped = any(r.timed_out for r in runs)
    walls = [r.wall * 1000.0 for r in runs]
    phases = [json.loads(r.bench())["events_ms"] for r in runs if "BENCH " in r.stdout]
    detail = f"baseline walls {', '.join(f'{w / 1000:.1f}' for w in walls)} s"
    if phases:
        detail += f"; of which in the 20 event() calls: median {statistics.median(phases):.0f} ms"
    if capped:
        detail += f"; {sum(r.timed_out for r in runs)} run(s) timed out (killed at the cap)"
    return statistics.median(walls) - noop, capped, detail


def measure_exit(ws: Workspace, sizes: Sizes, report: Report) -> None:
    refused = refused_url()
    ours = {"noop": ExitRuns(), "silent": ExitRuns(), "refused": ExitRuns()}
    base_noop = ExitRuns()
    with Backend("silent") as ours_silent, Backend("silent") as base_silent:
        silent_group = start_baseline_group(ws, sizes, base_silent.url, sizes.base_exit_runs)
        refused_group = start_baseline_group(ws, sizes, refused, sizes.base_exit_runs)
        for _ in range(sizes.exit_runs):
            exit_run(ws, "ours", ours_silent.url, 0, ours["noop"])
            exit_run(ws, "ours", ours_silent.url, EXIT_EVENTS, ours["silent"])
            exit_run(ws, "ours", refused, EXIT_EVENTS, ours["refused"])
            exit_run(ws, "base", ours_silent.url, 0, base_noop, mixpanel=sizes.base_exit_mixpanel)
        noop = base_noop.median()
        silent = collect_group(silent_group, noop)
        refused_added = collect_group(refused_group, noop)
    scope = (
        "PostHog+Mixpanel (Mixpanel request_timeout=10)"
        if sizes.base_exit_mixpanel
        else ("PostHog only (--quick)")
    )
    report.say(
        f"ctx exit: {EXIT_EVENTS} events then exit, medians of {sizes.exit_runs} runs "
        f"(baseline capped runs: {sizes.base_exit_runs}); no-op process (0 events): ours "
        f"{ours['noop'].median():.0f} ms, baseline {noop:.0f} ms; baseline = {scope}, "
        f"atexit shutdown(), cap {sizes.base_exit_cap:g} s"
    )
    for ident, name, key, (added, capped, detail) in (
        ("3a", "added exit time, silent backend", "silent", silent),
        ("3b", "added exit time, refused port", "refused", refused_added),
    ):
        note = f"ours in-process: {ours[key].inside()}; {detail}"
        report.add(
            Measure(
                ident,
                name,
                "ms",
                ours[key].median() - ours["noop"].median(),
                added,
                base_lower_bound=capped,
                ours_floor=1.0,
                note=note,
            )
        )
        if os.environ.get("BENCH_VERBOSE"):
            print(
                f"    ours walls: {[round(w) for w in ours[key].walls]}; no-op walls: "
                f"{[round(w) for w in ours['noop'].walls]}",
                flush=True,
            )
