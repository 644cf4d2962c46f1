"""A span as both OTLP encodings decode it, what one batch of spans made, the checks a span must pass, and
the dead letter of a span that fails them (a one-span OTLP/JSON document `logintel ingest` reads back)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from logintel.adapters.otel import OtlpRecordError
from logintel.events import MAX_DURATION_MS, EventValidationError, WideEvent

# SpanKind as OTLP numbers it; UNSPECIFIED is read as INTERNAL, as the specification allows.
UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = range(6)
KIND_NAMES = ("internal", "internal", "server", "client", "producer", "consumer")
KIND_ENUM = {f"SPAN_KIND_{name}": number for number, name in
              enumerate(("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"))}
STATUS_ERROR = 2
STATUS_ENUM = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
# The spans that start a unit of work in their process.
UNIT_KINDS = frozenset({SERVER, CONSUMER})
CALL_KINDS = frozenset({CLIENT, PRODUCER})

# gRPC status codes by number, with the HTTP status gRPC-Gateway answers for each: the contract's status
# is HTTP's, and an RPC server's 5xx are the codes the gRPC conventions count as server errors.
GRPC_STATUS = (("OK", 200), ("CANCELLED", 499), ("UNKNOWN", 500), ("INVALID_ARGUMENT", 400),
               ("DEADLINE_EXCEEDED", 504), ("NOT_FOUND", 404), ("ALREADY_EXISTS", 409), ("PERMISSION_DENIED", 403),
               ("RESOURCE_EXHAUSTED", 429), ("FAILED_PRECONDITION", 400), ("ABORTED", 409), ("OUT_OF_RANGE", 400),
               ("UNIMPLEMENTED", 501), ("INTERNAL", 500), ("UNAVAILABLE", 503), ("DATA_LOSS", 500),
               ("UNAUTHENTICATED", 401))
HTTP_STATUS_ATTRIBUTES = ("http.response.status_code", "http.status_code")
# Current semconv first, then the names it replaced.
DB_SYSTEM_ATTRIBUTES = ("db.system.name", "db.system")
DB_NAMESPACE_ATTRIBUTES = ("db.namespace", "db.name")
PEER_ATTRIBUTES = ("peer.service", "server.address")
EXCEPTION_ATTRIBUTES = ("exception.type", "exception.message", "exception.stacktrace")

NS_PER_MS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class OtlpSpanError(OtlpRecordError):
    """A span that cannot be adapted, with its place and what a one-span OTLP/JSON document needs."""

    def replay_document(self) -> dict | None:
        if self.record is None:
            return None
        scope_spans = {"spans": [self.record], **({"scope": self.scope} if self.scope is not None else {})}
        resource = {"resource": self.resource} if self.resource is not None else {}
        return {"resourceSpans": [{**resource, "scopeSpans": [scope_spans]}]}


@dataclass(slots=True)
class Span:
    """One span as both encodings decode it: ids in hex, times in nanoseconds, attributes plain."""
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: int
    name: str
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    exception: dict[str, Any] | None  # the attributes of its last `exception` event
    resource: dict[str, Any]          # shared by the spans of one resource: copied before it is changed
    scope_name: str | None
    location: str
    origin: tuple                     # (span, resource, scope) as sent, for a dead letter

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def starts_unit(self) -> bool:
        return self.kind in UNIT_KINDS or self.parent_id is None

    @property
    def started_at(self) -> datetime:
        """The start as a UTC time; EventValidationError when no time can hold it."""
        try:
            return _EPOCH + timedelta(microseconds=self.start_ns // 1000)
        except OverflowError:
            raise EventValidationError("timestamp", self.start_ns, "start_time_unix_nano is out of range") from None

    @property
    def kind_name(self) -> str:
        """server, client, internal, producer or consumer (an unknown kind reads as internal)."""
        return KIND_NAMES[self.kind] if 0 <= self.kind < len(KIND_NAMES) else "internal"

    @property
    def is_call(self) -> bool:
        """A call out of the process: to another service, a broker or a database."""
        return self.kind in CALL_KINDS or self.db_system is not None

    @property
    def db_system(self) -> Any:
        return first_of(self.attributes, DB_SYSTEM_ATTRIBUTES)


@dataclass
class TraceBatch:
    """What one request or document of spans made: events, rejected spans, and the spans that made no
    event of their own — folded into their unit of work's event, held until it arrives (`pending_spans`), or
    unjoined (that event is elsewhere). `joined_earlier` and `released` count spans of earlier batches: held
    ones this batch's units folded in, and held ones let go (unjoined after all) while this batch was read."""
    events: list[WideEvent] = field(default_factory=list)
    rejected: list[OtlpSpanError] = field(default_factory=list)
    folded: int = 0
    unjoined: int = 0
    held: int = 0
    joined_earlier: int = 0
    released: int = 0
    late: list[WideEvent] = field(default_factory=list)  # carriers of the unjoined and released spans (`late_spans`)

    @property
    def spans(self) -> int:
        """This batch's own spans, each counted once."""
        return len(self.events) + len(self.rejected) + self.folded + self.unjoined + self.held

    def items(self) -> Iterator[WideEvent | OtlpSpanError]:
        yield from self.events
        yield from self.late
        yield from self.rejected


