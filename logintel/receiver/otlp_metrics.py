"""POST /v1/metrics per the OTLP/HTTP specification: an ExportMetricsServiceRequest in protobuf or JSON, answered as
/v1/logs is (same content types, caps, refusals), with an ExportMetricsServiceResponse whose partial_success counts
the data points dead-lettered.

A data point becomes a row of `metric_points`, not an event: the points travel on carrier events
(`adapters.otlp_metrics`), so they land, are dead-lettered and replayed as every event is. A point with no recorded
value (NaN, the no-recorded-value flag) is accepted and kept nowhere, and the answer's message says how many.
"""
from __future__ import annotations

from dataclasses import dataclass

import orjson
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

from logintel.adapters.otlp_metrics import MetricBatch, is_metrics_document, parse_metrics_document, parse_metrics_request
from logintel.adapters.otlp_proto import decode_request
from logintel.receiver.otlp_logs import (
    PROTOBUF,
    ParsedLogs,
    json_request,
    otlp_dead_letter,
    rejection_summary,
)

SOURCE = "receiver /v1/metrics"


@dataclass
class ParsedMetrics(ParsedLogs):
    """The request's carriers (`events`), its rejected data points, and the points the carriers hold."""
    points: int = 0
    empty: int = 0

    @property
    def received(self) -> int:
        return self.points + self.empty + len(self.rejected)

    def source_of(self, index: int) -> str:
        return f"{SOURCE} carrier {self.events[index].event_id}"


def parse_metrics(body: bytes, kind: str, default_service: str = "unknown") -> ParsedMetrics:
    """The request's data points on carriers, and dead letters; OtlpBodyError when it is no request at all."""
    if kind == PROTOBUF:
        batch = parse_metrics_request(decode_request(body, ExportMetricsServiceRequest), default_service=default_service)
    else:
        document = json_request(body, "resourceMetrics", "ExportMetricsServiceRequest", is_metrics_document)
        batch = parse_metrics_document(document, default_service=default_service)
    return _parsed(batch)


def _parsed(batch: MetricBatch) -> ParsedMetrics:
    return ParsedMetrics(events=batch.events, points=batch.points, empty=batch.empty,
                         rejected=[otlp_dead_letter(error, f"{SOURCE} {error.location}") for error in batch.rejected])


def success_body(kind: str, parsed: ParsedMetrics) -> bytes:
    response = ExportMetricsServiceResponse()
    parts = [rejection_summary(parsed.rejected, unit="data points")] if parsed.rejected else []
    if parsed.empty:
        parts.append(f"{parsed.empty} data points accepted with no recorded value (NaN or the no-recorded-value "
                     f"flag): nothing to keep")
    if parts:  # a fully accepted request leaves partial_success unset, as the specification says
        response.partial_success.rejected_data_points = len(parsed.rejected)
        response.partial_success.error_message = "; ".join(parts)
    if kind == PROTOBUF:
        return response.SerializeToString()
    return orjson.dumps(MessageToDict(response))
