"""The wide event of a unit of work: a SERVER or CONSUMER span, or a root span, with the spans it made in its own
process before the next unit of work (INTERNAL spans, its calls out, its database calls) folded into it — the
slowest call to another service, the database's time and queries, the number of calls, and its self time."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from logintel.adapters.late_spans import late_span_events
from logintel.adapters.otel import LogRecordParts, build_otel_event
from logintel.adapters.pending_spans import PendingSpans
from logintel.adapters.span_records import DROPPED_KEY, SPANS_KEY, peer_of, span_records
from logintel.adapters.spans import (
    DB_NAMESPACE_ATTRIBUTES,
    EXCEPTION_ATTRIBUTES,
    GRPC_STATUS,
    HTTP_STATUS_ATTRIBUTES,
    NS_PER_MS,
    STATUS_ERROR,
    Span,
    TraceBatch,
    first_of,
    rejected_span,
)
from logintel.events import EventValidationError, WideEvent

_GRPC_BY_NAME = {name: number for number, (name, _) in enumerate(GRPC_STATUS)}


def fold_spans(spans: list[Span], batch: TraceBatch, *, default_service: str = "unknown",
               now: datetime | None = None, pending: PendingSpans | None = None) -> TraceBatch:
    """Each unit of work's event, with the spans of its process in this batch folded into it — and, given
    `pending`, the spans of its trace held from earlier batches; this batch's spans whose unit of work has not
    arrived are held there in turn (`batch.held`). A span no unit of work can take (without `pending`, or let go
    by it) lands in a carrier for the spans table (`batch.late`, `late_spans`)."""
    earlier = pending.take({span.trace_id for span in spans}) if pending is not None else []
    everything = spans + earlier
    children: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for span in everything:
        if span.parent_id is not None:
            children[(span.trace_id, span.parent_id)].append(span)

    def callee(call: Span) -> Any:
        """The service that answered a call, when its span is in the batch."""
        return next((child.resource.get("service.name") for child in children.get((call.trace_id, call.span_id), ())
                     if child.starts_unit), None)

    placed: set[int] = set()  # ids of the spans that made or joined an event
    for span in spans:
        if not span.starts_unit:
            continue
        local = _local_spans(span, children)
        try:
            batch.events.append(span_event(span, local, callee, default_service=default_service, now=now))
        except EventValidationError as exc:
            batch.rejected.append(rejected_span(exc, span))
            continue
        placed.add(id(span))
        placed.update(id(member) for member, _ in local)
    batch.folded += sum(1 for span in spans if id(span) in placed and not span.starts_unit)
    waiting = [span for span in spans if id(span) not in placed and not span.starts_unit]
    if pending is None:
        batch.unjoined += len(waiting)
        batch.late.extend(late_span_events(waiting, callee, default_service))
        return batch
    batch.joined_earlier += sum(1 for span in earlier if id(span) in placed)
    batch.held += len(waiting)
    newest = max((span.end_ns for span in spans), default=0)
    released = pending.hold(waiting + [span for span in earlier if id(span) not in placed], newest)
    batch.released += len(released)
    batch.late.extend(late_span_events(released, callee, default_service))
    return batch


def _local_spans(unit: Span, children: Mapping[tuple[str, str], list[Span]]) -> list[tuple[Span, bool]]:
    """The spans `unit` made in its own process, found under it down to the next unit of work, each
    with whether it lies inside a call (an SQL statement inside an ORM's query, say)."""
    found: list[tuple[Span, bool]] = []
    seen = {id(unit)}
    stack = [(child, False) for child in children.get((unit.trace_id, unit.span_id), ())]
    while stack:
        span, inside_call = stack.pop()
        if span.starts_unit or id(span) in seen:
            continue
        seen.add(id(span))
        found.append((span, inside_call))
        nested = inside_call or span.is_call
        stack.extend((child, nested) for child in children.get((span.trace_id, span.span_id), ()))
    return found


def span_event(span: Span, local: list[tuple[Span, bool]], callee: Callable[[Span], Any] = lambda _call: None, *,
               default_service: str = "unknown", now: datetime | None = None) -> WideEvent:
    """The event of a unit of work: the span's own fields, and what its calls in `local` add up to
    (`callee(call)` names the service that answered a call, when the call names none)."""
    attrs = dict(span.attributes)
    failed = span.status_code == STATUS_ERROR or span.exception is not None
    if span.exception:
        attrs.update({key: span.exception[key] for key in EXCEPTION_ATTRIBUTES if key in span.exception})
    if first_of(attrs, HTTP_STATUS_ATTRIBUTES) is None and _grpc_code(attrs) is not None:
        # build_otel_event reads the contract's status from HTTP's attribute; the RPC's code stays as sent.
        attrs[HTTP_STATUS_ATTRIBUTES[0]] = GRPC_STATUS[_grpc_code(attrs)][1]
    if failed and first_of(attrs, ("error.code",)) is None:
        code = _error_code(attrs)
        if code is not None:
            attrs["error.code"] = code
    if not attrs.get("http.route") and span.name:
        attrs["http.route"] = span.name
    attrs["duration_ms"] = span.duration_ns / NS_PER_MS
    attrs["event.id"] = event_id(span)  # the span's own identity: a resent batch makes the same event
    attrs["span.kind"] = span.kind_name
    if span.parent_id:
        attrs["parent_span_id"] = span.parent_id
    if span.status_message and not failed:
        attrs["otel.status_description"] = span.status_message
    attrs.update(call_summary(span, local, callee))
    attrs[SPANS_KEY], dropped = span_records(span, (member for member, _ in local), callee)
    if dropped:
        attrs[DROPPED_KEY] = dropped
    # The exception's message is the error's; a failure without one is told by the status's description.
    message = span.status_message or None if failed and not span.exception else None
    parts = LogRecordParts(
        timestamp=span.started_at, level="error" if failed else "info", message=message,
        trace_id=span.trace_id, span_id=span.span_id, scope_name=span.scope_name)
    return build_otel_event(parts, dict(span.resource), attrs, lambda _service: attrs["event.id"],
                            default_service=default_service, now=now)


def event_id(span: Span) -> str:
    return f"span-{span.trace_id}-{span.span_id}"


def _grpc_code(attrs: Mapping[str, Any]) -> int | None:
    """The gRPC status as its number: `rpc.grpc.status_code`, else `rpc.response.status_code` by name."""
    code = attrs.get("rpc.grpc.status_code")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < len(GRPC_STATUS):
        return code
    name = attrs.get("rpc.response.status_code")
    if not isinstance(name, str) or attrs.get("rpc.system") not in (None, "grpc"):
        return None  # another RPC system's codes (JSON-RPC's -32602) are not gRPC's
    return _GRPC_BY_NAME.get(name)


def _error_code(attrs: Mapping[str, Any]) -> Any:
    """A failed span's error code when it names none: the gRPC status's name, else the semconv error
    class (`error.type`), else the exception's type. Each has few values, as a code should."""
    code = _grpc_code(attrs)
    if code:
        return GRPC_STATUS[code][0]
    return first_of(attrs, ("error.type", "exception.type"))


def call_summary(unit: Span, local: Iterable[tuple[Span, bool]],
                 callee: Callable[[Span], Any] = lambda _call: None) -> dict[str, Any]:
    """What the unit's own calls add up to, named as the analyses read dependencies (`<ns>.duration_ms`
    by the attributes of its namespace): the slowest call to a peer, the database's time and queries,
    and the unit's self time. A call inside another call (SQL under an ORM query) counts once, as the
    outer one; overlapping calls count their time once."""
    calls = [span for span, inside_call in local if span.is_call and not inside_call]
    queries = [span for span in calls if span.db_system is not None]
    peers = [span for span in calls if span.db_system is None]
    summary: dict[str, Any] = {
        "self_ms": (unit.duration_ns - _covered_ns(calls, unit.start_ns, unit.end_ns)) / NS_PER_MS}
    if peers:
        slowest = max(peers, key=lambda span: span.duration_ns)
        peer = peer_of(slowest, callee)
        if peer is not None:
            summary["peer.service"] = peer
        summary["peer.duration_ms"] = slowest.duration_ns / NS_PER_MS
        summary["peer.call_count"] = len(peers)
    if queries:
        slowest = max(queries, key=lambda span: span.duration_ns)
        summary["db.system"] = slowest.db_system
        # An ORM's query may name no database where the SQL under it does: the slowest that names one.
        named = [(span.duration_ns, first_of(span.attributes, DB_NAMESPACE_ATTRIBUTES)) for span, _ in local
                 if span.db_system is not None and first_of(span.attributes, DB_NAMESPACE_ATTRIBUTES) is not None]
        if named:
            summary["db.namespace"] = max(named, key=lambda pair: pair[0])[1]
        summary["db.duration_ms"] = _covered_ns(queries, unit.start_ns, unit.end_ns) / NS_PER_MS
        summary["db.query_count"] = len(queries)
    return summary


def _covered_ns(spans: Iterable[Span], start: int, end: int) -> int:
    """How much of [start, end] the spans cover together, overlaps counted once."""
    total, reach = 0, start
    for begin, finish in sorted((max(s.start_ns, start), min(s.end_ns, end)) for s in spans):
        if finish > reach:
            total += finish - max(begin, reach)
            reach = finish
    return total


