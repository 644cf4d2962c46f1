"""Which names and ids exist in the warehouse at all, and which were seen in a scope's time range."""
from __future__ import annotations

from dataclasses import dataclass, field

from datetime import timedelta

import duckdb

from logintel.trust.entities import KnownEntities
from logintel.trust.scope import GroundingScope


@dataclass
class Catalogue:
    known: KnownEntities = field(default_factory=KnownEntities)
    # kind -> value -> seen in the scope's time range
    seen: dict[str, dict[str, bool]] = field(default_factory=dict)
    methods: dict[str, set[str]] = field(default_factory=dict)  # route -> methods it was called with

    def lookup(self, kind: str, value: str) -> bool | None:
        """None: not in the warehouse at all; else whether it was seen in the scope's range."""
        return self.seen.get(kind, {}).get(value)


# How far around the scope "exists in the warehouse" looks: a name unseen for a week is as good as
# invented for an operator, and bounding the scan keeps grounding cheap on a warehouse of months.
CATALOGUE_HORIZON = timedelta(days=7)


def load_catalogue(con: duckdb.DuckDBPyConnection, scope: GroundingScope) -> Catalogue:
    """Every (service, route, method, error_code) in raw_events within a week of the scope, in one
    grouped scan."""
    try:
        rows = con.execute("""
            SELECT service, route, method, error_code, bool_or(ts >= $start AND ts < $end)
            FROM raw_events WHERE ts >= $since AND ts < $until GROUP BY ALL""",
                           {"start": scope.start, "end": scope.end, "since": scope.start - CATALOGUE_HORIZON,
                            "until": scope.end + CATALOGUE_HORIZON}).fetchall()
    except duckdb.CatalogException:
        return Catalogue()
    return catalogue_from_rows(rows)


def catalogue_from_rows(rows: list[tuple]) -> Catalogue:
    """The catalogue of (service, route, method, error_code, seen in the scope's range) rows."""
    catalogue = Catalogue(known=KnownEntities.from_rows(rows))
    for service, route, method, code, in_range in rows:
        for kind, value in (("service", service), ("route", route), ("error_code", code)):
            if value is not None:
                kinds = catalogue.seen.setdefault(kind, {})
                kinds[value] = kinds.get(value, False) or in_range
        if method:
            catalogue.methods.setdefault(route, set()).add(method.upper())
    return catalogue


def lookup_ids(con: duckdb.DuckDBPyConnection, scope: GroundingScope, traces: list[str],
               requests: list[str], catalogue: Catalogue) -> None:
    """Add the trace and request ids a text names; a request id may also be an event id."""
    if not traces and not requests:
        return
    try:
        rows = con.execute("""
            SELECT lower(trace_id), request_id, event_id, ts >= $start AND ts < $end FROM raw_events
            WHERE ts >= $since AND ts < $until AND (list_contains($traces, lower(trace_id))
               OR list_contains($requests, request_id) OR list_contains($requests, event_id))""",
                           {"start": scope.start, "end": scope.end, "traces": traces or [""],
                            "requests": requests or [""], "since": scope.start - CATALOGUE_HORIZON,
                            "until": scope.end + CATALOGUE_HORIZON}).fetchall()
    except duckdb.CatalogException:
        return
    mark_ids(catalogue, rows, traces, requests)


def mark_ids(catalogue: Catalogue, rows: list[tuple], traces: list[str], requests: list[str]) -> None:
    """Mark the named ids among (trace id, request id, event id, in the scope's range) rows."""
    wanted = {"trace_id": set(traces), "request_id": set(requests)}
    for trace, request, event, in_range in rows:
        for kind, value in (("trace_id", trace), ("request_id", request), ("request_id", event)):
            if value in wanted[kind]:
                kinds = catalogue.seen.setdefault(kind, {})
                kinds[value] = kinds.get(value, False) or in_range
