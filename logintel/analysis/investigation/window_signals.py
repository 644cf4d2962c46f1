"""What each service did in a window and in its baseline, counted in DuckDB over raw_events: the counts the
investigation's statistic compares (see `signal_scores`), never the events themselves.

One scan stages the two windows' events with their span attributes parsed once (a temp table, so a read-only
warehouse works); every signal below is a grouped query over it. Each signal is a count of "bad" things in
the window and in the baseline, with the exposure both are measured against (the service's requests):

- self time: requests whose `self_ms` exceeds the p90 of its own (service, route) in the baseline;
- network gap: calls to the service whose gap (the caller's `peer.duration_ms` less the callee's own duration,
  matched by trace) exceeds the callee's baseline p90 gap;
- errors: failed requests and error-level log lines of the service;
- log patterns: each log template of the service (its call site `code.namespace#code.lineno` when the line
  names one, else the message with its numbers and ids masked).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from logintel.events import LOG_ROUTE
from logintel.store.schema import SERVER_ERROR_SQL

STAGED = "investigation_events"
# The attributes read, in one JSON parse a row (flat dotted keys, as the adapters write them).
_PATHS = ['$."self_ms"', '$."peer.service"', '$."peer.duration_ms"', '$."span.kind"', '$."code.namespace"',
          '$."code.lineno"']
# Numbers, hex ids and UUIDs vary between lines of one template; 160 characters say which template it is.
_MASKED = r"""regexp_replace(left(coalesce(error_message, ''), 160), '[0-9A-Fa-f-]{8,}|[0-9]+', '<*>', 'g')"""


@dataclass(frozen=True)
class Span:
    """A time range [start, end), naive UTC as raw_events holds it."""
    start: datetime
    end: datetime


def stage(con: duckdb.DuckDBPyConnection, window: Span, baseline: Span) -> int:
    """Stage the events of the window and the baseline; returns how many requests the window holds."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {STAGED} AS
        SELECT ts >= $ws AND ts < $we AS in_window, service, route, ts, duration_ms, trace_id,
               route = '{LOG_ROUTE}' AS is_log, level IN ('warn', 'error', 'fatal') AS alarming,
               CASE WHEN route = '{LOG_ROUTE}' THEN level IN ('error', 'fatal') ELSE {SERVER_ERROR_SQL} END AS failed,
               TRY_CAST(j[1] AS DOUBLE) AS self_ms, j[2] AS peer_service, TRY_CAST(j[3] AS DOUBLE) AS peer_ms,
               j[4] AS span_kind,
               CASE WHEN route = '{LOG_ROUTE}' THEN coalesce(j[5] || '#' || j[6], {_MASKED}) END AS template,
               CASE WHEN route = '{LOG_ROUTE}' THEN {_MASKED} END AS masked
        FROM (SELECT *, json_extract_string(attributes, $paths) AS j FROM raw_events
              WHERE (ts >= $ws AND ts < $we) OR (ts >= $bs AND ts < $be))""",
                {"ws": window.start, "we": window.end, "bs": baseline.start, "be": baseline.end, "paths": _PATHS})
    return con.execute(f"SELECT count(*) FILTER (in_window AND NOT is_log) FROM {STAGED}").fetchone()[0]


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {STAGED}")


def exposure(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, int, int]]:
    """Per service: (requests in the window, in the baseline, log lines in the window, in the baseline)."""
    rows = con.execute(f"""
        SELECT service, count(*) FILTER (in_window AND NOT is_log), count(*) FILTER (NOT in_window AND NOT is_log),
               count(*) FILTER (in_window AND is_log), count(*) FILTER (NOT in_window AND is_log)
        FROM {STAGED} GROUP BY service""").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def self_time_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per service: requests over their route's baseline p90 self time, each side, with the p50/p90 of both."""
    rows = con.execute(f"""
        WITH req AS (SELECT service, route, in_window, coalesce(self_ms, duration_ms) AS ms
                     FROM {STAGED} WHERE NOT is_log),
             bar AS (SELECT service, route, quantile_cont(ms, 0.9) AS p90 FROM req WHERE NOT in_window
                     GROUP BY ALL HAVING count(*) >= 5)
        SELECT r.service, count(*) FILTER (r.in_window AND r.ms > b.p90), count(*) FILTER (r.in_window),
               count(*) FILTER (NOT r.in_window AND r.ms > b.p90), count(*) FILTER (NOT r.in_window),
               quantile_cont(r.ms, 0.5) FILTER (r.in_window), quantile_cont(r.ms, 0.9) FILTER (r.in_window),
               quantile_cont(r.ms, 0.5) FILTER (NOT r.in_window), quantile_cont(r.ms, 0.9) FILTER (NOT r.in_window)
        FROM req r JOIN bar b USING (service, route) GROUP BY r.service""").fetchall()
    return {row[0]: _quantile_row(row) for row in rows}


