"""OpenTelemetry JSON logs (OTLP/JSON, as the Collector's file exporter writes them) → WideEvents.

One log record becomes one WideEvent; a record that cannot be adapted becomes an `OtlpRecordError`
that knows where it sat in the document, so one bad record never costs its neighbours.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from logintel.events import (
    LEVEL_ALIASES,
    LEVELS,
    LOG_ROUTE,
    EventValidationError,
    WideEvent,
    format_timestamp,
    parse_event,
)

# Contract field -> OTel attribute keys that can fill it, best first (current semconv, then older names).
FIELD_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "route": ("http.route", "url.path", "http.target"),
    "method": ("http.request.method", "http.method"),
    "status": ("http.response.status_code", "http.status_code"),
    "error.code": ("error.code",),
    "error.type": ("error.type", "exception.type"),
    "request_id": ("request.id", "http.request.id", "request_id"),
    "user_id": ("user.id", "enduser.id"),
    "client_ip": ("client.address", "http.client_ip"),
    "user_agent": ("user_agent.original", "http.user_agent"),
    "sample_rate": ("sample_rate",),
}
EVENT_ID_ATTRIBUTES = ("event.id", "log.record.uid")
# Durations in milliseconds, then durations that the HTTP semconv metrics define in seconds.
DURATION_MS_ATTRIBUTES = ("duration_ms",)
DURATION_S_ATTRIBUTES = ("http.server.request.duration", "http.client.request.duration")
_STRING_FIELDS = ("method", "error.code", "error.type", "request_id", "user_id", "client_ip", "user_agent")

# Severity text as different logging stacks spell it, for records that carry no severityNumber.
SEVERITY_TEXT = {
    **{level: level for level in LEVELS}, **LEVEL_ALIASES,
    "information": "info", "notice": "info", "verbose": "debug", "fine": "debug", "finer": "debug",
    "finest": "debug", "severe": "error", "emergency": "fatal", "emerg": "fatal", "alert": "fatal",
    "panic": "fatal",
}
# severityNumber 1–24, four to a level (TRACE 1–4 … FATAL 21–24)
SEVERITY_LEVELS = ("debug", "debug", "info", "warn", "error", "fatal")
_SEVERITY_NAMES = {
    "TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21,
}


class OtlpRecordError(EventValidationError):
    """An EventValidationError with the record's place in its document and what is needed to replay it."""

    def __init__(self, error: EventValidationError, location: str, record: Any = None,
                 resource: Any = None, scope: Any = None):
        super().__init__(error.field, error.value, error.reason, error.line_problem)
        self.location = location
        self.record = record
        self.resource = resource
        self.scope = scope

    def replay_document(self) -> dict | None:
        """A one-record OTLP document holding just this record, readable by the same ingest path."""
        if self.record is None:
            return None
        scope_logs: dict[str, Any] = {"logRecords": [self.record]}
        if self.scope is not None:
            scope_logs["scope"] = self.scope
        resource_logs: dict[str, Any] = {"scopeLogs": [scope_logs]}
        if self.resource is not None:
            resource_logs["resource"] = self.resource
        return {"resourceLogs": [resource_logs]}


def is_otlp_document(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "resourceLogs" in obj


def looks_like_otlp_record(obj: Any) -> bool:
    """A bare log record (one JSON line per record, as some shippers write) rather than a wide event."""
    if not isinstance(obj, Mapping) or "event_id" in obj:
        return False
    return "timeUnixNano" in obj or "observedTimeUnixNano" in obj or (
        isinstance(obj.get("body"), Mapping) and ("severityNumber" in obj or "severityText" in obj))


def unwrap_value(value: Any, where: str) -> Any:
    """An OTLP AnyValue ({"stringValue": ...}, {"intValue": "12"}, ...) as a plain Python value."""
    if not isinstance(value, Mapping):
        raise EventValidationError(where, value, "expected an OTLP AnyValue object")
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        # OTLP/JSON writes 64-bit integers as strings, because JavaScript numbers lose precision.
        raw = value["intValue"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw)
            except ValueError:
                pass
        raise EventValidationError(where, raw, "intValue is not an integer")
    if "doubleValue" in value:
        raw = value["doubleValue"]
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):  # proto3 JSON spells non-finite doubles "NaN", "Infinity"
            try:
                return float(raw)
            except ValueError:
                pass
        raise EventValidationError(where, raw, "doubleValue is not a number")
    if "boolValue" in value:
        raw = value["boolValue"]
        if not isinstance(raw, bool):
            raise EventValidationError(where, raw, "boolValue is not a boolean")
        return raw
    if "arrayValue" in value:
        items = (value["arrayValue"] or {}).get("values") or []
        if not isinstance(items, list):
            raise EventValidationError(where, items, "arrayValue.values is not a list")
        return [unwrap_value(item, f"{where}[{i}]") for i, item in enumerate(items)]
    if "kvlistValue" in value:
        return unwrap_attributes((value["kvlistValue"] or {}).get("values") or [], where)
    if "bytesValue" in value:
        return value["bytesValue"]  # base64 text; decoding would only make it unprintable
    raise EventValidationError(where, value, "unknown AnyValue type")


