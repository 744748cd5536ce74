"""A team's own OpenTelemetry collector as a destination: what the user set for blackboxai
(analytics-otlp-endpoint, -protocol, -headers), filled in by the standard OTEL_EXPORTER_OTLP_*
variables, as two destinations: the events as log records, and the usage metrics.

The variables never turn it on: only the endpoint the user set for blackboxai does (a shell that
exports OTEL_EXPORTER_OTLP_ENDPOINT for the user's own service must not start exporting
blackboxai's usage). Once it is on they fill in what was not set, by the rules of the OTel
exporter spec (open-telemetry/opentelemetry-specification, specification/protocol/exporter.md):
a per-signal variable wins over the general one; an empty one is unset; TIMEOUT is milliseconds.
Our endpoint is a base URL, so each signal's path is appended; a per-signal endpoint variable,
used as it is, names that signal's URL instead. Pure: the environment is an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from blackboxai.addresses import web_address
from blackboxai.analytics.destinations import Destination

__all__ = [
    "LOGS",
    "METRICS",
    "PROTOCOLS",
    "collector_destinations",
    "feeds_metrics",
    "parse_headers",
    "parse_resource_attributes",
]

LOGS, METRICS = "otlp-logs", "otlp-metrics"  # the two destinations' (and sinks') names
PROTOCOLS = ("http/protobuf", "http/json")
_PATHS = {LOGS: "v1/logs", METRICS: "v1/metrics"}
_SIGNALS = {LOGS: "LOGS", METRICS: "METRICS"}
# A header name: RFC 7230 token characters.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# The events the usage metrics are made of (delivery/sinks/otlp/metrics.py counts them): only
# these are queued for the metrics destination.
_METRIC_EVENTS = frozenset({"launched", "message_send", "edit_applied", "edit_failed"})


def feeds_metrics(event: str) -> bool:
    """Whether an event counts towards a usage metric (sessions, tokens, cost, edits, lines,
    commands); the others go to the collector as log records only."""
    return event in _METRIC_EVENTS or (event.startswith("command_") and len(event) > 8)


def parse_headers(value: str | None, name: str) -> tuple[dict[str, str], list[str]]:
    """`key1=value1,key2=value2` (W3C Baggage, as OTLP writes headers) -> ({lower-case name:
    value}, problems). Values are percent-decoded; blanks around items are dropped; a bad item
    is skipped with one line and the others kept; a value with a line break is refused (it
    would split the HTTP header)."""
    headers: dict[str, str] = {}
    problems: list[str] = []
    for item in (value or "").split(","):
        item = item.strip(" \t")
        if not item:
            continue
        key, sep, raw = item.partition("=")
        key = key.strip(" \t")
        if not sep or not _TOKEN.fullmatch(key):
            problems.append(f"{name}: an item is not name=value; skipped")
            continue
        try:
            decoded = unquote(raw.strip(" \t"), errors="strict")
        except UnicodeDecodeError:
            problems.append(f"{name}: {key}: not UTF-8 once percent-decoded; skipped")
            continue
        if any(c in decoded for c in "\r\n\0"):
            problems.append(f"{name}: {key}: a line break in the value; skipped")
            continue
        headers[key.lower()] = decoded
    return headers, problems


def parse_resource_attributes(value: str | None) -> tuple[dict[str, str], list[str]]:
    """OTEL_RESOURCE_ATTRIBUTES -> (attributes, problems): `key=value` items split on ",", the
    value percent-decoded. As the Resource SDK spec says, one bad item discards them all: said
    in one line, naming the first."""
    attrs: dict[str, str] = {}
    problems: list[str] = []
    for item in (value or "").split(","):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append("OTEL_RESOURCE_ATTRIBUTES: an item is not key=value")
            continue
        try:
            attrs[key] = unquote(raw.strip(), errors="strict")
        except UnicodeDecodeError:
            problems.append(f"OTEL_RESOURCE_ATTRIBUTES: {key}: not UTF-8 once percent-decoded")
    if problems:
        return {}, [f"{problems[0]}: the whole variable is ignored"]  # one line, the first
    return attrs, []


class _Env:
    """The OTEL_EXPORTER_OTLP_* variables for one signal: its own, else the general one."""

    def __init__(self, env: Mapping[str, str], signal: str) -> None:
        self._env, self._signal = env, signal

    def get(self, option: str) -> tuple[str | None, str]:
        for name in (f"OTEL_EXPORTER_OTLP_{self._signal}_{option}", f"OTEL_EXPORTER_OTLP_{option}"):
            value = self._env.get(name, "").strip()
            if value:
                return value, name
        return None, ""


def _signal(
    dest: str,
    endpoint: str,
    protocol: str | None,
    headers: Mapping[str, str],
    env: Mapping[str, str],
    problems: list[str],
) -> Destination | None:
    """One signal's destination; None (with the reason in `problems`) when it cannot be used."""
    variables = _Env(env, _SIGNALS[dest])
    url = _url(dest, endpoint, env)
    if not web_address(url):
        problems.append(
            f"the collector's {dest[5:]} URL {url!r} is not http(s): nothing goes there"
        )
        return None
    options: dict[str, str] = {}
    chosen, name = (protocol, "analytics-otlp-protocol") if protocol else variables.get("PROTOCOL")
    if chosen and chosen.lower() not in PROTOCOLS:
        problems.append(f"{name} {chosen!r} is not {' or '.join(PROTOCOLS)}: http/protobuf is used")
        chosen = None
    options["protocol"] = (chosen or PROTOCOLS[0]).lower()
    raw, name = variables.get("HEADERS")
    found, header_problems = parse_headers(raw, name)
    problems.extend(header_problems)
    merged = {**found, **headers}  # ours win, name by name
    if merged:
        options["headers"] = ",".join(f"{k}={quote(v, safe='')}" for k, v in merged.items())
    raw, name = variables.get("TIMEOUT")
    if raw is not None:
        if raw.isascii() and raw.isdigit():  # "²" and "٣" are digits int() may refuse
            options["timeout_ms"] = raw
        else:
            problems.append(f"{name} {raw!r} is not a whole number of milliseconds: ignored")
    for option in ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE", "COMPRESSION"):
        value, _ = variables.get(option)
        if value is not None:
            options[option.lower()] = value
    if ("client_key" in options) != ("client_certificate" in options):
        problems.append("a client key and a client certificate go together: neither is used")
        options.pop("client_key", None)
        options.pop("client_certificate", None)
    if options.get("compression", "none").lower() not in ("gzip", "none"):
        _, name = variables.get("COMPRESSION")
        problems.append(f"{name} {options.pop('compression')!r}: not used")
    if dest == METRICS:
        options.update(_metric_options(env, problems))
    attributes, attribute_problems = parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES"))
    problems.extend(attribute_problems)
    if attributes:
        options["resource"] = ",".join(f"{k}={quote(v, safe='')}" for k, v in attributes.items())
    return Destination(dest, url, "", tuple(sorted(options.items())))