def checked(span: Span) -> Span:
    """The span, or EventValidationError naming what makes it unusable: its ids or its times."""
    if len(span.trace_id) != 32 or not _is_hex(span.trace_id) or not span.trace_id.strip("0"):
        raise EventValidationError("trace_id", span.trace_id, "expected 16 bytes in hex, not all zero")
    if len(span.span_id) != 16 or not _is_hex(span.span_id) or not span.span_id.strip("0"):
        raise EventValidationError("span_id", span.span_id, "expected 8 bytes in hex, not all zero")
    if span.parent_id is not None and (len(span.parent_id) != 16 or not _is_hex(span.parent_id)):
        raise EventValidationError("parent_span_id", span.parent_id, "expected 8 bytes in hex, or none for a root")
    if span.parent_id is not None and not span.parent_id.strip("0"):
        span.parent_id = None  # all zero is how some exporters write "no parent"
    if not span.start_ns:
        raise EventValidationError("timestamp", None, "span has no start_time_unix_nano")
    span.started_at  # noqa: B018  (raises for a start no time can hold, whatever the span's kind)
    if span.end_ns < span.start_ns:
        raise EventValidationError("duration_ms", (span.end_ns - span.start_ns) / NS_PER_MS,
                                   "the span ends before it starts (or has no end_time_unix_nano)")
    if span.duration_ns > MAX_DURATION_MS * NS_PER_MS:
        raise EventValidationError("duration_ms", span.duration_ns / NS_PER_MS,
                                   f"the span lasts over {MAX_DURATION_MS / 3_600_000:g} hours")
    return span


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def rejected_span(error: EventValidationError, span: Span) -> OtlpSpanError:
    record, resource, scope = span.origin
    if isinstance(record, Mapping):
        return OtlpSpanError(error, span.location, record, resource, scope)
    return rejected_proto(error, span.location, span.origin)


def rejected_proto(error: EventValidationError, location: str, origin: tuple) -> OtlpSpanError:
    span, resource_spans, scope_spans = origin
    resource = _json_message(resource_spans.resource) if resource_spans.HasField("resource") else None
    scope = _json_message(scope_spans.scope) if scope_spans.HasField("scope") else None
    return OtlpSpanError(error, location, _json_span_record(span), resource, scope)


def _json_span_record(span) -> dict:
    """The span in OTLP/JSON: protobuf's JSON mapping with hex ids (the OTLP exception to base64 bytes),
    so its dead letter reads back through the JSON path."""
    document = _json_message(span)
    for key, raw in (("traceId", span.trace_id), ("spanId", span.span_id), ("parentSpanId", span.parent_span_id)):
        if raw:
            document[key] = raw.hex()
    return document


def _json_message(message) -> dict:
    from google.protobuf.json_format import MessageToDict  # only for the rare rejected span
    return MessageToDict(message)


def first_of(attrs: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None
