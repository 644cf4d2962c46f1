"""OTLP/protobuf logs (an ExportLogsServiceRequest, as OTLP/HTTP exporters POST it) → WideEvents.

The same mapping as OTLP/JSON (`otel.build_otel_event`), read from the message classes of
`opentelemetry-proto` without a detour through JSON. A record that carries no `event.id` or
`log.record.uid` gets an id hashed from its own bytes and its resource's, so an exporter that
resends a batch after a timeout makes the same ids again and the warehouse keeps one copy.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from logintel.adapters.otel import (SEVERITY_LEVELS, LogRecordParts, OtlpRecordError, body_message, build_otel_event,
                                    record_level)
from logintel.adapters.lenient_protobuf import repaired
from logintel.events import EventValidationError, WideEvent


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OtlpBodyError(ValueError):
    """A body that is no OTLP export request at all: the whole request is refused (400)."""


def decode_request(body: bytes, message: type = ExportLogsServiceRequest):
    """The export request (`message`: logs by default, or ExportTraceServiceRequest) in a protobuf body. A string
    field that is not UTF-8 costs only its own bytes (U+FFFD), not the request (`lenient_protobuf`)."""
    try:
        return message.FromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        try:
            return repaired(body, message)
        except (DecodeError, RuntimeError, ValueError):
            raise OtlpBodyError(f"the body is not an OTLP {message.__name__} in protobuf: {exc}") from None


def parse_export_request(request: ExportLogsServiceRequest, *, default_service: str = "unknown",
                         now: datetime | None = None) -> Iterator[WideEvent | OtlpRecordError]:
    """Every log record of the request: a WideEvent, or the error that rejected it (with a one-record
    OTLP/JSON document of it, so a dead letter can be read back by `logintel ingest`)."""
    for r, resource_logs in enumerate(request.resource_logs):
        where = f"resourceLogs[{r}]"
        resource_bytes = resource_logs.resource.SerializeToString(deterministic=True)
        try:
            resource = key_values(resource_logs.resource.attributes, "resource.attributes")
        except EventValidationError as exc:
            for s, scope_logs in enumerate(resource_logs.scope_logs):
                for i, record in enumerate(scope_logs.log_records):
                    yield _rejected(exc, f"{where}.scopeLogs[{s}].logRecords[{i}]", record, resource_logs, scope_logs)
            continue
        for s, scope_logs in enumerate(resource_logs.scope_logs):
            scope_name = scope_logs.scope.name or None
            for i, record in enumerate(scope_logs.log_records):
                try:
                    yield _event(record, dict(resource), resource_bytes, scope_name, default_service, now)
                except EventValidationError as exc:
                    yield _rejected(exc, f"{where}.scopeLogs[{s}].logRecords[{i}]", record, resource_logs, scope_logs)


def _event(record, resource: dict[str, Any], resource_bytes: bytes, scope_name: str | None,
           default_service: str, now: datetime | None) -> WideEvent:
    parts = LogRecordParts(
        timestamp=_timestamp(record), level=_level(record),
        message=_message(record), trace_id=record.trace_id.hex() or None, span_id=record.span_id.hex() or None,
        event_name=record.event_name or None, scope_name=scope_name)
    attrs = key_values(record.attributes, "attributes")

    def identity(service: Any) -> str:
        digest = hashlib.blake2b(digest_size=12)
        digest.update(str(service).encode("utf-8", "surrogatepass"))
        digest.update(resource_bytes)
        digest.update(record.SerializeToString(deterministic=True))
        return "otel-" + digest.hexdigest()

    return build_otel_event(parts, resource, attrs, identity, default_service=default_service, now=now)


def _timestamp(record) -> datetime:
    """The record's time (else when it was observed) as a UTC datetime, without a detour through text."""
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    if not nanos:
        raise EventValidationError("timestamp", None,
                                   "record has no time_unix_nano or observed_time_unix_nano (both missing or 0)")
    try:
        return _EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise EventValidationError("timestamp", nanos, "time_unix_nano is out of range") from None


def _level(record) -> str:
    number = record.severity_number
    if 1 <= number <= 24:
        return SEVERITY_LEVELS[(number - 1) // 4]
    return record_level({"severityNumber": number, "severityText": record.severity_text})


def _message(record) -> Any:
    return body_message(any_value(record.body, "body")) if record.HasField("body") else None


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def key_values(items, where: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in items:  # every attribute of every record: scalars without a call or a place name
        value = item.value
        kind = value.WhichOneof("value")
        if kind in _SCALARS:
            result[item.key] = getattr(value, kind)
        else:
            result[item.key] = any_value(value, f"{where}.{item.key}")
    return result


def any_value(value, where: str) -> Any:
    """An AnyValue message as a plain Python value (bytes as base64 text, as OTLP/JSON writes them)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind in _SCALARS:
        return getattr(value, kind)
    if kind == "array_value":
        return [any_value(item, f"{where}[{i}]") for i, item in enumerate(value.array_value.values)]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values, where)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    raise EventValidationError(where, kind, "unknown AnyValue type")


def _rejected(error: EventValidationError, location: str, record, resource_logs, scope_logs) -> OtlpRecordError:
    return OtlpRecordError(error, location, record=_json_record(record),
                           resource=_json_message(resource_logs.resource) if resource_logs.HasField("resource") else None,
                           scope=_json_message(scope_logs.scope) if scope_logs.HasField("scope") else None)


def _json_record(record) -> dict:
    """The record in OTLP/JSON: as protobuf's JSON mapping, but with hex trace and span ids (the
    OTLP exception to base64 bytes), so the dead letter reads back through the JSON adapter."""
    document = _json_message(record)
    for key, raw in (("traceId", record.trace_id), ("spanId", record.span_id)):
        if raw:
            document[key] = raw.hex()
    return document


def _json_message(message) -> dict:
    from google.protobuf.json_format import MessageToDict  # only for the rare rejected record
    return MessageToDict(message)
