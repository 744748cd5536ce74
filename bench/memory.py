"""Section 4: peak RSS growth while sending many events to a silent backend."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.children import MEMORY_CHILD, child_cfg
from bench.common import CHILD_TIMEOUT, ROOT, TOKEN, Backend, Run, Sizes, Workspace, checked
from bench.report import Measure, Report

__all__ = ["measure_memory"]


def memory_run(ws: Workspace, who: str, n: int, url: str) -> tuple[dict, int]:
    home = ws.fresh()
    cfg = child_cfg(home, who, url, n=n, log=None, token=TOKEN if who == "ours" else None)
    err_path = home / "stderr.txt"
    argv = [sys.executable, "-c", MEMORY_CHILD, cfg]
    with err_path.open("w") as err:
        done = subprocess.run(
            argv,
            env=ws.env(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=CHILD_TIMEOUT,
        )
    stderr = err_path.read_text(errors="replace")
    run = checked(Run(0.0, done.stdout, stderr[-4000:], False, done.returncode), f"memory {who}")
    return json.loads(run.bench()), stderr.count("\n")


def measure_memory(ws: Workspace, sizes: Sizes, report: Report) -> None:
    n = sizes.memory_events
    with Backend("silent") as backend:
        ours, _ = memory_run(ws, "ours", n, backend.url)
        base, base_lines = memory_run(ws, "base", n, backend.url)
    report.add(
        Measure(
            "4",
            f"peak RSS growth over {n} events, silent",
            "MB",
            ours["peak_mb"],
            base["peak_mb"],
            ours_floor=1.0,
            note=(
                f"RSS after loop minus before: ours {ours['rss_mb']:.1f} MB, baseline "
                f"{base['rss_mb']:.1f} MB; log off; baseline = PostHog only (Mixpanel "
                f"would block on the silent host); baseline wrote {base_lines} "
                f"stderr lines"
            ),
        )
    )
