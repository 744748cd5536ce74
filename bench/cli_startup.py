"""Section 1e-1f: a CLI's whole start-up, as CPU time (user + sys of the child process).

1e: `blackboxai --exit` (the installed console script: every import, settings, consent, the
    `launched` and `exit` events) against `bare_cli.py --exit`, an argparse CLI with the same
    options that does nothing else. Target: ours <= 2.5x the bare CLI.
1f: what the analytics layer adds to a CLI that has already loaded Typer: a minimal Typer app
    parsing `--exit` that creates the analytics object, records `launched` and `exit` and closes,
    minus the same app without analytics; against the direct-SDK baseline in the same app.

CPU, not wall time: it is what a start-up costs whatever else the machine does, and the child's
own figure from wait4() leaves out the runner. Runs alternate between the variants; the first
round only fills the bytecode cache.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bare_cli import build as bare_parser
from bench.children import child_cfg
from bench.common import (
    BENCH,
    CHILD_TIMEOUT,
    ROOT,
    Sizes,
    Workspace,
    checked,
    run_child,
    settle_uploader,
)
from bench.report import Measure, Report

__all__ = ["bare_options_match", "measure_cli_startup"]

TARGET = 2.5  # 1e: ours / bare CPU

TYPER_CHILD = """\
import json, sys
from typing import Optional
import typer

cfg = json.loads(sys.argv[1])
app = typer.Typer(add_completion=False)


@app.callback(invoke_without_command=True)
def root(
    exit_: bool = typer.Option(False, "--exit"),
    model: Optional[str] = typer.Option(None, "--model"),
    edit_format: Optional[str] = typer.Option(None, "--edit-format"),
    analytics: Optional[bool] = typer.Option(None, "--analytics/--no-analytics"),
    analytics_log: Optional[str] = typer.Option(None, "--analytics-log"),
    config: Optional[str] = typer.Option(None, "--config", "-c"),
    message: Optional[str] = typer.Option(None, "--message", "-m"),
    file: Optional[list[str]] = typer.Option(None, "--file"),
) -> None:
    who = cfg["who"]
    if who == "ours":
        from blackboxai.analytics import Analytics

        a = Analytics(posthog_host=cfg["url"], posthog_project_api_key=cfg["key"],
                      mixpanel_token=cfg["token"], mixpanel_host=cfg["url"])
        a.decide(analytics, tty=False)
        if not a.enable():
            raise SystemExit("not reporting: " + str(a.decision))
        a.event("launched")
        a.event("exit", reason="exit_flag")
        a.close()
    elif who == "base":
        from bench.baseline import BaselineAnalytics  # the child runs in the repository root

        b = BaselineAnalytics(data_dir=cfg["data"], posthog_host=cfg["url"],
                              posthog_project_api_key=cfg["key"], mixpanel_token=cfg["token"],
                              mixpanel_host=cfg["url"])
        b.event("launched")
        b.event("exit", reason="exit_flag")


@app.command()
def status() -> None:
    pass


app(args=sys.argv[2:], prog_name="app")
"""
OPT_IN = "from blackboxai.analytics import Analytics\nassert Analytics().opt_in()\n"


def cpu_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """user + sys CPU of one child process, from wait4(); the child must exit 0."""
    child = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            raise RuntimeError(f"{argv[1:]}: timed out")
        time.sleep(0.002)
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"{argv[1:]}: exit {child.returncode}; stderr:\n{stderr[-2000:]}")
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def our_command() -> list[str]:
    """The installed console script, as a user runs it; `-m blackboxai` where there is none."""
    script = Path(sys.executable).parent / "blackboxai"
    return [str(script)] if script.exists() else [sys.executable, "-m", "blackboxai"]


def bare_options_match() -> set[str]:
    """Option strings on one side only (empty when the yardstick has exactly our options)."""
    from blackboxai.config.options import OPTIONS

    ours = {"--message", "-m", "--config", "-c", "--exit", "--version", "-h", "--help"}
    for name, spec in OPTIONS.items():
        ours |= {f"--{name}", *([f"--no-{name}"] if spec.negatable else [])}
    bare = {flag for action in bare_parser()._actions for flag in action.option_strings}
    return ours ^ bare


def medians(runs: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in runs.items()}


def measure_cli_startup(ws: Workspace, sizes: Sizes, url: str, report: Report) -> None:
    mismatch = bare_options_match()
    if mismatch:
        raise RuntimeError(f"bare_cli.py and blackboxai differ in options: {sorted(mismatch)}")
    rounds = max(sizes.exit_runs, 3)  # 15 full, 3 quick
    home = ws.fresh()
    env = ws.env(home)
    work = home / "work"
    work.mkdir()
    commands = {
        "ours": [*our_command(), "--exit"],
        "bare": [sys.executable, str(BENCH / "bare_cli.py"), "--exit"],
    }
    homes = {who: ws.fresh() for who in ("typer", "ours", "base")}
    checked(run_child(OPT_IN, [], ws.env(homes["ours"]), CHILD_TIMEOUT), "storing consent")
    typer_runs = {
        who: [sys.executable, "-c", TYPER_CHILD, child_cfg(home_, who, url), "--exit"]
        for who, home_ in homes.items()
    }
    runs: dict[str, list[float]] = {
        k: [] for k in ("ours", "bare", "typer", "typer+ours", "typer+base")
    }
    for attempt in range(rounds + 1):  # round 0 fills the bytecode cache
        for name, argv in commands.items():
            value = cpu_ms(argv, env, work)
            if attempt:
                runs[name].append(value)
        for who, argv in typer_runs.items():
            value = cpu_ms(argv, ws.env(homes[who]), ROOT)
            settle_uploader(homes[who])  # our detached uploader: off the next measurement
            if attempt:
                runs[who if who == "typer" else f"typer+{who}"].append(value)
    med = medians(runs)
    ratio = med["ours"] / med["bare"]
    report.add(
        Measure(
            "1e",
            "CPU: `blackboxai --exit` vs bare argparse CLI",
            "ms",
            med["ours"],
            med["bare"],
            note=f"ours / bare = {ratio:.2f}x (target <= {TARGET}x); whole process, user+sys, "
            f"medians of {rounds}; per run, ours: {_list(runs['ours'])}, bare: "
            f"{_list(runs['bare'])}",
        )
    )
    added_ours = med["typer+ours"] - med["typer"]
    added_base = med["typer+base"] - med["typer"]
    report.add(
        Measure(
            "1f",
            "CPU analytics adds to a Typer CLI (opted in)",
            "ms",
            added_ours,
            added_base,
            note=f"the Typer app alone: {med['typer']:.1f} ms; with ours "
            f"{med['typer+ours']:.1f} ms, with the direct SDKs {med['typer+base']:.1f} ms "
            "(our uploader is detached: its CPU is not in these figures)",
        )
    )


def _list(values: list[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values)
