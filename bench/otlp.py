"""Section 5: a team's OpenTelemetry collector configured, and a backlog delivered to one.

5a: `blackboxai --exit` CPU with a collector configured (and PostHog) against PostHog alone:
    what naming a collector adds to a session's start-up (target: unchanged, within noise).
5b: event() median with a collector configured against PostHog alone (target: unchanged).
5c: the detached uploader delivering a backlog of 10,000 events to a loopback collector (the
    strict stand-in of tests/otlp_collector.py): wall time and requests, next to the same
    10,000 log records through the OpenTelemetry SDK's own BatchLogRecordProcessor and
    OTLPLogExporter in one process. Both sides post protobuf over HTTP to the same collector.
"""

from __future__ import annotations

import json
import statistics

from bench.children import child_cfg
from bench.cli_startup import OPT_IN, cpu_ms, our_command
from bench.common import (
    CHILD_TIMEOUT,
    KEY,
    ROOT,
    Sizes,
    Workspace,
    checked,
    run_child,
    settle_uploader,
)
from bench.report import Measure, Report
from tests.otlp_collector import Collector

__all__ = ["measure_otlp"]

BACKLOG = 10_000
PROPS = "dict(main_model='gpt-4o-mini', edit_format='diff', files_in_chat=3)"

EVENTS_CHILD = """\
import json, sys, time
from blackboxai.analytics import Analytics
cfg = json.loads(sys.argv[1])
a = Analytics(logfile=cfg["log"], posthog_host=cfg["url"], posthog_project_api_key=cfg["key"],
              otlp_endpoint=cfg.get("otlp"), launcher=lambda config: None)
assert a.opt_in() and a.enable(), a.last_error
props = dict(main_model="gpt-4o-mini", edit_format="diff", prompt_tokens=1234,
             completion_tokens=56, total_tokens=1290, duration_s=0.235)
for _ in range(cfg["warmup"]):
    a.event("message_send", **props)
times = []
for _ in range(cfg["n"]):
    t = time.perf_counter(); a.event("message_send", **props); times.append(time.perf_counter() - t)
times.sort()
print("BENCH", json.dumps({"median": times[len(times) // 2] * 1e6}), flush=True)
a.close()
"""

# Spools a backlog for the collector alone (an event no metric counts: log records only).
BACKLOG_CHILD = f"""\
import json, sys
from blackboxai.analytics import Analytics
cfg = json.loads(sys.argv[1])
a = Analytics(otlp_endpoint=cfg["otlp"], launcher=lambda config: None)
assert a.opt_in() and a.enable(), a.last_error
for _ in range(cfg["n"]):
    a.event("cli session", **{PROPS})
a.close()
print("BENCH", json.dumps({{"waiting": a.pending_count()}}), flush=True)
"""

UPLOAD_CHILD = """\
import json, sys, time
from blackboxai.analytics.delivery.run import deliver
from blackboxai.analytics.queue.launch import UploadConfig
cfg = json.loads(sys.argv[1])
t = time.perf_counter()
outcome = deliver(UploadConfig(cfg["data"]))
print("BENCH", json.dumps({"seconds": time.perf_counter() - t, "sent": outcome.sent}), flush=True)
"""

SDK_CHILD = f"""\
import json, sys, time
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
cfg = json.loads(sys.argv[1])
t = time.perf_counter()
provider = LoggerProvider(resource=Resource.create({{"service.name": "blackboxai"}}))
provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=cfg["url"])))
logger = provider.get_logger("blackboxai")
attributes = {PROPS}
for _ in range(cfg["n"]):
    logger.emit(event_name="cli session", body="cli session", attributes=attributes,
                severity_number=SeverityNumber.INFO)
provider.shutdown()  # exports what is left and waits for it
print("BENCH", json.dumps({{"seconds": time.perf_counter() - t}}), flush=True)
"""