def unwrap_attributes(attributes: Any, where: str = "attributes") -> dict[str, Any]:
    """OTLP KeyValue list ([{"key": k, "value": AnyValue}]) → dict; a plain mapping passes through."""
    if attributes is None:
        return {}
    if isinstance(attributes, Mapping):
        return dict(attributes)
    if not isinstance(attributes, list):
        raise EventValidationError(where, attributes, "expected a list of {key, value} objects")
    result: dict[str, Any] = {}
    for item in attributes:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise EventValidationError(where, item, "expected a {key, value} object with a string key")
        key = item["key"]
        result[key] = unwrap_value(item.get("value") or {}, f"{where}.{key}")
    return result


def parse_otlp_document(obj: Any, *, default_service: str = "unknown",
                        now: datetime | None = None) -> Iterator[WideEvent | EventValidationError]:
    """Every log record of one OTLP/JSON document: a WideEvent, or the error that rejected it."""
    resource_logs = obj.get("resourceLogs") if isinstance(obj, Mapping) else None
    if not isinstance(resource_logs, list):
        error = EventValidationError("resourceLogs", resource_logs, "expected a list")
        yield OtlpRecordError(error, "resourceLogs")
        return
    for r, entry in enumerate(resource_logs):
        where = f"resourceLogs[{r}]"
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        try:
            if not isinstance(entry, Mapping):
                raise EventValidationError(where, entry, "expected an object")
            if resource is not None and not isinstance(resource, Mapping):
                raise EventValidationError(f"{where}.resource", resource, "expected an object")
            resource_attrs = unwrap_attributes((resource or {}).get("attributes"), "resource.attributes")
            scope_logs = entry.get("scopeLogs") or entry.get("instrumentationLibraryLogs") or []
            if not isinstance(scope_logs, list):
                raise EventValidationError("scopeLogs", scope_logs, "expected a list")
        except EventValidationError as exc:
            yield OtlpRecordError(exc, where)
            continue
        for s, scope_entry in enumerate(scope_logs):
            scope_where = f"{where}.scopeLogs[{s}]"
            records = scope_entry.get("logRecords") if isinstance(scope_entry, Mapping) else None
            if not isinstance(records, list):
                yield OtlpRecordError(EventValidationError("logRecords", records, "expected a list"), scope_where)
                continue
            scope = scope_entry.get("scope")
            for i, record in enumerate(records):
                try:
                    yield parse_otel_record(record, resource_attrs, scope=scope,
                                            default_service=default_service, now=now)
                except EventValidationError as exc:
                    yield OtlpRecordError(exc, f"{scope_where}.logRecords[{i}]", record, resource, scope)


def parse_otel_record(record: Any, resource_attrs: Any, *, scope: Any = None,
                      default_service: str = "unknown", now: datetime | None = None) -> WideEvent:
    """One OTLP/JSON log record plus its resource's attributes (KeyValue list or plain dict) → WideEvent."""
    if not isinstance(record, Mapping):
        raise EventValidationError("<record>", record, "expected an OTLP log record object")
    resource = unwrap_attributes(resource_attrs, "resource.attributes")
    attrs = unwrap_attributes(record.get("attributes"))
    return build_otel_event(
        LogRecordParts(timestamp=record_timestamp(record), level=record_level(record), message=_message(record.get("body")),
                       trace_id=record.get("traceId"), span_id=record.get("spanId"),
                       event_name=record.get("eventName"),
                       scope_name=scope.get("name") if isinstance(scope, Mapping) else None),
        resource, attrs, lambda service: _record_hash(record, service, resource),
        default_service=default_service, now=now)


@dataclass(frozen=True, slots=True)
class LogRecordParts:
    """What an OTLP log record says outside its attributes, decoded from JSON or protobuf alike."""
    timestamp: str | datetime
    level: str
    message: Any = None
    trace_id: str | None = None  # hex
    span_id: str | None = None   # hex
    event_name: str | None = None
    scope_name: str | None = None


