"""Hand-built OTLP/JSON trace documents (ExportTraceServiceRequest as a Collector's file exporter writes it):
spans placed in milliseconds after a fixed start, so a test can say what each event must add up to."""
from __future__ import annotations

import base64

from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE = "5b8efff798038103d269b633813fc60c"
# 2025-06-01T10:00:00Z: safely in the past, so the contract's "not in the future" check never bites.
START_NS = 1_748_772_000_000_000_000
INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5


def attributes(values: dict) -> list[dict]:
    def value(v):
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": v}
    return [{"key": key, "value": value(v)} for key, v in values.items()]


def span(span_id: str, name: str, kind: int, start_ms: float, end_ms: float, parent: str | None = None, *,
         trace: str = TRACE, error: str | None = None, exception: dict | None = None, **attrs) -> dict:
    """One span; `error` sets status ERROR with that description, `exception` adds an exception event."""
    record = {"traceId": trace, "spanId": span_id, "name": name, "kind": kind,
              "startTimeUnixNano": str(START_NS + int(start_ms * 1_000_000)),
              "endTimeUnixNano": str(START_NS + int(end_ms * 1_000_000)),
              "attributes": attributes({key.replace("__", "."): v for key, v in attrs.items()})}
    if parent:
        record["parentSpanId"] = parent
    if error is not None:
        record["status"] = {"code": 2, "message": error}
    if exception is not None:
        record["events"] = [{"timeUnixNano": record["endTimeUnixNano"], "name": "exception",
                             "attributes": attributes(exception)}]
    return record


def document(*services: tuple[str, list[dict]], version: str = "4.2.0", pod: str | None = None) -> dict:
    """An export request: one resource per (service name, spans)."""
    entries = []
    for service, spans in services:
        resource = {"service.name": service, "service.version": version}
        if pod:
            resource["k8s.pod.name"] = pod
        entries.append({"resource": {"attributes": attributes(resource)},
                        "scopeSpans": [{"scope": {"name": "tests.tracer"}, "spans": spans}]})
    return {"resourceSpans": entries}


def as_protobuf(doc: dict) -> ExportTraceServiceRequest:
    """The same request as a protobuf message (ids from hex, as OTLP/JSON differs from proto3 JSON there)."""
    copy = {"resourceSpans": [{**entry, "scopeSpans": [{**scope, "spans": [_base64_ids(s) for s in scope["spans"]]}
                                                       for scope in entry["scopeSpans"]]}
                              for entry in doc["resourceSpans"]]}
    return ParseDict(copy, ExportTraceServiceRequest())


def _base64_ids(record: dict) -> dict:
    return {**record, **{key: base64.b64encode(bytes.fromhex(record[key])).decode()
                         for key in ("traceId", "spanId", "parentSpanId") if record.get(key)}}


def checkout_trace() -> dict:
    """A POST /checkout handled by `checkout`: a controller span (INTERNAL), under it two calls out that
    overlap (inventory 10–40 ms, payments 30–80 ms) and a query (85–95 ms); 100 ms in all, 20 of them its own."""
    return document(("checkout", [
        span("a000000000000001", "POST /checkout", SERVER, 0, 100, "f00000000000000f", http__route="/checkout",
             http__request__method="POST", http__response__status_code=201),
        span("a000000000000002", "CheckoutController.place", INTERNAL, 1, 99, "a000000000000001"),
        span("a000000000000003", "GET", CLIENT, 10, 40, "a000000000000002", peer__service="inventory"),
        span("a000000000000004", "POST", CLIENT, 30, 80, "a000000000000002", server__address="payments.internal"),
        span("a000000000000005", "SELECT orders", CLIENT, 85, 95, "a000000000000002", db__system="postgresql",
             db__namespace="orders"),
    ]), pod="checkout-7d9f-abcde")