def _startup(ws: Workspace, sizes: Sizes, url: str, collector: str, report: Report) -> None:
    homes = {who: ws.fresh() for who in ("ours", "base")}
    runs: dict[str, list[float]] = {"ours": [], "base": []}
    for home in homes.values():
        checked(run_child(OPT_IN, [], ws.env(home), CHILD_TIMEOUT), "5a opt in")
    command = [*our_command(), "--exit", "--analytics-posthog-host", url]
    for round_ in range(sizes.startup_runs + 1):
        for who, home in homes.items():
            env = {**ws.env(home), "BLACKBOXAI_ANALYTICS_POSTHOG_PROJECT_API_KEY": KEY}
            if who == "ours":
                env["BLACKBOXAI_ANALYTICS_OTLP_ENDPOINT"] = collector
            cpu = cpu_ms(command, env, ROOT)
            settle_uploader(home)
            if round_:  # the first round fills the bytecode cache
                runs[who].append(cpu)
    ours, base = statistics.median(runs["ours"]), statistics.median(runs["base"])
    report.add(
        Measure(
            "5a",
            "CPU `--exit`, collector + PostHog vs PostHog",
            "ms",
            ours,
            base,
            note=f"medians of {sizes.startup_runs} alternated runs, consent stored: the "
            f"collector adds {ours - base:+.1f} ms (ours/base {ours / base:.2f}x)",
        )
    )


def _events(ws: Workspace, sizes: Sizes, url: str, collector: str, report: Report) -> None:
    medians: dict[str, list[float]] = {"ours": [], "base": []}
    for _ in range(sizes.event_rounds):
        for who in ("ours", "base"):
            home = ws.fresh()
            extra = {"otlp": collector} if who == "ours" else {}
            cfg = child_cfg(home, who, url, n=sizes.events, warmup=20, **extra)
            run = checked(run_child(EVENTS_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), "5b")
            medians[who].append(json.loads(run.bench())["median"])
    ours, base = statistics.median(medians["ours"]), statistics.median(medians["base"])
    report.add(
        Measure(
            "5b",
            "event() median, collector + PostHog vs PostHog",
            "us",
            ours,
            base,
            note=f"{sizes.events} events a run, log on, {sizes.event_rounds} runs a side "
            f"(ours/base {ours / base:.2f}x)",
        )
    )


def _backlog(ws: Workspace, report: Report, n: int) -> None:
    with Collector() as collector:
        home = ws.fresh()
        data = home / ".local" / "share" / "blackboxai"
        cfg = child_cfg(home, "ours", collector.url, n=n, otlp=collector.url)
        spooled = checked(run_child(BACKLOG_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), "5c")
        assert json.loads(spooled.bench())["waiting"] == n, spooled.stdout
        cfg = json.dumps({"data": str(data)})
        run = checked(run_child(UPLOAD_CHILD, [cfg], ws.env(home), CHILD_TIMEOUT), "5c upload")
        ours = json.loads(run.bench())
        ours_requests, received = collector.count("/v1/logs"), len(collector.log_records())
        base_home = ws.fresh()
        cfg = json.dumps({"url": collector.url_for("logs"), "n": n})
        run = checked(run_child(SDK_CHILD, [cfg], ws.env(base_home), CHILD_TIMEOUT), "5c SDK")
        base = json.loads(run.bench())
        base_requests = collector.count("/v1/logs") - ours_requests
        base_received = len(collector.log_records()) - received
    report.add(
        Measure(
            "5c",
            f"a {n:,}-event backlog to a collector, wall time",
            "s",
            ours["seconds"],
            base["seconds"],
            note=f"ours: the uploader, {ours_requests} requests, {received:,} records taken; "
            f"baseline: the SDK's BatchLogRecordProcessor + OTLPLogExporter in one process, "
            f"{base_requests} requests, {base_received:,} records taken",
        )
    )


def measure_otlp(ws: Workspace, sizes: Sizes, url: str, report: Report) -> None:
    with Collector() as collector:
        _startup(ws, sizes, url, collector.url, report)
        _events(ws, sizes, url, collector.url, report)
    _backlog(ws, report, BACKLOG if sizes.events >= 1000 else 1000)
