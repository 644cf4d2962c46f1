"""POST /v1/traces per the OTLP/HTTP specification: an ExportTraceServiceRequest in protobuf or JSON,
answered as /v1/logs is (same content types, caps, refusals), with an ExportTraceServiceResponse whose
partial_success counts the spans dead-lettered.

A span that becomes an event, and one folded into its unit of work's event, is accepted. So is a span
whose unit of work is not in the request: it is no fault of the client's; it is held for a later request,
or kept as a late span for the spans table (`adapters.late_spans`), and the answer says so in
partial_success's message (with rejected_spans 0, as the specification has it for a warning).
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from logintel.adapters.otlp_proto import decode_request
from logintel.adapters.otlp_spans import is_trace_document, parse_trace_document, parse_trace_request
from logintel.adapters.pending_spans import HOLD, NS_PER_MINUTE, PendingSpans
from logintel.adapters.spans import TraceBatch
from logintel.receiver.otlp_logs import (
    PROTOBUF,
    ParsedLogs,
    json_request,
    otlp_dead_letter,
    rejection_summary,
)

SOURCE = "receiver /v1/traces"


@dataclass
class ParsedSpans(ParsedLogs):
    """The request's events and dead letters, and the spans that made no event of their own."""
    folded: int = 0     # summarised onto their unit of work's event
    unjoined: int = 0   # their unit of work is not in this request, and nothing holds them
    held: int = 0       # their unit of work is not in this request yet: held for a later one (pending_spans)
    late: int = 0       # carriers among `events` of spans no unit of work took (`late_spans`): no span of their own

    @property
    def received(self) -> int:
        return len(self.events) - self.late + len(self.rejected) + self.folded + self.unjoined + self.held

    def source_of(self, index: int) -> str:
        return f"{SOURCE} event {self.events[index].event_id}"


def parse_traces(body: bytes, kind: str, default_service: str = "unknown",
                 pending: PendingSpans | None = None) -> ParsedSpans:
    """The request's spans as events and dead letters; OtlpBodyError when it is no request at all. Given
    `pending` (the receiver's), spans whose unit of work is not in the request are held for a later one."""
    if kind == PROTOBUF:
        batch = parse_trace_request(decode_request(body, ExportTraceServiceRequest), default_service=default_service,
                                    pending=pending)
    else:
        document = json_request(body, "resourceSpans", "ExportTraceServiceRequest", is_trace_document)
        batch = parse_trace_document(document, default_service=default_service, pending=pending)
    return _parsed(batch)


def _parsed(batch: TraceBatch) -> ParsedSpans:
    return ParsedSpans(events=batch.events + batch.late, late=len(batch.late), folded=batch.folded,
                       unjoined=batch.unjoined, held=batch.held,
                       rejected=[otlp_dead_letter(error, f"{SOURCE} {error.location}") for error in batch.rejected])


def answer_message(parsed: ParsedSpans) -> str:
    """partial_success's message: the rejected spans by cause, and the spans no event holds yet."""
    parts = []
    if parsed.rejected:
        parts.append(rejection_summary(parsed.rejected, unit="spans"))
    if parsed.unjoined:
        parts.append(f"{parsed.unjoined} spans accepted without an event: their SERVER, CONSUMER or root span "
                     f"was not in this request, so they could not be summarised onto it (they are kept as late "
                     f"spans, for the call graph)")
    if parsed.held:
        parts.append(f"{parsed.held} spans held until their SERVER, CONSUMER or root span arrives (up to "
                     f"{HOLD // NS_PER_MINUTE} minutes), to be summarised onto its event")
    return "; ".join(parts)


def success_body(kind: str, parsed: ParsedSpans) -> bytes:
    response = ExportTraceServiceResponse()
    message = answer_message(parsed)
    if message:  # a fully accepted request leaves partial_success unset, as the specification says
        response.partial_success.rejected_spans = len(parsed.rejected)
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    return orjson.dumps(MessageToDict(response))
