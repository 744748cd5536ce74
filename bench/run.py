"""Benchmarks: blackboxai's analytics layer against calling the vendor SDKs directly.

Run from the repository root: `python -m bench.run [--quick] [--events N] [--only SECTIONS]`."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.children import warm_up
from bench.cli_startup import TARGET, measure_cli_startup
from bench.common import Backend, Sizes, Workspace, wait_until
from bench.events import measure_events, measure_same_process
from bench.exit_time import measure_exit
from bench.memory import measure_memory
from bench.otlp import measure_otlp
from bench.report import Measure, Report, number
from bench.startup import measure_startup

FULL = Sizes(7, 2_000, 3, 15, 3, 60.0, True, 200_000)
QUICK = Sizes(3, 200, 1, 3, 1, 3.0, False, 20_000)

TARGETS: list[tuple[str, str, Callable[[Measure], tuple[str, bool]]]] = [
    # What the analytics layer adds to a CLI that already loaded Typer (issue #13): the import
    # of the layer in a bare interpreter (1a) is context, not a target, since a CLI has already
    # paid for most of what it imports (dataclasses, json, pathlib, typing).
    (
        "1f",
        "CPU added to a Typer CLI >= 5x less than the direct SDKs",
        lambda m: (m.ratio_text(), m.ratio >= 5),
    ),
    (
        "1e",
        f"`blackboxai --exit` CPU <= {TARGET}x a bare argparse CLI",
        lambda m: (f"{m.ours / m.base:.2f}x", m.ours / m.base <= TARGET),
    ),
    (
        "2c",
        "event() median >= 5x cheaper than direct posthog.capture path",
        lambda m: (m.ratio_text(), m.ratio >= 5),
    ),
    (
        "2f",
        "event() median >= 5x cheaper than posthog.capture, one process",
        lambda m: (m.ratio_text(), m.ratio >= 5),
    ),
    (
        "3a",
        "added exit time, silent backend <= 50 ms",
        lambda m: (number(m.ours, "ms", below=m.ours_floor), m.ours <= 50),
    ),
    (
        "3a",
        "added exit time, silent backend >= 20x less than baseline",
        lambda m: (m.ratio_text(), m.ratio >= 20),
    ),
    (
        "3b",
        "added exit time, refused port >= 20x less (same bar)",
        lambda m: (m.ratio_text(), m.ratio >= 20),
    ),
    (
        "5a",
        "start-up CPU with a collector within 10% of without",
        lambda m: (f"{m.ours / m.base:.2f}x", m.ours / m.base <= 1.10),
    ),
    (
        "5b",
        "event() with a collector within 10% of without",
        lambda m: (f"{m.ours / m.base:.2f}x", m.ours / m.base <= 1.10),
    ),
    (
        "4",
        "peak memory growth <= 30 MB",
        lambda m: (number(m.ours, "MB", below=m.ours_floor), m.ours <= 30),
    ),
]


def summary(report: Report) -> None:
    print("\nSummary (target, measured, verdict)")
    for ident, text, judge in TARGETS:
        measure = report.measures.get(ident)
        if measure is None:
            print(f"  {ident:<3} {text:<62} {'-':>12}  NOT MEASURED")
            continue
        value, ok = judge(measure)
        print(f"  {ident:<3} {text:<62} {value:>12}  {'PASS' if ok else 'MISS'}")
    if report.crashed:
        print(f"\nCRASHED: {', '.join(report.crashed)}")


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import posthog.version
    from mixpanel import __version__ as mp_version

    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; posthog {posthog.version.VERSION}, "
        f"mixpanel {mp_version}"
    )


@contextlib.contextmanager
def section(report: Report, name: str) -> Iterator[None]:
    print(f"\n== {name}", flush=True)
    start = time.perf_counter()
    try:
        yield
    except Exception:
        report.crashed.append(name)
        print(f"CRASHED: {name}", flush=True)
        traceback.print_exc()
    print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--events", type=int, help="events for the event() measurement")
    parser.add_argument("--only", default="12345", help="sections to run, e.g. --only 3")
    return parser.parse_args(argv)


def run_sections(ws: Workspace, sizes: Sizes, only: str, report: Report) -> None:
    with Backend("ok") as ok:
        with section(report, "0. warm-up (bytecode cache)"):
            warm_up(ws, ok)
        if "1" in only:
            with section(report, "1. start-up (inside the child, interpreter start excluded)"):
                measure_startup(ws, sizes, ok.url, report)
            with section(report, "1e-1f. CLI start-up CPU (whole process, user+sys)"):
                measure_cli_startup(ws, sizes, ok.url, report)
        if "2" in only:
            with section(report, "2. event() cost on the caller"):
                measure_events(ws, sizes, ok, report)
                measure_same_process(ws, sizes, ok, report)
        if "5" in only:
            with section(report, "5. a team's OpenTelemetry collector"):
                measure_otlp(ws, sizes, ok.url, report)
    if "3" in only:
        with section(report, "3. added exit time (whole process, minus a no-op process)"):
            measure_exit(ws, sizes, report)
    if "4" in only:
        with section(report, "4. peak memory"):
            measure_memory(ws, sizes, report)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = QUICK if args.quick else FULL
    if args.events:
        sizes = Sizes(**{**sizes.__dict__, "events": args.events})
    report = Report()
    print(f"blackboxai analytics benchmark ({'quick' if args.quick else 'full'}): {machine()}")
    print("ratio = baseline / ours (bigger is better for us); baseline = bench/baseline.py")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bbx-bench-", ignore_cleanup_errors=True) as tmp:
        ws = Workspace(Path(tmp))
        run_sections(ws, sizes, args.only, report)
        # Our uploaders' backends are gone now, so they end quickly; let them, before the dir goes.
        wait_until(lambda: not ws.uploaders(), 20.0)
    summary(report)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 1 if report.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
