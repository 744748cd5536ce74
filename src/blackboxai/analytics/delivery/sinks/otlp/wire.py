"""OTLP/HTTP on the wire: JSON as the spec writes it, and what a collector's answer says (a
partial success, a google.rpc.Status). open-telemetry/opentelemetry-proto docs/specification.md:
"JSON Protobuf Encoding", "OTLP/HTTP Response", "Failures"."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

__all__ = ["JSON", "PROTOBUF", "parse_partial_success", "parse_status", "to_json"]

Signal = Literal["logs", "metrics"]
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_RESPONSE = 4 * 1024 * 1024  # "OTLP/HTTP Response": clients limit what they parse to 4 MiB
HEX_IDS = frozenset({"trace_id", "span_id", "parent_span_id"})  # bytes written as hex in JSON


def _is_repeated(fd: FieldDescriptor) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf 7 has no `label`; 5.26 has no is_repeated
    if flag is not None:
        return bool(flag)
    return bool(getattr(fd, "label", None) == FieldDescriptor.LABEL_REPEATED)


def _hex_ids(value: Any, desc: Any) -> Any:
    """Standard proto3 JSON (bytes in base64) -> OTLP JSON (trace and span ids in hex)."""
    if not isinstance(value, dict):
        return value
    by_json = {fd.json_name: fd for fd in desc.fields}
    out: dict[str, Any] = {}
    for key, item in value.items():
        fd = by_json.get(key)
        if fd is None:
            out[key] = item
        elif fd.type == fd.TYPE_MESSAGE:
            kids = item if _is_repeated(fd) else [item]
            done = [_hex_ids(k, fd.message_type) for k in kids]
            out[key] = done if _is_repeated(fd) else done[0]
        elif fd.type == fd.TYPE_BYTES and fd.name in HEX_IDS:
            out[key] = base64.b64decode(item).hex()
        else:
            out[key] = item
    return out


def to_json(message: Message) -> bytes:
    """OTLP/JSON: the proto3 JSON mapping with lowerCamelCase keys, enums as integers (the spec:
    "enum name strings MUST NOT be used"), 64-bit integers as decimal strings (the mapping's
    rule; receivers take numbers too), trace/span ids in hex, defaults left out."""
    data = json_format.MessageToDict(message, use_integers_for_enums=True)
    data = _hex_ids(data, message.DESCRIPTOR)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_partial_success(body: bytes, content_type: str | None, signal: Signal) -> tuple[int, str]:
    """A 200's (rejected, error_message); (0, "") for a full success (an empty body included).

    Raises ValueError for a body over 4 MiB (the spec: treat it as a non-retryable error), a
    Content-Type that is neither OTLP encoding, or a body that does not decode; the request was
    still accepted (200), so the caller counts it delivered and says the answer was unreadable."""
    if len(body) > MAX_RESPONSE:
        raise ValueError(f"response body over {MAX_RESPONSE} bytes")
    response: ExportLogsServiceResponse | ExportMetricsServiceResponse
    response = ExportLogsServiceResponse() if signal == "logs" else ExportMetricsServiceResponse()
    if not body:
        return 0, ""
    kind = _media_type(content_type)
    try:
        if kind == PROTOBUF:
            response.ParseFromString(body)
        elif kind == JSON:
            json_format.Parse(body, response, ignore_unknown_fields=True)
        else:
            raise ValueError(f"unexpected Content-Type {content_type!r}")
    except (DecodeError, json_format.ParseError, UnicodeDecodeError) as exc:
        raise ValueError(f"undecodable {signal} response: {exc}") from None
    if not response.HasField("partial_success"):
        return 0, ""
    if isinstance(response, ExportLogsServiceResponse):
        ps_logs = response.partial_success
        return int(ps_logs.rejected_log_records), str(ps_logs.error_message)
    ps_metrics = response.partial_success
    return int(ps_metrics.rejected_data_points), str(ps_metrics.error_message)


_STATUS_CLASS: Any = None


def _status_class() -> Any:
    """google.rpc.Status (code 1, message 2, details 3: repeated Any), declared from its schema
    in a private descriptor pool: no googleapis-common-protos needed, and no clash with it in
    the default pool when it is installed."""
    global _STATUS_CLASS
    if _STATUS_CLASS is None:
        from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

        pool = descriptor_pool.DescriptorPool()
        any_file = descriptor_pb2.FileDescriptorProto()
        any_pb2.DESCRIPTOR.CopyToProto(any_file)
        pool.Add(any_file)
        status_file = descriptor_pb2.FileDescriptorProto(
            name="google/rpc/status.proto",
            package="google.rpc",
            syntax="proto3",
            dependency=["google/protobuf/any.proto"],
        )
        status = status_file.message_type.add(name="Status")
        f = descriptor_pb2.FieldDescriptorProto
        status.field.add(name="code", number=1, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
        status.field.add(name="message", number=2, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        status.field.add(
            name="details",
            number=3,
            type=f.TYPE_MESSAGE,
            label=f.LABEL_REPEATED,
            type_name=".google.protobuf.Any",
        )
        pool.Add(status_file)
        _STATUS_CLASS = message_factory.GetMessageClass(
            pool.FindMessageTypeByName("google.rpc.Status")
        )
    return _STATUS_CLASS


def parse_status(body: bytes, content_type: str | None) -> str:
    """The `message` of a 4xx/5xx's google.rpc.Status ("Failures": every failure body is one),
    or "" when the body is something else (a proxy's page, a text/plain 415)."""
    if not body or len(body) > MAX_RESPONSE:
        return ""
    kind = _media_type(content_type)
    try:
        if kind == PROTOBUF:
            status = _status_class()()
            status.ParseFromString(body)
            return str(status.message)
        if kind == JSON:
            data = json.loads(body)
            message = data.get("message") if isinstance(data, dict) else None
            return message if isinstance(message, str) else ""
    except (DecodeError, ValueError, UnicodeDecodeError):
        return ""
    return ""