def build_otel_event(parts: LogRecordParts, resource: dict[str, Any], attrs: dict[str, Any],
                     identity: Callable[[Any], str], *, default_service: str = "unknown",
                     now: datetime | None = None) -> WideEvent:
    """The mapping itself: resource and record attributes (plain dicts, consumed) → WideEvent.
    `identity(service)` makes the event_id of a record that carries no event.id/log.record.uid."""
    flat: dict[str, Any] = {}
    service = resource.pop("service.name", None) or attrs.pop("service.name", None) or default_service
    flat["service"] = service
    flat["timestamp"] = parts.timestamp
    flat["level"] = parts.level
    flat["event_id"] = _take_first(attrs, EVENT_ID_ATTRIBUTES) or identity(service)
    if not isinstance(flat["event_id"], str):
        flat["event_id"] = str(flat["event_id"])

    for name, keys in FIELD_ATTRIBUTES.items():
        for key in keys:  # _take_first, inlined: this loop runs for every record
            value = attrs.get(key)
            if value is not None and value != "":
                flat[name] = attrs.pop(key)
                break
    flat.setdefault("route", LOG_ROUTE)
    if isinstance(flat.get("method"), str):
        flat["method"] = flat["method"].upper()
    for name in ("status", "sample_rate"):
        if isinstance(flat.get(name), str) and flat[name].strip().isdigit():
            flat[name] = int(flat[name])
    for name in _STRING_FIELDS:
        # OTel lets user.id or error.code be integers; the contract keeps identifiers as text.
        if isinstance(flat.get(name), (int, float)) and not isinstance(flat[name], bool):
            flat[name] = str(flat[name])

    flat["duration_ms"] = _duration_ms(attrs)
    message = parts.message
    exception_message = attrs.pop("exception.message", None)
    if message is None:
        message = exception_message
    elif exception_message is not None:
        attrs["exception.message"] = exception_message
    if message is not None:
        flat["error.message"] = message if isinstance(message, str) else str(message)

    if parts.trace_id:
        flat["trace_id"] = parts.trace_id
    elif attrs.get("trace_id"):
        flat["trace_id"] = attrs.pop("trace_id")
    if parts.span_id:
        attrs["span_id"] = parts.span_id
    if parts.event_name:
        attrs["event.name"] = parts.event_name
    if parts.scope_name:
        attrs.setdefault("otel.scope.name", parts.scope_name)

    # The service's version is the contract's `version` attribute (what a deploy's contrast names).
    version = resource.pop("service.version", None)
    if version not in (None, "") and attrs.get("version") in (None, ""):
        attrs["version"] = version if isinstance(version, str) else str(version)
    # Resource attributes (deployment.environment, host.name, ...) describe every record of the
    # resource; the record's own attributes win on a clash.
    flat["attributes"] = {**resource, **attrs}
    try:
        return parse_event(flat, now=now)
    except EventValidationError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # The contract parser should only raise EventValidationError; keep one bad record from
        # stopping the rest of the document if it does not.
        raise EventValidationError("<record>", None, f"rejected by the contract parser: "
                                                     f"{type(exc).__name__}: {exc}") from exc


def _take_first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """Pop the first present key; the alternatives that lost stay in attributes as extra detail."""
    for key in keys:
        if attrs.get(key) not in (None, ""):
            return attrs.pop(key)
    return None


def record_timestamp(record: Mapping[str, Any]) -> str:
    for key in ("timeUnixNano", "observedTimeUnixNano"):
        raw = record.get(key)
        if raw in (None, "", 0, "0"):
            continue
        try:
            nanos = int(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            nanos = None
        if nanos is None:
            raise EventValidationError("timestamp", raw, f"{key} is not an integer count of nanoseconds")
        try:
            ts = datetime.fromtimestamp(nanos // 1_000_000_000, tz=timezone.utc) + timedelta(
                microseconds=(nanos % 1_000_000_000) // 1000)
        except (OverflowError, OSError, ValueError):
            raise EventValidationError("timestamp", raw, f"{key} is out of range") from None
        return format_timestamp(ts)
    raise EventValidationError("timestamp", None,
                               "record has no timeUnixNano or observedTimeUnixNano (both missing or 0)")


def record_level(record: Mapping[str, Any]) -> str:
    number = record.get("severityNumber")
    if isinstance(number, str):
        text = number.strip().upper().removeprefix("SEVERITY_NUMBER_")
        if text.isdigit():
            number = int(text)
        elif text.rstrip("234") in _SEVERITY_NAMES:
            number = _SEVERITY_NAMES[text.rstrip("234")]
        elif text == "UNSPECIFIED":
            number = 0
    if number not in (None, 0):
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 24:
            raise EventValidationError("level", number, "severityNumber must be an integer from 1 to 24")
        return SEVERITY_LEVELS[(number - 1) // 4]
    text = record.get("severityText")
    if text in (None, ""):
        return "info"
    if not isinstance(text, str) or text.strip().lower() not in SEVERITY_TEXT:
        raise EventValidationError("level", text, "unknown severityText and no severityNumber")
    return SEVERITY_TEXT[text.strip().lower()]


def _duration_ms(attrs: dict[str, Any]) -> Any:
    for keys, scale in ((DURATION_MS_ATTRIBUTES, 1.0), (DURATION_S_ATTRIBUTES, 1000.0)):
        value = _take_first(attrs, keys)
        if value is None:
            continue
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return value  # the contract check names the field and the bad value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value * scale
        return value
    return 0.0


def _message(body: Any) -> Any:
    return None if body is None else body_message(unwrap_value(body, "body"))


def body_message(value: Any) -> Any:
    """A record's unwrapped body as the event's message: None when empty, a map or list as JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return value


def _record_hash(record: Mapping[str, Any], service: Any, resource: Mapping[str, Any]) -> str:
    # The resource is part of the identity: two services can emit byte-identical records.
    material = json.dumps({"service": service, "resource": resource, "record": record},
                          sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return "otel-" + hashlib.sha1(material.encode("utf-8", "surrogatepass")).hexdigest()[:24]
