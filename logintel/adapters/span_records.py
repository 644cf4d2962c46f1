"""The spans of a unit of work as its event carries them to the warehouse: the unit's own span first, then the
spans its process made under it (INTERNAL spans, calls out, database calls), each a compact record that
`store.span_rows` unpacks into the `spans` table and takes off the event before it is stored.

A record: `id` and `parent` (hex span ids; `parent` null for a root), `kind` (server, client, internal, producer,
consumer), `name`, `start` (Unix nanoseconds), `ms` (duration), `status` (unset, ok, error), `peer` (the service a
call went to: `peer.service`, `server.address`, else the service whose span answered it in the same batch), `db`
(the database system of a database call). A unit with more than `KEPT` spans under it keeps the first `KEPT` by
start time and says how many it left out in `DROPPED_KEY`: the event's size stays bounded (a record is about
150 bytes; a landed line may hold 2 MiB)."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from logintel.adapters.spans import NS_PER_MS, PEER_ATTRIBUTES, Span, first_of
from logintel.events import SPANS_KEY

__all__ = ["DROPPED_KEY", "KEPT", "SPANS_KEY", "peer_of", "record_of", "span_records"]
DROPPED_KEY = "otel.spans_dropped"
KEPT = 1000
STATUS_NAMES = ("unset", "ok", "error")


def span_records(unit: Span, local: Iterable[Span], callee: Callable[[Span], Any] = lambda _call: None
                 ) -> tuple[list[dict], int]:
    """The unit's record and those of the spans under it (first KEPT by start), and how many were left out."""
    under = sorted(local, key=lambda span: (span.start_ns, span.span_id))
    kept = under[:KEPT]
    return [record_of(unit, callee)] + [record_of(span, callee) for span in kept], len(under) - len(kept)


def record_of(span: Span, callee: Callable[[Span], Any]) -> dict:
    """One span's record."""
    record = {"id": span.span_id, "parent": span.parent_id, "kind": span.kind_name, "name": span.name,
              "start": span.start_ns, "ms": span.duration_ns / NS_PER_MS,
              "status": STATUS_NAMES[span.status_code] if 0 <= span.status_code < 3 else "unset"}
    if span.is_call:
        if span.db_system is not None:
            record["db"] = span.db_system
        else:
            peer = peer_of(span, callee)
            if peer is not None:
                record["peer"] = peer
    return record


def peer_of(call: Span, callee: Callable[[Span], Any]) -> Any:
    """The service a call went to: its `peer.service`, else `server.address`, else the service whose span
    answered it (`callee`)."""
    return first_of(call.attributes, PEER_ATTRIBUTES) or callee(call)