def network_gap_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per callee service: calls whose gap exceeds its baseline p90 gap, each side, with p50/p90 of both.

    A call is matched by trace: the caller's event names the callee as its slowest peer, and the callee's
    event in the same trace starts while the caller runs; the slowest such callee event answered that call
    (the caller's event keeps only its slowest call, and no span id of it, so the join is by trace and time)."""
    rows = con.execute(f"""
        WITH callers AS (SELECT trace_id, service, ts, duration_ms, peer_service, peer_ms, in_window,
                                row_number() OVER () AS call_id
                         FROM {STAGED} WHERE NOT is_log AND peer_ms IS NOT NULL AND peer_service IS NOT NULL
                           AND trace_id IS NOT NULL),
             callees AS (SELECT trace_id, service, ts, duration_ms FROM {STAGED}
                         WHERE NOT is_log AND trace_id IS NOT NULL),
             calls AS (SELECT c.call_id, any_value(c.in_window) AS in_window, any_value(c.peer_service) AS service,
                              any_value(c.peer_ms) - max(e.duration_ms) AS gap
                       FROM callers c JOIN callees e ON e.trace_id = c.trace_id AND e.service = c.peer_service
                        AND e.service <> c.service AND e.ts >= c.ts
                        AND e.ts <= c.ts + to_microseconds(CAST(c.duration_ms * 1000 AS BIGINT))
                       GROUP BY c.call_id),
             bar AS (SELECT service, quantile_cont(gap, 0.9) AS p90 FROM calls WHERE NOT in_window
                     GROUP BY ALL HAVING count(*) >= 5)
        SELECT g.service, count(*) FILTER (g.in_window AND g.gap > b.p90), count(*) FILTER (g.in_window),
               count(*) FILTER (NOT g.in_window AND g.gap > b.p90), count(*) FILTER (NOT g.in_window),
               quantile_cont(g.gap, 0.5) FILTER (g.in_window), quantile_cont(g.gap, 0.9) FILTER (g.in_window),
               quantile_cont(g.gap, 0.5) FILTER (NOT g.in_window), quantile_cont(g.gap, 0.9) FILTER (NOT g.in_window)
        FROM calls g JOIN bar b USING (service) GROUP BY g.service""").fetchall()
    return {row[0]: _quantile_row(row) for row in rows}


def error_counts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, str | None]]:
    """Per service: errors (failed requests and error-level lines) in the window, in the baseline, and the
    window's most frequent error message, masked."""
    rows = con.execute(f"""
        SELECT service, count(*) FILTER (in_window), count(*) FILTER (NOT in_window),
               mode(masked) FILTER (in_window AND masked IS NOT NULL)
        FROM {STAGED} WHERE failed GROUP BY service""").fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def template_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int, int, bool]]:
    """Every (service, template) with lines on either side: (service, template, an example masked, window,
    baseline, whether its lines are warnings or worse)."""
    return con.execute(f"""
        SELECT service, template, any_value(masked), count(*) FILTER (in_window), count(*) FILTER (NOT in_window),
               bool_or(alarming)
        FROM {STAGED} WHERE is_log GROUP BY service, template""").fetchall()


def call_edges(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """The window's call graph: (caller, callee) → calls, by trace. A callee's caller is the event of another
    service in the same trace that was running when the callee started and started last (the innermost)."""
    rows = con.execute(f"""
        WITH ev AS (SELECT trace_id, service, ts, ts + to_microseconds(CAST(duration_ms * 1000 AS BIGINT)) AS ends,
                           row_number() OVER () AS id
                    FROM {STAGED} WHERE in_window AND NOT is_log AND trace_id IS NOT NULL)
        SELECT caller, callee, count(*) FROM (
            SELECT e.id, any_value(e.service) AS callee, arg_max(c.service, c.ts) AS caller
            FROM ev e JOIN ev c ON c.trace_id = e.trace_id AND c.service <> e.service AND c.ts <= e.ts AND c.ends >= e.ts
            GROUP BY e.id)
        GROUP BY ALL""").fetchall()
    return {(caller, callee): n for caller, callee, n in rows}


def _quantile_row(row: tuple) -> dict:
    return {"over_window": row[1], "window": row[2], "over_baseline": row[3], "baseline": row[4],
            "p50_window": row[5], "p90_window": row[6], "p50_baseline": row[7], "p90_baseline": row[8]}
