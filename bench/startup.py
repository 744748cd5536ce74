"""Section 1: import and creation time, taken inside the child (interpreter start excluded)."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.common import CHILD_TIMEOUT, KEY, TOKEN, Sizes, Workspace, checked, run_child
from bench.report import Measure, Report

__all__ = ["measure_startup"]

STARTUP_PRELUDE = """\
import sys, time
URL, LOG, DATA = sys.argv[1:4]
t0 = time.perf_counter()
"""
STARTUP_EPILOGUE = """
t1 = time.perf_counter()
print("BENCH", (t1 - t0) * 1000.0, CHECK)
"""
OURS_CREATE = (
    "from blackboxai.analytics import Analytics\n"
    "a = Analytics(logfile=LOG, posthog_host=URL, posthog_project_api_key='"
    + KEY
    + "', mixpanel_token='"
    + TOKEN
    + "', mixpanel_host=URL)\n"
)
STARTUP = {
    "ours_import": "from blackboxai.analytics import Analytics\nCHECK = 'ok'",
    "base_import": "import posthog, mixpanel\nCHECK = 'ok'",
    "ours_disabled": OURS_CREATE + "CHECK = 'reporting' if a.enable() else 'off'",
    "ours_consented": OURS_CREATE + "CHECK = 'reporting' if a.enable() else 'off'",
    "ours_first": OURS_CREATE + "CHECK = 'reporting' if a.opt_in() else 'off'",
    "base_create": (
        "from bench.baseline import BaselineAnalytics\n"  # the child runs in the repository root
        "b = BaselineAnalytics(data_dir=DATA, posthog_host=URL, posthog_project_api_key='"
        + KEY
        + "', mixpanel_token='"
        + TOKEN
        + "', mixpanel_host=URL, logfile=LOG)\n"
        "CHECK = 'reporting' if b.ph is not None and b.mp is not None else 'off'"
    ),
}
EXPECTED_CHECK = {
    "ours_disabled": "off",
    "ours_consented": "reporting",
    "ours_first": "reporting",
    "base_create": "reporting",
}
OPT_IN = "from blackboxai.analytics import Analytics\nassert Analytics().opt_in()\n"


def startup_once(ws: Workspace, variant: str, home: Path, url: str) -> float:
    code = STARTUP_PRELUDE + STARTUP[variant] + STARTUP_EPILOGUE
    args = [url, str(home / "analytics.jsonl"), str(home / "baseline")]
    run = checked(run_child(code, args, ws.env(home), CHILD_TIMEOUT), f"start-up {variant}")
    value, check = run.bench().split()
    want = EXPECTED_CHECK.get(variant, "ok")
    if check != want:
        raise RuntimeError(f"start-up {variant}: expected {want}, child said {check}")
    return float(value)


def measure_startup(ws: Workspace, sizes: Sizes, url: str, report: Report) -> None:
    homes = {v: ws.fresh() for v in STARTUP}
    env = ws.env(homes["ours_consented"])
    checked(run_child(OPT_IN, [], env, CHILD_TIMEOUT), "storing consent")
    bare: list[float] = []
    times: dict[str, list[float]] = {v: [] for v in STARTUP}
    for attempt in range(sizes.startup_runs + 1):  # the first round warms caches and .pyc files
        bare_run = checked(run_child("pass", [], ws.env(homes["ours_import"]), 30), "bare")
        for variant in STARTUP:
            home = ws.fresh() if variant == "ours_first" else homes[variant]
            value = startup_once(ws, variant, home, url)
            if attempt:
                times[variant].append(value)
        if attempt:
            bare.append(bare_run.wall * 1000.0)
    med = {v: statistics.median(t) for v, t in times.items()}
    report.say(
        f"ctx bare interpreter start (`python -c pass`, whole process, median): "
        f"{statistics.median(bare):.1f} ms"
    )
    base_create = med["base_create"]
    report.add(
        Measure(
            "1a",
            "import: Analytics vs `import posthog, mixpanel`",
            "ms",
            med["ours_import"],
            med["base_import"],
        )
    )
    report.add(
        Measure(
            "1b",
            "import + create, not consented (disabled)",
            "ms",
            med["ours_disabled"],
            base_create,
        )
    )
    report.add(
        Measure(
            "1c",
            "import + create + enable(), consent stored",
            "ms",
            med["ours_consented"],
            base_create,
        )
    )
    note = "baseline for 1b-1d: one set of runs (SDK imports, uuid file, both clients)"
    report.add(
        Measure(
            "1d",
            "import + create + opt_in() on a fresh data dir",
            "ms",
            med["ours_first"],
            base_create,
            note=note,
        )
    )
