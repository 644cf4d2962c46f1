"""OpenTelemetry traces (OTLP/JSON and OTLP/protobuf) → WideEvents: one event per unit of work (the folding is
`span_events`, the span and its checks `spans`).

A unit of work is a SERVER or CONSUMER span (a request or a message handled), or a root span of any
kind (a job, a script, a call made from no request). The spans it made in its own process before the
next unit of work — INTERNAL spans, its CLIENT and PRODUCER calls out, its database calls — are folded
into its event, when they arrive in the same batch or were held from an earlier one (`pending_spans`): the
slowest call to another service, the database's time and queries, the number of calls, and the span's self
time (its duration less the time it waited on those calls). A span folded so, held, or one whose unit of work
came earlier or never (unjoined), lands no event of its own.

Every span is checked first: a span without good ids, with an end before its start or a duration past
the contract's, becomes an `OtlpSpanError` at its place in the request, with a one-span OTLP/JSON
document of it for its dead letter, and takes no neighbour with it. Both encodings are decoded into
the same `Span`, so what follows is one mapping.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from logintel.adapters.nesting import NestingError, clipped, too_deep
from logintel.adapters.otel import unwrap_attributes
from logintel.adapters.otlp_proto import key_values
from logintel.adapters.pending_spans import PendingSpans
from logintel.adapters.span_events import fold_spans
from logintel.adapters.spans import (
    KIND_ENUM,
    STATUS_ENUM,
    OtlpSpanError,
    Span,
    TraceBatch,
    checked,
    rejected_proto,
)
from logintel.events import MAX_NESTING_DEPTH, EventValidationError, nesting_depth

# A span sits 6 levels into its document (resourceSpans[…].scopeSpans[…].spans[…]), a resource 3: a
# document no deeper than the limit plus 3 holds nothing too deep, and is read without measuring each span.
_DOCUMENT_MARGIN = 3


def is_trace_document(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "resourceSpans" in obj


# -- OTLP/JSON ----------------------------------------------------------------------------------------

def parse_trace_document(document: Any, *, default_service: str = "unknown",
                         now: datetime | None = None, pending: PendingSpans | None = None) -> TraceBatch:
    """Every span of one OTLP/JSON ExportTraceServiceRequest (as a Collector's file exporter writes it)."""
    batch = TraceBatch()
    entries = document.get("resourceSpans") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        batch.rejected.append(OtlpSpanError(EventValidationError("resourceSpans", entries, "expected a list"),
                                            "resourceSpans"))
        return batch
    guarded = nesting_depth(document, MAX_NESTING_DEPTH + _DOCUMENT_MARGIN) > MAX_NESTING_DEPTH + _DOCUMENT_MARGIN
    spans = _json_spans(entries, guarded, batch.rejected)
    return fold_spans(spans, batch, default_service=default_service, now=now, pending=pending)


def _json_spans(entries: list, guarded: bool, rejected: list[OtlpSpanError]) -> list[Span]:
    spans: list[Span] = []
    for r, entry in enumerate(entries):
        where = f"resourceSpans[{r}]"
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        scopes = (entry.get("scopeSpans") or entry.get("instrumentationLibrarySpans") or []) \
            if isinstance(entry, Mapping) else None
        if not isinstance(scopes, list):
            error = EventValidationError(where, entry, "expected an object with a scopeSpans list")
            rejected.append(OtlpSpanError(error, where))
            continue
        resource_attrs = _resource_attributes(resource, guarded)
        for s, scope_entry in enumerate(scopes):
            scope_where = f"{where}.scopeSpans[{s}]"
            records = scope_entry.get("spans") if isinstance(scope_entry, Mapping) else None
            if not isinstance(records, list):
                rejected.append(OtlpSpanError(EventValidationError("spans", records, "expected a list"), scope_where))
                continue
            scope = scope_entry.get("scope")
            for i, record in enumerate(records):
                location = f"{scope_where}.spans[{i}]"
                try:
                    if isinstance(resource_attrs, EventValidationError):
                        raise resource_attrs  # each span of the resource is rejected, and counted
                    if guarded and (too_deep(record) or too_deep(scope)):
                        raise NestingError()
                    spans.append(_json_span(record, resource_attrs, scope, location, (record, resource, scope)))
                except EventValidationError as exc:
                    rejected.append(_rejected_json(exc, location, record, resource, scope))
    return spans


def _resource_attributes(resource: Any, guarded: bool) -> dict[str, Any] | EventValidationError:
    """A resource's attributes, read once for all its spans; the error that rejects them all, if any."""
    try:
        if guarded and too_deep(resource):
            raise NestingError("resource")
        if resource is not None and not isinstance(resource, Mapping):
            raise EventValidationError("resource", resource, "expected an object")
        return unwrap_attributes((resource or {}).get("attributes"), "resource.attributes")
    except EventValidationError as exc:
        return exc


def _json_span(record: Any, resource: dict[str, Any], scope: Any, location: str, origin: tuple) -> Span:
    if not isinstance(record, Mapping):
        raise EventValidationError("<span>", record, "expected an OTLP span object")
    status = record.get("status") or {}
    if not isinstance(status, Mapping):
        raise EventValidationError("status", status, "expected an object")
    return checked(Span(
        trace_id=_hex_id(record.get("traceId")), span_id=_hex_id(record.get("spanId")),
        parent_id=_hex_id(record.get("parentSpanId")) or None,
        kind=_enum(record.get("kind"), KIND_ENUM, "kind"), name=_text(record.get("name")),
        start_ns=_nanos(record.get("startTimeUnixNano"), "timestamp"),
        end_ns=_nanos(record.get("endTimeUnixNano"), "duration_ms"),
        status_code=_enum(status.get("code"), STATUS_ENUM, "status"), status_message=_text(status.get("message")),
        attributes=unwrap_attributes(record.get("attributes")),
        exception=_json_exception(record.get("events")),
        resource=resource, scope_name=scope.get("name") or None if isinstance(scope, Mapping) else None,
        location=location, origin=origin))


def _json_exception(events: Any) -> dict[str, Any] | None:
    if events is None:
        return None
    if not isinstance(events, list):
        raise EventValidationError("events", events, "expected a list of span events")
    found = None
    for e, event in enumerate(events):
        if isinstance(event, Mapping) and event.get("name") == "exception":
            found = unwrap_attributes(event.get("attributes"), f"events[{e}].attributes")
    return found


def _rejected_json(error: EventValidationError, location: str, record: Any, resource: Any,
                   scope: Any) -> OtlpSpanError:
    if error.line_problem != "nesting":
        return OtlpSpanError(error, location, record, resource, scope)
    # Cut at the limit, so the dead letter can still be encoded, and read.
    rejected = OtlpSpanError(error, location, clipped(record), clipped(resource), clipped(scope))
    rejected.line_problem = "nesting"  # OtlpRecordError keeps field and reason only; the cause is this
    return rejected


def _hex_id(raw: Any) -> str:
    """An id as OTLP/JSON writes it (hex); checked for its length by `checked`."""
    if raw in (None, ""):
        return ""
    return raw.lower() if isinstance(raw, str) else repr(raw)


def _text(raw: Any) -> str:
    return raw if isinstance(raw, str) else "" if raw is None else str(raw)


def _enum(raw: Any, names: dict[str, int], where: str) -> int:
    """An enum as a number, or (proto3 JSON allows it) as its name."""
    if raw in (None, ""):
        return 0
    if isinstance(raw, str) and raw in names:
        return names[raw]
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(names):
        return raw
    raise EventValidationError(where, raw, f"expected one of {', '.join(names)} or its number")


def _nanos(raw: Any, where: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    if raw in (None, ""):
        return 0  # `checked` says which time is missing
    raise EventValidationError(where, raw, "expected an integer count of nanoseconds")


# -- OTLP/protobuf ------------------------------------------------------------------------------------

def parse_trace_request(request: ExportTraceServiceRequest, *, pending: PendingSpans | None = None,
                        default_service: str = "unknown",
                        now: datetime | None = None) -> TraceBatch:
    """Every span of an ExportTraceServiceRequest (protobuf is bounded by its decoder: 100 levels)."""
    batch = TraceBatch()
    spans: list[Span] = []
    for r, resource_spans in enumerate(request.resource_spans):
        try:
            resource = key_values(resource_spans.resource.attributes, "resource.attributes")
        except EventValidationError as exc:
            resource = exc
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            for i, span in enumerate(scope_spans.spans):
                origin = (span, resource_spans, scope_spans)
                location = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                try:
                    if isinstance(resource, EventValidationError):
                        raise resource
                    spans.append(_proto_span(span, resource, scope_spans.scope.name or None, location, origin))
                except EventValidationError as exc:
                    batch.rejected.append(rejected_proto(exc, location, origin))
    return fold_spans(spans, batch, default_service=default_service, now=now, pending=pending)


def _proto_span(span, resource: dict[str, Any], scope_name: str | None, location: str, origin: tuple) -> Span:
    exception = None
    for e, event in enumerate(span.events):
        if event.name == "exception":
            exception = key_values(event.attributes, f"events[{e}].attributes")
    return checked(Span(
        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), parent_id=span.parent_span_id.hex() or None,
        kind=span.kind, name=span.name, start_ns=span.start_time_unix_nano, end_ns=span.end_time_unix_nano,
        status_code=span.status.code, status_message=span.status.message,
        attributes=key_values(span.attributes, "attributes"), exception=exception, resource=resource,
        scope_name=scope_name, location=location, origin=origin))
