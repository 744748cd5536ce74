"""Benchmarks: blackboxai's analytics layer against calling the vendor SDKs directly."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests"))

from blackboxai.analytics.consent import CI_VARIABLES  # noqa: E402
from loopback import Backend, refused_url  # noqa: E402

KEY = "phc_bench_project_key"
TOKEN = "mp_bench_token"
CHILD_TIMEOUT = 120.0  # for our children and the baseline runs expected to finish on their own


@dataclass(frozen=True)
class Sizes:
    startup_runs: int
    events: int
    event_rounds: int
    exit_runs: int
    base_exit_runs: int
    base_exit_cap: float
    base_exit_mixpanel: bool
    memory_events: int


FULL = Sizes(7, 2_000, 3, 15, 3, 60.0, True, 200_000)
QUICK = Sizes(3, 200, 1, 3, 1, 3.0, False, 20_000)


@dataclass
class Measure:
    """One line of the report: ours, the baseline, and baseline/ours (bigger is better for us)."""

    id: str
    label: str
    unit: str
    ours: float
    base: float
    base_lower_bound: bool = False  # the baseline hit its cap: its true value is larger
    ours_floor: float = 0.0  # below this, ours is reported as "<floor" and the ratio as ">="
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.base / max(self.ours, self.ours_floor, 1e-12)

    @property
    def ratio_is_bound(self) -> bool:
        return self.base_lower_bound or self.ours < self.ours_floor

    def ratio_text(self) -> str:
        return f"{'>=' if self.ratio_is_bound else ''}{self.ratio:.1f}x"

    def render(self) -> str:
        ours = _num(self.ours, self.unit, below=self.ours_floor)
        base = _num(self.base, self.unit, above=self.base_lower_bound)
        text = f"{self.id:<3} {self.label:<46} ours {ours:>11} | baseline {base:>13}"
        return text + f" | ratio {self.ratio_text()}"


def _num(value: float, unit: str, *, below: float = 0.0, above: bool = False) -> str:
    if value < below:
        return f"<{below:g} {unit}"
    digits = 1 if abs(value) >= 100 else 2
    return f"{'>' if above else ''}{value:.{digits}f} {unit}"


@dataclass
class Report:
    measures: dict[str, Measure] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)

    def add(self, measure: Measure) -> None:
        self.measures[measure.id] = measure
        print(measure.render(), flush=True)
        if measure.note:
            print(f"    {measure.note}", flush=True)

    def say(self, text: str) -> None:
        self.context.append(text)
        print(text, flush=True)


# -- children -------------------------------------------------------------------------------

class Workspace:
    """Fresh HOME/XDG dirs under one temp root; children never see the user's real state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0
        self.homes: list[Path] = []

    def uploaders(self) -> list[int]:
        """Pids of our detached uploaders still running for any home of this workspace."""
        return [pid for home in self.homes for pid in uploader_pids(home)]

    def fresh(self) -> Path:
        self._count += 1
        home = self.root / f"home{self._count}"
        (home / ".local" / "share").mkdir(parents=True)
        self.homes.append(home)
        return home

    def env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _scrubbed(k)}
        env.update(
            # Bytecode cached for both sides, as after a pip install; with PYTHONDONTWRITEBYTECODE
            # an editable checkout would recompile our modules on every start.
            PYTHONPYCACHEPREFIX=str(self.root / "pycache"),
            HOME=str(home),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
        )
        return env


