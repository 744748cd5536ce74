"""How the collector's endpoint, as a user writes it, becomes each signal's URL; and settings
that cannot be used are said once, at the start, instead of failing every delivery. Through
the real CLI and its detached uploader against the strict OTLP stand-in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.analytics.delivery.otlp_cli import delivered, otlp
from tests.otlp_collector import Collector

LOGS, METRICS = "otlp-logs", "otlp-metrics"


def collector_urls(cli: Any, url: str) -> dict[str, Any]:
    run = cli(*otlp(url), "analytics", "status", "--json")
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout)["collector"])


@pytest.mark.parametrize(
    ("tail", "logs", "metrics"),
    [
        ("/otlp/?tenant=acme", "/otlp/v1/logs?tenant=acme", "/otlp/v1/metrics?tenant=acme"),
        ("/otlp?tenant=acme", "/otlp/v1/logs?tenant=acme", "/otlp/v1/metrics?tenant=acme"),
        ("/otlp#here", "/otlp/v1/logs", "/otlp/v1/metrics"),
    ],
)
def test_the_signal_path_goes_on_the_endpoints_path_not_after_its_query(
    cli, data_dir, home, tail, logs, metrics
) -> None:
    assert cli("analytics", "on").returncode == 0
    with Collector(prefix="/otlp") as collector:
        endpoint = collector.base + tail
        assert collector_urls(cli, endpoint) == {
            "logs": collector.base + logs,
            "metrics": collector.base + metrics,
            "protocol": "http/protobuf",
            "required_by": None,
        }
        assert cli("--exit", *otlp(endpoint)).returncode == 0
        assert collector.wait_for(logs=2, points=1)
        last = delivered(data_dir, home)
    assert last["sent"] == {LOGS: 2, METRICS: 1}
    assert collector.answers() == [("/otlp/v1/logs", 200), ("/otlp/v1/metrics", 200)]


def test_a_timeout_of_digits_that_are_not_ascii_is_one_warning_and_delivery_goes_on(
    cli, data_dir, home
) -> None:
    """ "²" passes str.isdigit() but int() refuses it: taken into the record, it made the
    uploader's sink unbuildable ("unavailable (ValueError)") for as long as the events wait."""
    assert cli("analytics", "on").returncode == 0
    env = {"OTEL_EXPORTER_OTLP_TIMEOUT": "²"}
    with Collector() as collector:
        run = cli("--exit", *otlp(collector.url), env=env)
        assert run.returncode == 0
        assert run.stderr == (
            "blackboxai: OTEL_EXPORTER_OTLP_TIMEOUT '²' is not a whole number of milliseconds: "
            "ignored\n"
        )
        assert collector.wait_for(logs=2, points=1)
        last = delivered(data_dir, home)
    assert (last["sent"], last["kept"]) == ({LOGS: 2, METRICS: 1}, {})


@pytest.mark.parametrize("value", ["team", "team=a,=b", "team=%FF"])
def test_bad_resource_attributes_are_one_warning_line_as_the_docs_say(cli, value) -> None:
    with Collector() as collector:
        run = cli(
            *otlp(collector.url), "analytics", "status", env={"OTEL_RESOURCE_ATTRIBUTES": value}
        )
    assert run.returncode == 0
    lines = run.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("blackboxai: OTEL_RESOURCE_ATTRIBUTES")
    assert lines[0].endswith("the whole variable is ignored")


@pytest.mark.parametrize("port", ["99999", "abc", "-1"])
def test_an_endpoint_whose_port_is_no_port_is_one_clear_line(cli, port) -> None:
    """requests refuses such a URL at every delivery ("no answer (InvalidURL)") while the events
    wait 30 days; it is refused where it is given, as an address that is not one is."""
    endpoint = f"http://127.0.0.1:{port}"
    run = cli(*otlp(endpoint), "--exit")
    assert run.returncode == 2
    assert run.stderr == (
        "blackboxai: --analytics-otlp-endpoint must be an http:// or https:// address, "
        f"not '{endpoint}'\n"
    )
