"""Spans no unit of work of theirs could take, kept for the spans table.

A call or internal span is summarised onto its unit of work's event (`span_events`). One whose unit of work came
in an earlier request (an asynchronous child that ended after its parent), went to another process, never
came, or waited past the hold window (`pending_spans`) has no event to ride on. It is not thrown away: such
spans travel as a carrier event per trace and service (`LATE_SPANS_PREFIX` id, route `LATE_SPANS_ROUTE`, their
records under `otel.spans` as a unit's are) that the warehouse moves into the `spans` table and never stores as
an event, so it counts as no request, error or log line, and the call graph still sees the call. A resent batch makes the
same carrier ids (the trace and its first span's id), so it adds nothing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from logintel.adapters.span_records import KEPT, SPANS_KEY, record_of
from logintel.adapters.spans import Span
from logintel.events import LATE_SPANS_PREFIX, LATE_SPANS_ROUTE, WideEvent


def late_span_events(spans: list[Span], callee: Callable[[Span], Any] = lambda _call: None,
                     default_service: str = "unknown") -> list[WideEvent]:
    """The carriers of `spans`: one per trace and service, at most KEPT spans each, earliest first."""
    groups: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for span in spans:
        service = span.resource.get("service.name")
        groups[(span.trace_id, service if isinstance(service, str) and service.strip() else default_service)
               ].append(span)
    carriers = []
    for (trace, service), members in groups.items():
        members.sort(key=lambda span: (span.start_ns, span.span_id))
        for at in range(0, len(members), KEPT):
            chunk = members[at:at + KEPT]
            carriers.append(WideEvent(
                event_id=f"{LATE_SPANS_PREFIX}{trace}-{chunk[0].span_id}", timestamp=chunk[0].started_at,
                service=service, route=LATE_SPANS_ROUTE, duration_ms=0.0, level="debug", trace_id=trace,
                attributes={SPANS_KEY: [record_of(span, callee) for span in chunk]}))
    return carriers
