"""Grounding one text alone (`verify_text_alone`): its scope's catalogue, the ids it names and its fact sheet
each queried on their own, then its claims judged by `logintel.trust.verify.judge_claims`. Production grounds
every text through `logintel.trust.batch.verify_texts` (a text alone is a batch of one); this is the oracle the
batch is tested and benchmarked against."""
from __future__ import annotations

import time

import duckdb

from logintel.trust.catalogue import CATALOGUE_HORIZON, Catalogue, catalogue_from_rows, mark_ids
from logintel.trust.claims import extract_claims
from logintel.trust.grounding_report import GroundingReport
from logintel.trust.scope import GroundingScope
from logintel.trust.verify import judge_claims, named_attributes, named_ids, needs_facts
from tests.support.fact_sheet_oracle import compute_facts


def verify_text_alone(con: duckdb.DuckDBPyConnection, text: str, scope: GroundingScope) -> GroundingReport:
    """Every claim of `text` checked against raw_events / windowed_aggregates within `scope`."""
    started = time.perf_counter()
    catalogue = load_catalogue(con, scope)
    claims = extract_claims(text, catalogue.known, scope.start.date())
    lookup_ids(con, scope, named_ids(claims, "trace_id"), named_ids(claims, "request_id"), catalogue)
    sheet = compute_facts(con, scope, named_attributes(claims)) if needs_facts(claims) else None
    report = judge_claims(text, scope, claims, catalogue, sheet)
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    return report


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
