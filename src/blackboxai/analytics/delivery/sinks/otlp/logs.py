"""Spooled events as OpenTelemetry log records, with the official generated messages only
(opentelemetry-proto): one LogRecord per event, grouped by the resource it came from.

What a record says: the event's name (`event_name`, the `event.name` attribute and the body, so a
backend that reads only one of them still shows it), its own time, severity INFO, `user.id` (the
anonymous id), `session.id` (the run's session id) and every scrubbed property as a typed
attribute. The resource: service.name=blackboxai, service.version, os.type, host.arch and the
team's OTEL_RESOURCE_ATTRIBUTES (ours win: code-provided attributes win over the environment's,
resource/sdk.md)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2

__all__ = ["SESSION_PROPERTY", "kv", "logs_request", "record_resource", "session_id", "time_ns"]

SERVICE_NAME = SCOPE_NAME = "blackboxai"
Record = Mapping[str, Any]  # a spooled record (queue/waiting.py), as these functions read it
SESSION_PROPERTY = "session_id"  # the run's session id, a system property: sent as session.id

# -- resource -------------------------------------------------------------------------------------
# OTel semantic conventions: os.type (windows, linux, darwin, freebsd, netbsd, openbsd,
# dragonflybsd, hpux, aix, solaris, zos) from what os.uname().sysname / platform.system() say.
_OS_TYPES = {
    "linux": "linux",
    "darwin": "darwin",
    "windows": "windows",
    "freebsd": "freebsd",
    "netbsd": "netbsd",
    "openbsd": "openbsd",
    "dragonfly": "dragonflybsd",
    "dragonflybsd": "dragonflybsd",
    "hp-ux": "hpux",
    "aix": "aix",
    "sunos": "solaris",
    "os/390": "zos",
    "z/os": "zos",
}
# host.arch (amd64, arm32, arm64, ia64, ppc32, ppc64, s390x, x86) from os.uname().machine.
_ARCHES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "aarch64_be": "arm64",
    "i386": "x86",
    "i486": "x86",
    "i586": "x86",
    "i686": "x86",
    "x86": "x86",
    "ia64": "ia64",
    "ppc": "ppc32",
    "ppc32": "ppc32",
    "powerpc": "ppc32",
    "ppc64": "ppc64",
    "ppc64le": "ppc64",
    "s390x": "s390x",
}


def os_type(os_platform: str) -> str:
    """The semconv os.type of an os_platform property (Linux -> linux); lower case if unknown
    (the semconv enum is open: other values are allowed)."""
    name = os_platform.strip().lower()
    if name.startswith(("cygwin", "msys", "mingw")):
        return "windows"
    return _OS_TYPES.get(name, name)


def host_arch(machine: str) -> str:
    """The semconv host.arch of a machine property (x86_64 -> amd64, aarch64 -> arm64)."""
    name = machine.strip().lower()
    if name.startswith("armv") or name in ("arm", "arm32"):
        return "arm32"
    return _ARCHES.get(name, name)


def record_resource(record: Record, extra: Mapping[str, str]) -> dict[str, str]:
    """The resource a record's events belong to: `extra` (OTEL_RESOURCE_ATTRIBUTES, and
    service.instance.id) under ours. Ours win, as the spec makes code-provided attributes win
    over the environment's secondary resource."""
    props = record.get("properties") or {}
    ours = {"service.name": SERVICE_NAME}
    if isinstance(props.get("blackboxai_version"), str):
        ours["service.version"] = props["blackboxai_version"]
    if isinstance(props.get("os_platform"), str):
        ours["os.type"] = os_type(props["os_platform"])
    if isinstance(props.get("machine"), str):
        ours["host.arch"] = host_arch(props["machine"])
    return {**extra, **ours}


# -- values and times -----------------------------------------------------------------------------
_INT64 = (-(2**63), 2**63 - 1)


def any_value(value: object) -> AnyValue:
    """A property value as a typed AnyValue. None is the empty AnyValue: the spec's common
    "AnyValue" definition has an empty value, and "AnyValues expressing an empty value ... MUST
    be stored and passed on". An int outside int64 keeps its digits as a string."""
    out = AnyValue()
    if value is None:
        return out
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            out.int_value = value
        else:
            out.string_value = str(value)
    elif isinstance(value, float):
        out.double_value = value
    else:
        out.string_value = str(value)
    return out


def kv(key: str, value: object) -> KeyValue:
    out = KeyValue(key=key)
    out.value.CopyFrom(any_value(value))
    if value is None:
        out.value.SetInParent()  # present, and empty
    return out


def time_ns(seconds: object) -> int:
    """Epoch seconds (as the spool writes them) -> nanoseconds, exactly: through the decimal text
    (1764900000.123 -> 1764900000123000000, where float arithmetic gives ...122999808). 0 (unset)
    for anything that is not a finite, non-negative number."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return 0
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return 0
    try:
        ns = int(Decimal(repr(seconds)) * 1_000_000_000)
    except (InvalidOperation, ValueError):
        return 0
    return ns if 0 <= ns < 2**64 else 0


def session_id(record: Record) -> str | None:
    value = (record.get("properties") or {}).get(SESSION_PROPERTY)
    return value if isinstance(value, str) and value else None


def _group(records: Iterable[Record], extra: Mapping[str, str]) -> dict[tuple[Any, ...], list[Any]]:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for record in records:
        resource = record_resource(record, extra)
        groups.setdefault(tuple(resource.items()), []).append(record)
    return groups


def _scope_version(records: Sequence[Record]) -> str:
    version = (records[0].get("properties") or {}).get("blackboxai_version")
    return version if isinstance(version, str) else ""


# -- logs -----------------------------------------------------------------------------------------
def logs_request(
    records: Iterable[Record], *, resource: Mapping[str, str], observed_ns: int
) -> ExportLogsServiceRequest:
    """One LogRecord per spooled record, grouped by resource (a spool that spans an upgrade
    holds two service.versions).

    Each: `event_name` and the `event.name` attribute (for backends that read only attributes),
    the body the event's name (as Claude Code's events do; a backend with no event_name still
    shows a line), `time_unix_nano` the event's own time, `observed_time_unix_nano` when the
    uploader builds the request (`observed_ns`: the data model's "time when the event was
    observed by the collection system"), severity INFO (see NOTES.md), attributes: user.id,
    session.id, then every property (the session property becomes session.id)."""
    request = ExportLogsServiceRequest()
    for resource_items, group in _group(records, resource).items():
        resource_logs = request.resource_logs.add()
        resource_logs.resource.attributes.extend(kv(k, v) for k, v in resource_items)
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = SCOPE_NAME
        scope_logs.scope.version = _scope_version(group)
        for record in group:
            name = str(record.get("event", ""))
            log = scope_logs.log_records.add()
            log.time_unix_nano = time_ns(record.get("time"))
            log.observed_time_unix_nano = observed_ns
            log.severity_number = logs_pb2.SEVERITY_NUMBER_INFO
            log.event_name = name
            log.body.string_value = name
            # The event's own id (OTel semantic conventions: log.record.uid), the same on a resend:
            # a collector's pipeline or its backend can drop what it already has.
            attrs = [kv("event.name", name), kv("log.record.uid", str(record.get("id", "")))]
            if isinstance(record.get("user_id"), str):
                attrs.append(kv("user.id", record["user_id"]))
            session = session_id(record)
            if session is not None:
                attrs.append(kv("session.id", session))
            for key, value in (record.get("properties") or {}).items():
                if key != SESSION_PROPERTY:
                    attrs.append(kv(str(key), value))
            log.attributes.extend(attrs)
    return request