def _url(dest: str, endpoint: str, env: Mapping[str, str]) -> str:
    """The signal's URL: its own endpoint variable as it is (a URL with no path gets "/"), else
    our base endpoint with the signal's path appended to its path after one "/" (a query
    stays a query, after it; a fragment is never sent, so it goes)."""
    own = env.get(f"OTEL_EXPORTER_OTLP_{_SIGNALS[dest]}_ENDPOINT", "").strip()
    if own:
        return own if urlsplit(own).path else own + "/"
    try:
        parts = urlsplit(endpoint.strip())
    except ValueError:  # not a URL at all: said as such by the caller
        return endpoint
    path = f"{parts.path.removesuffix('/')}/{_PATHS[dest]}"
    return urlunsplit(parts._replace(path=path, fragment=""))


def _metric_options(env: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Temporality (delta unless the standard variable asks for cumulative) and the ids a team
    may ask for on metric points (OTEL_METRICS_INCLUDE_*, as peers name them); off by default:
    metric attributes stay low-cardinality."""
    options = {}
    raw = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    if raw == "cumulative":
        options["temporality"] = "cumulative"
    elif raw not in ("", "delta", "lowmemory"):
        problems.append(
            f"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE {raw!r} is unknown: delta is used"
        )
    for name, option in (
        ("OTEL_METRICS_INCLUDE_USER_ID", "include_user_id"),
        ("OTEL_METRICS_INCLUDE_SESSION_ID", "include_session_id"),
    ):
        if env.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            options[option] = "true"
    return options


def collector_destinations(
    endpoint: str | None,
    protocol: str | None,
    headers: str | None,
    env: Mapping[str, str],
) -> tuple[tuple[Destination, ...], list[str]]:
    """The collector's two destinations (log records, metrics) and what was ignored, each in
    one line. None at all unless `endpoint` (analytics-otlp-endpoint) is set."""
    if not endpoint:
        return (), []
    problems: list[str] = []
    ours, header_problems = parse_headers(headers, "analytics-otlp-headers")
    problems.extend(header_problems)
    found = [_signal(dest, endpoint, protocol, ours, env, problems) for dest in (LOGS, METRICS)]
    # A general variable (or our own setting) is read for both signals: said once.
    return tuple(d for d in found if d is not None), list(dict.fromkeys(problems))
