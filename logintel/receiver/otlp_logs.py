"""POST /v1/logs per the OTLP/HTTP specification: an ExportLogsServiceRequest in protobuf or JSON,
answered in the request's content type with an ExportLogsServiceResponse (partial_success counting
the records dead-lettered) or, for a body refused whole, a google.rpc.Status."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf.json_format import MessageToDict
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from logintel.adapters.nesting import parse_otlp_document_within
from logintel.adapters.otel import OtlpRecordError, is_otlp_document
from logintel.adapters.otlp_proto import OtlpBodyError, decode_request, parse_export_request
from logintel.events import WideEvent, dumps_json, loads_json
from logintel.store.dead_letters import DeadLetter

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SOURCE = "receiver /v1/logs"
# google.rpc.Code for the HTTP statuses the receiver answers with
GRPC_CODES = {400: 3, 401: 16, 413: 8, 415: 3, 429: 8, 503: 14}


def media_type(content_type: str | None) -> str | None:
    """PROTOBUF or JSON for the request's Content-Type (parameters ignored), None for anything else."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    return None


@dataclass
class ParsedLogs:
    events: list[WideEvent] = field(default_factory=list)
    rejected: list[DeadLetter] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.events) + len(self.rejected)

    def source_of(self, index: int) -> str:
        return f"{SOURCE} event {self.events[index].event_id}"

    def refuse(self, letters: dict[int, DeadLetter]) -> None:
        """Move the events at these indices to the rejected, as these dead letters."""
        if letters:
            self.rejected.extend(letters.values())
            self.events = [event for index, event in enumerate(self.events) if index not in letters]


def parse_logs(body: bytes, kind: str, default_service: str = "unknown") -> ParsedLogs:
    """The request's records as events and dead letters; OtlpBodyError when it is no request at all.
    (A protobuf request is bounded by its decoder, 100 levels; an OTLP/JSON one record by record.)"""
    if kind == PROTOBUF:
        items = parse_export_request(decode_request(body), default_service=default_service)
    else:
        document = json_request(body, "resourceLogs", "ExportLogsServiceRequest", is_otlp_document)
        items = parse_otlp_document_within(document, default_service=default_service)
    parsed = ParsedLogs()
    for item in items:
        if isinstance(item, WideEvent):
            parsed.events.append(item)
        else:
            parsed.rejected.append(otlp_dead_letter(item, f"{SOURCE} {item.location}"))
    return parsed


def json_request(body: bytes, key: str, request: str, is_request: Callable[[Any], bool]) -> dict:
    """An OTLP/JSON body as its document (`{key: []}` for an empty one, as protobuf's JSON mapping writes it);
    OtlpBodyError when it is not JSON or not that request (`is_request` says, e.g. it holds `key`)."""
    try:
        document = loads_json(body) if body.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise OtlpBodyError(f"the body is not JSON: {exc}") from None
    if document == {}:
        return {key: []}
    if not is_request(document):
        raise OtlpBodyError(f"the body is not an OTLP {request}: no {key}")
    return document


def otlp_dead_letter(error: OtlpRecordError, source: str, payload: bytes = b"") -> DeadLetter:
    """A rejected OTLP record's dead letter: its one-record OTLP/JSON document (which `logintel ingest`
    reads back), else `payload` (a resource or scope rejected whole has no one record to keep)."""
    document = error.replay_document()
    if document is not None:
        payload = dumps_json(document)
    return DeadLetter(stage="ingest", source=source, cause=error.dead_letter_cause,
                      reason=f"{error.location}: {error}", payload=payload)


def rejection_summary(rejected: list[DeadLetter], shown: int = 3, unit: str = "log records") -> str:
    """What partial_success.error_message says: how many, by cause, and the first few reasons."""
    if not rejected:
        return ""
    causes = Counter(letter.cause for letter in rejected)
    by_cause = ", ".join(f"{cause} x{count}" for cause, count in causes.most_common())
    reasons = "; ".join(letter.reason for letter in rejected[:shown])
    more = f"; and {len(rejected) - shown} more" if len(rejected) > shown else ""
    return f"{len(rejected)} {unit} rejected ({by_cause}): {reasons}{more}"


def success_body(kind: str, rejected: int, message: str) -> bytes:
    response = ExportLogsServiceResponse()
    if rejected:  # a fully accepted request leaves partial_success unset, as the specification says
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    if kind == PROTOBUF:
        return response.SerializeToString()
    return orjson.dumps(MessageToDict(response))


def status_body(kind: str, http_status: int, message: str) -> bytes:
    status = Status(code=GRPC_CODES.get(http_status, 2), message=message)
    if kind == PROTOBUF:
        return status.SerializeToString()
    return orjson.dumps({"code": status.code, "message": message})
