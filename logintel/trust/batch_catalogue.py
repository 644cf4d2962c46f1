"""The catalogues of many scopes in one grouped scan (every name seen a week around each scope, and whether in its
range), and the ids many texts name in one lookup.

Every bound of every scope (its range, and a week either side of it) cuts time into elementary
intervals; the scan groups raw_events by (service, route, method, error_code, interval), and a scope's
week and range are runs of whole intervals, so "seen in the week" and "seen in the range" are exact.
When every bound is a whole minute, minutes are such intervals."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from logintel.store.schema import has_table
from logintel.trust.batch_scopes import registered
from logintel.trust.catalogue import CATALOGUE_HORIZON, Catalogue, catalogue_from_rows, mark_ids
from logintel.trust.scope import GroundingScope


def load_catalogues(con: duckdb.DuckDBPyConnection, scopes: list[GroundingScope]) -> list[Catalogue]:
    # Tables are looked for, not failed on: a failed query would abort the caller's transaction.
    if not has_table(con, "raw_events"):
        return [Catalogue() for _ in scopes]
    if not scopes:
        return []
    bounds = sorted({t for s in scopes for t in (s.start - CATALOGUE_HORIZON, s.end + CATALOGUE_HORIZON,
                                                 s.start, s.end)})
    by_scope: list[list[tuple]] = [[] for _ in scopes]
    for key, *row in (_by_minute if all(_whole_minute(t) for t in bounds) else _by_interval)(con, scopes, bounds):
        by_scope[key].append(tuple(row))
    return [catalogue_from_rows(r) for r in by_scope]


def _whole_minute(t) -> bool:
    return t.second == 0 and t.microsecond == 0


def _by_minute(con, scopes: list[GroundingScope], bounds: list) -> list[tuple]:
    """When every bound is a whole minute (incident windows are), an event lies in a range exactly when its
    minute does: the scan groups by minute, the cheapest grouping there is."""
    ts = pa.timestamp("us")
    spans = pa.table({"key": pa.array(range(len(scopes)), pa.int64()),
                      "week_lo": pa.array([s.start - CATALOGUE_HORIZON for s in scopes], ts),
                      "week_hi": pa.array([s.end + CATALOGUE_HORIZON for s in scopes], ts),
                      "f_start": pa.array([s.start for s in scopes], ts),
                      "f_end": pa.array([s.end for s in scopes], ts)})
    with registered(con, gc_spans=spans):
        return con.execute("""
            WITH seen AS (
                SELECT service, route, method, error_code, date_trunc('minute', ts) AS m
                FROM raw_events WHERE ts >= $lo AND ts < $hi GROUP BY ALL)
            SELECT s.key, g.service, g.route, g.method, g.error_code, bool_or(g.m >= s.f_start AND g.m < s.f_end)
            FROM seen g JOIN gc_spans s ON g.m >= s.week_lo AND g.m < s.week_hi
            GROUP BY ALL""", {"lo": bounds[0], "hi": bounds[-1]}).fetchall()


def _by_interval(con, scopes: list[GroundingScope], bounds: list) -> list[tuple]:
    """Any bounds: the elementary intervals between them, each event placed in its own by an ASOF join."""
    index = {t: i for i, t in enumerate(bounds)}
    cut = pa.table({"i": pa.array(range(len(bounds)), pa.int64()), "t": pa.array(bounds, pa.timestamp("us"))})
    spans = pa.table({"key": pa.array(range(len(scopes)), pa.int64()),
                      "week_lo": [index[s.start - CATALOGUE_HORIZON] for s in scopes],
                      "week_hi": [index[s.end + CATALOGUE_HORIZON] for s in scopes],
                      "in_lo": [index[s.start] for s in scopes], "in_hi": [index[s.end] for s in scopes]})
    with registered(con, gc_cut=cut, gc_spans=spans):
        return con.execute("""
            WITH seen AS (
                SELECT e.service, e.route, e.method, e.error_code, c.i
                FROM (SELECT ts, service, route, method, error_code FROM raw_events
                      WHERE ts >= $lo AND ts < $hi) e
                ASOF JOIN gc_cut c ON e.ts >= c.t
                GROUP BY ALL)
            SELECT s.key, g.service, g.route, g.method, g.error_code, bool_or(g.i >= s.in_lo AND g.i < s.in_hi)
            FROM seen g JOIN gc_spans s ON g.i >= s.week_lo AND g.i < s.week_hi
            GROUP BY ALL""", {"lo": bounds[0], "hi": bounds[-1]}).fetchall()


def lookup_ids_many(con: duckdb.DuckDBPyConnection, wanted: list[tuple[GroundingScope, list[str], list[str],
                                                                       Catalogue]]) -> None:
    """For each (scope, trace ids, request ids, catalogue), add the ids its text names to its catalogue,
    from one query over the week around all the scopes."""
    wanted = [w for w in wanted if w[1] or w[2]]
    if not wanted or not has_table(con, "raw_events"):
        return
    traces = sorted({t for _, named, _, _ in wanted for t in named})
    requests = sorted({r for _, _, named, _ in wanted for r in named})
    rows = con.execute("""
        SELECT lower(trace_id), request_id, event_id, ts FROM raw_events
        WHERE ts >= $since AND ts < $until AND (list_contains($traces, lower(trace_id))
           OR list_contains($requests, request_id) OR list_contains($requests, event_id))""",
                       {"traces": traces or [""], "requests": requests or [""],
                        "since": min(s.start for s, *_ in wanted) - CATALOGUE_HORIZON,
                        "until": max(s.end for s, *_ in wanted) + CATALOGUE_HORIZON}).fetchall()
    for scope, named_traces, named_requests, catalogue in wanted:
        since, until = scope.start - CATALOGUE_HORIZON, scope.end + CATALOGUE_HORIZON
        mark_ids(catalogue, [(t, r, e, scope.start <= ts < scope.end) for t, r, e, ts in rows if since <= ts < until],
                 named_traces, named_requests)