def _scrubbed(name: str) -> bool:
    dropped = ("DO_NOT_TRACK", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    proxy = name.lower() in ("http_proxy", "https_proxy", "all_proxy")  # loopback stays direct
    return proxy or name in CI_VARIABLES or name in dropped or name.startswith("BLACKBOXAI_")


@dataclass
class Run:
    wall: float  # seconds, spawn to exit as seen by the parent
    stdout: str
    stderr: str
    timed_out: bool
    returncode: int | None

    def bench(self) -> str:
        """The payload of the child's last BENCH line."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("BENCH "):
                return line[6:]
        raise RuntimeError(f"child printed no BENCH line; stderr:\n{self.stderr[-2000:]}")


def run_child(code: str, args: list[str], env: dict[str, str], timeout: float) -> Run:
    argv = [sys.executable, "-c", code, *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        return Run(time.perf_counter() - start, _text(exc.stdout), _text(exc.stderr), True, None)
    return Run(time.perf_counter() - start, done.stdout, done.stderr, False, done.returncode)


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def checked(run: Run, what: str) -> Run:
    if run.timed_out:
        raise RuntimeError(f"{what}: timed out after {run.wall:.0f} s")
    if run.returncode != 0:
        raise RuntimeError(f"{what}: exit {run.returncode}; stderr:\n{run.stderr[-2000:]}")
    return run


class Background:
    """A child run in a thread, so slow baseline runs can wait on their timeouts together."""

    def __init__(self, code: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        self.result: Run | None = None
        self._thread = threading.Thread(target=self._go, args=(code, args, env, timeout))
        self._thread.start()

    def _go(self, code: str, args: list[str], env: dict[str, str], timeout: float) -> None:
        self.result = run_child(code, args, env, timeout)

    def join(self) -> Run:
        self._thread.join()
        assert self.result is not None
        return self.result


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def uploader_pids(home: Path) -> list[int]:
    """Our detached uploaders started with this HOME (found in /proc: they are not our children)."""
    marker = f"HOME={home}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"blackboxai.analytics.upload" not in (proc / "cmdline").read_bytes():
                continue
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process, or None once it has exited."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def settle_uploader(home: Path) -> None:
    """Keep our detached uploaders' CPU off the next measurement without waiting on the network:
    wait until each has exited or sits idle (no CPU for 0.3 s, e.g. blocked on a silent host).
    They are never counted in a measurement."""
    deadline = time.monotonic() + 20.0
    last: dict[int, int | None] = {}
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        now = {pid: cpu_ticks(pid) for pid in uploader_pids(home)}
        busy = any(ticks is not None and last.get(pid) != ticks for pid, ticks in now.items())
        quiet = 0 if busy else quiet + 1
        last = now
        time.sleep(0.1)


# -- 1. start-up ------------------------------------------------------------------------------

STARTUP_PRELUDE = """\
import sys, time
URL, LOG, DATA, BENCH = sys.argv[1:5]
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
        "sys.path.insert(0, BENCH)\n"
        "from baseline import BaselineAnalytics\n"
        "b = BaselineAnalytics(data_dir=DATA, posthog_host=URL, posthog_project_api_key='"
        + KEY
        + "', mixpanel_token='"
        + TOKEN
        + "', mixpanel_host=URL, logfile=LOG)\n"
        "CHECK = 'reporting' if b.ph is not None and b.mp is not None else 'off'"
    ),
}
EXPECTED_CHECK = {"ours_disabled": "off", "ours_consented": "reporting", "ours_first": "reporting",
                  "base_create": "reporting"}
OPT_IN = "from blackboxai.analytics import Analytics\nassert Analytics().opt_in()\n"


def startup_once(ws: Workspace, variant: str, home: Path, url: str) -> float:
    code = STARTUP_PRELUDE + STARTUP[variant] + STARTUP_EPILOGUE
    args = [url, str(home / "analytics.jsonl"), str(home / "baseline"), str(BENCH)]
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
    report.say(f"ctx bare interpreter start (`python -c pass`, whole process, median): "
               f"{statistics.median(bare):.1f} ms")
    base_create = med["base_create"]
    report.add(Measure("1a", "import: Analytics vs `import posthog, mixpanel`", "ms",
                       med["ours_import"], med["base_import"]))
    report.add(Measure("1b", "import + create, not consented (disabled)", "ms",
                       med["ours_disabled"], base_create))
    report.add(Measure("1c", "import + create + enable(), consent stored", "ms",
                       med["ours_consented"], base_create))
    note = "baseline for 1b-1d: one set of runs (SDK imports, uuid file, both clients)"
    report.add(Measure("1d", "import + create + opt_in() on a fresh data dir", "ms",
                       med["ours_first"], base_create, note=note))


# -- shared child for events, exit and memory -------------------------------------------------

CHILD_COMMON = """\
import json, os, sys, time
cfg = json.loads(sys.argv[1])
PROPS = dict(main_model="gpt-4o-mini", edit_format="diff", prompt_tokens=1234,
             completion_tokens=56, cost=0.0012, total_cost=0.0345)

def make():
    if cfg["who"] == "ours":
        from blackboxai.analytics import Analytics
        a = Analytics(logfile=cfg["log"], posthog_host=cfg["url"],
                      posthog_project_api_key=cfg["key"], mixpanel_token=cfg["token"],
                      mixpanel_host=cfg["url"])
        if not a.opt_in() or not a.reporting:
            raise SystemExit("could not opt in: " + str(a.last_error))
        return a
    sys.path.insert(0, cfg["bench"])
    from baseline import BaselineAnalytics
    return BaselineAnalytics(data_dir=cfg["data"], posthog_host=cfg["url"],
                             posthog_project_api_key=cfg["key"], mixpanel_token=cfg["token"],
                             mixpanel_host=cfg["url"], logfile=cfg["log"])

def finish(a):
    if cfg["who"] == "ours":
        a.close()
"""

EVENTS_CHILD = CHILD_COMMON + """
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

EXIT_CHILD = CHILD_COMMON + """
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

MEMORY_CHILD = CHILD_COMMON + """
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


def child_cfg(home: Path, who: str, url: str, **extra: object) -> str:
    cfg = {
        "who": who,
        "url": url,
        "key": KEY,
        "token": TOKEN,
        "bench": str(BENCH),
        "data": str(home / "baseline"),
        "log": str(home / "analytics.jsonl"),
        **extra,
    }
    return json.dumps(cfg)


# -- 2. event() on the caller -----------------------------------------------------------------

def events_run(ws: Workspace, who: str, n: int, backend: Backend, *, mixpanel: bool = True) -> dict:
    home = ws.fresh()
    cfg = child_cfg(home, who, backend.url, n=n, warmup=20,
                    token=TOKEN if mixpanel else None)
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

    tag = (f"{n} events per run, log on, ok loopback; median of {sizes.event_rounds} alternated "
           f"runs per side (run medians, us: ours {per_round('ours')}, baseline full "
           f"{per_round('full')}, PostHog only {per_round('ph')})")
    for ident, what, side, key in (
        ("2a", "median vs baseline log+PostHog+Mixpanel", "full", "median"),
        ("2b", "p99 vs baseline log+PostHog+Mixpanel", "full", "p99"),
        ("2c", "median vs baseline log+PostHog only", "ph", "median"),
        ("2d", "p99 vs baseline log+PostHog only", "ph", "p99"),
        ("2e", "mean vs baseline log+PostHog only", "ph", "mean"),
    ):
        report.add(Measure(ident, f"event() {what}", "us", stat("ours", key), stat(side, key),
                           note=tag if ident == "2a" else ""))


# -- 3. added exit time -----------------------------------------------------------------------

EXIT_EVENTS = 20


@dataclass
class ExitRuns:
    walls: list[float] = field(default_factory=list)  # ms, whole process
    events: list[float] = field(default_factory=list)  # ms in the event() calls, in the child
    close: list[float] = field(default_factory=list)  # ms in close() (ours), in the child

    def median(self) -> float:
        return statistics.median(self.walls)

    def inside(self) -> str:
        return (f"{statistics.median(self.events):.1f} ms in the event() calls, "
                f"{statistics.median(self.close):.1f} ms in close()")


def exit_run(ws: Workspace, who: str, url: str, n: int, into: ExitRuns,
             *, mixpanel: bool = True) -> None:
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
        cfg = child_cfg(home, "base", url, n=EXIT_EVENTS, marker=str(marker),
                        token=TOKEN if sizes.base_exit_mixpanel else None)
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
            exit_run(ws, "base", ours_silent.url, 0, base_noop,
                     mixpanel=sizes.base_exit_mixpanel)
        noop = base_noop.median()
        silent = collect_group(silent_group, noop)
        refused_added = collect_group(refused_group, noop)
    scope = "PostHog+Mixpanel (Mixpanel request_timeout=10)" if sizes.base_exit_mixpanel else (
        "PostHog only (--quick)")
    report.say(f"ctx exit: {EXIT_EVENTS} events then exit, medians of {sizes.exit_runs} runs "
               f"(baseline capped runs: {sizes.base_exit_runs}); no-op process (0 events): ours "
               f"{ours['noop'].median():.0f} ms, baseline {noop:.0f} ms; baseline = {scope}, "
               f"atexit shutdown(), cap {sizes.base_exit_cap:g} s")
    for ident, name, key, (added, capped, detail) in (
        ("3a", "added exit time, silent backend", "silent", silent),
        ("3b", "added exit time, refused port", "refused", refused_added),
    ):
        note = f"ours in-process: {ours[key].inside()}; {detail}"
        report.add(Measure(ident, name, "ms", ours[key].median() - ours["noop"].median(), added,
                           base_lower_bound=capped, ours_floor=1.0, note=note))
        if os.environ.get("BENCH_VERBOSE"):
            print(f"    ours walls: {[round(w) for w in ours[key].walls]}; no-op walls: "
                  f"{[round(w) for w in ours['noop'].walls]}", flush=True)


def warm_up(ws: Workspace, backend: Backend) -> None:
    """Fill the bytecode cache for every module either side (and our uploader) imports."""
    for who in ("ours", "base"):
        home = ws.fresh()
        cfg = child_cfg(home, who, backend.url, n=EXIT_EVENTS)
        checked(run_child(EXIT_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), f"warm-up {who}")
    if not wait_until(lambda: len(backend.requests) >= 4, 30.0):  # 2 SDK batches + 2 uploads
        raise RuntimeError(f"warm-up: loopback got {backend.requests}, expected 4 requests")


# -- 4. memory --------------------------------------------------------------------------------

def memory_run(ws: Workspace, who: str, n: int, url: str) -> tuple[dict, int]:
    home = ws.fresh()
    cfg = child_cfg(home, who, url, n=n, log=None,
                    token=TOKEN if who == "ours" else None)
    err_path = home / "stderr.txt"
    argv = [sys.executable, "-c", MEMORY_CHILD, cfg]
    with err_path.open("w") as err:
        done = subprocess.run(argv, env=ws.env(home), stdout=subprocess.PIPE, stderr=err,
                              text=True, timeout=CHILD_TIMEOUT)
    stderr = err_path.read_text(errors="replace")
    run = checked(Run(0.0, done.stdout, stderr[-4000:], False, done.returncode), f"memory {who}")
    return json.loads(run.bench()), stderr.count("\n")


def measure_memory(ws: Workspace, sizes: Sizes, report: Report) -> None:
    n = sizes.memory_events
    with Backend("silent") as backend:
        ours, _ = memory_run(ws, "ours", n, backend.url)
        base, base_lines = memory_run(ws, "base", n, backend.url)
    report.add(Measure("4", f"peak RSS growth over {n} events, silent", "MB",
                       ours["peak_mb"], base["peak_mb"], ours_floor=1.0,
                       note=(f"RSS after loop minus before: ours {ours['rss_mb']:.1f} MB, baseline "
                             f"{base['rss_mb']:.1f} MB; log off; baseline = PostHog only (Mixpanel "
                             f"would block on the silent host); baseline wrote {base_lines} "
                             f"stderr lines")))


# -- report -----------------------------------------------------------------------------------

TARGETS: list[tuple[str, str, Callable[[Measure], tuple[str, bool]]]] = [
    ("1a", "import ratio >= 10x", lambda m: (m.ratio_text(), m.ratio >= 10)),
    ("2c", "event() median >= 5x cheaper than direct posthog.capture path",
     lambda m: (m.ratio_text(), m.ratio >= 5)),
    ("3a", "added exit time, silent backend <= 50 ms",
     lambda m: (_num(m.ours, "ms", below=m.ours_floor), m.ours <= 50)),
    ("3a", "added exit time, silent backend >= 20x less than baseline",
     lambda m: (m.ratio_text(), m.ratio >= 20)),
    ("3b", "added exit time, refused port >= 20x less (same bar)",
     lambda m: (m.ratio_text(), m.ratio >= 20)),
    ("4", "peak memory growth <= 30 MB",
     lambda m: (_num(m.ours, "MB", below=m.ours_floor), m.ours <= 30)),
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

    return (f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; posthog {posthog.version.VERSION}, "
            f"mixpanel {mp_version}")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--events", type=int, help="events for the event() measurement")
    parser.add_argument("--only", default="1234", help="sections to run, e.g. --only 3")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.events:
        sizes = Sizes(**{**sizes.__dict__, "events": args.events})
    report = Report()
    print(f"blackboxai analytics benchmark ({'quick' if args.quick else 'full'}): {machine()}")
    print("ratio = baseline / ours (bigger is better for us); baseline = bench/baseline.py")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bbx-bench-", ignore_cleanup_errors=True) as tmp:
        ws = Workspace(Path(tmp))
        with Backend("ok") as ok:
            with section(report, "0. warm-up (bytecode cache)"):
                warm_up(ws, ok)
            if "1" in args.only:
                with section(report, "1. start-up (inside the child, interpreter start excluded)"):
                    measure_startup(ws, sizes, ok.url, report)
            if "2" in args.only:
                with section(report, "2. event() cost on the caller"):
                    measure_events(ws, sizes, ok, report)
        if "3" in args.only:
            with section(report, "3. added exit time (whole process, minus a no-op process)"):
                measure_exit(ws, sizes, report)
        if "4" in args.only:
            with section(report, "4. peak memory"):
                measure_memory(ws, sizes, report)
        # Our uploaders' backends are gone now, so they end quickly; let them, before the dir goes.
        wait_until(lambda: not ws.uploaders(), 20.0)
    summary(report)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 1 if report.crashed else 0


if __name__ == "__main__":
    sys.exit(main())
