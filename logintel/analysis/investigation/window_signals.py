"""What each service did in a window and in its baseline, counted in DuckDB over raw_events: the figures the
investigation's statistics compare (see `signal_scores`), never the events themselves.

One scan stages the two windows' events with their span attributes parsed once (a temp table, so a read-only
warehouse works), and joins each log line that carries a trace id to the request of its service in that trace
that wrote it (its `owner_route`: the one that started last before the line); every signal below is a grouped query over the staged rows:

- self time: each request's `self_ms` (its duration when it has none), route by route, on the log scale;
- network gap: each call's gap (the caller's `peer.duration_ms` less the callee's own duration, matched by
  trace; with spans, every call's client span less its server span), by the callee's route, on the log scale;
  with spans also per service over all its calls, in and out (a delay in its own network);
- errors: failed requests and error-level log lines of the service, against its requests;
- log patterns: each log template of the service (its call site `code.namespace#code.lineno` when the line
  names one, else the message with its numbers and ids masked), against the requests of the route that writes
  it — so more calls to a route are not more of its lines per call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from logintel.analysis.investigation import trace_calls, window_calls
from logintel.events import LOG_ROUTE
from logintel.store.schema import SERVER_ERROR_SQL

STAGED = "investigation_events"
PREPARED = "investigation_source"  # an hour's events parsed once for its windows' investigations
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


def stage(con: duckdb.DuckDBPyConnection, window: Span, baseline: Span, prepared: Span | None = None) -> int:
    """Stage the events of the window and the baseline; returns how many requests the window holds. Given
    `prepared` (a span `prepare` parsed, holding both), they are taken from there instead of raw_events.

    A request's route is its operation: the method and the route ("GET /orders" and "POST /orders" are two
    things a service does, with their own times and lines). Each log line that carries a trace id is joined to
    the request of its own service in that trace that started last before the line was written (the innermost
    one running; an as-of join): its `owner_route` is that request's route, so a template is counted against
    the requests that could have written it. A line written before any request of its service in its trace
    (clock skew) keeps none and counts against the service."""
    sides = {"ws": window.start, "we": window.end, "bs": baseline.start, "be": baseline.end}
    covered = prepared is not None and all(prepared.start <= s.start and s.end <= prepared.end
                                           for s in (window, baseline))
    if covered:  # a view: the prepared rows are read where each query needs them, never copied
        at = {k: trace_calls.timestamp_sql(v) for k, v in sides.items()}
        con.execute(f"""
            CREATE OR REPLACE TEMP VIEW {STAGED} AS
            SELECT ts >= {at['ws']} AND ts < {at['we']} AS in_window, * FROM {PREPARED}
            WHERE (ts >= {at['ws']} AND ts < {at['we']}) OR (ts >= {at['bs']} AND ts < {at['be']})""")
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {STAGED} AS
            SELECT ts >= $ws AND ts < $we AS in_window, *
            FROM ({_parsed('(ts >= $ws AND ts < $we) OR (ts >= $bs AND ts < $be)')})""", sides | {"paths": _PATHS})
    if not window_calls.stage_calls(con, sides, covered):  # no spans held: calls matched by trace and time
        trace_calls.stage_trace_calls(con, sides, STAGED, covered and trace_calls.prepared(con))
    return con.execute(f"SELECT count(*) FILTER (in_window AND NOT is_log) FROM {STAGED}").fetchone()[0]


def prepare(con: duckdb.DuckDBPyConnection, span: Span) -> None:
    """Parse and join the events of `span` once, for several investigations of windows inside it (an hour's
    5-minute windows and the minutes before them): each then stages from it (`stage(..., prepared=span)`)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PREPARED} AS {_parsed('ts >= $start AND ts < $end')}",
                {"start": span.start, "end": span.end, "paths": _PATHS})
    if not window_calls.prepare_calls(con, span.start, span.end):  # no spans held in the span
        trace_calls.prepare_trace_calls(con, PREPARED)


def unprepare(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {PREPARED}")
    window_calls.drop_calls(con, prepared_too=True)
    trace_calls.drop_trace_calls(con, prepared_too=True)


def _parsed(where: str) -> str:
    """The events `where` selects, with their attributes parsed once and log lines joined to their request."""
    return f"""
        WITH parsed AS (
            SELECT service,
                   CASE WHEN method IS NULL OR route = '{LOG_ROUTE}' THEN route ELSE method || ' ' || route END
                   AS route, ts, duration_ms, trace_id,
                   route = '{LOG_ROUTE}' AS is_log, level IN ('warn', 'error', 'fatal') AS alarming,
                   CASE WHEN route = '{LOG_ROUTE}' THEN level IN ('error', 'fatal') ELSE {SERVER_ERROR_SQL} END
                   AS failed,
                   TRY_CAST(j[1] AS DOUBLE) AS self_ms, j[2] AS peer_service, TRY_CAST(j[3] AS DOUBLE) AS peer_ms,
                   j[4] AS span_kind,
                   CASE WHEN route = '{LOG_ROUTE}' THEN coalesce(j[5] || '#' || j[6], {_MASKED}) END AS template,
                   CASE WHEN route = '{LOG_ROUTE}' THEN {_MASKED} END AS masked, row_number() OVER () AS row_id
            FROM (SELECT *, json_extract_string(attributes, $paths) AS j FROM raw_events WHERE {where})),
             requests AS (SELECT row_id, trace_id, service, ts, route, failed FROM parsed WHERE NOT is_log)
        SELECT *, CAST(NULL AS VARCHAR) AS owner_route, CAST(NULL AS BIGINT) AS owner_id,
               CAST(NULL AS BOOLEAN) AS owner_failed
        FROM parsed WHERE NOT is_log
        UNION ALL
        SELECT l.*, r.route AS owner_route, r.row_id AS owner_id, r.failed AS owner_failed
        FROM (SELECT * FROM parsed WHERE is_log) l
        ASOF LEFT JOIN requests r ON r.trace_id = l.trace_id AND r.service = l.service AND r.ts <= l.ts"""


def drop(con: duckdb.DuckDBPyConnection) -> None:
    trace_calls.drop_relation(con, STAGED)
    window_calls.drop_calls(con)
    trace_calls.drop_trace_calls(con)


def _spans_held(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the staged windows' calls were matched by span ids (`window_calls`)."""
    return con.execute(f"SELECT count(*) > 0 FROM {window_calls.CALLS}").fetchone()[0]


def exposure(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, int, int]]:
    """Per service: (requests in the window, in the baseline, log lines in the window, in the baseline)."""
    rows = con.execute(f"""
        SELECT service, count(*) FILTER (in_window AND NOT is_log), count(*) FILTER (NOT in_window AND NOT is_log),
               count(*) FILTER (in_window AND is_log), count(*) FILTER (NOT in_window AND is_log)
        FROM {STAGED} GROUP BY service""").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def self_time_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per service: its requests' own (self) time, window against baseline, route by route (`_shift`)."""
    return _shift(con, f"""SELECT service, route, in_window, coalesce(self_ms, duration_ms) AS x
                           FROM {STAGED} WHERE NOT is_log AND coalesce(self_ms, duration_ms) IS NOT NULL""")


def network_gap_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per callee service: the network gap of the calls to it (`_shift`, route by the callee's route).

    A call is matched by trace: the caller's event names the callee as its slowest peer, and the callee's
    event in the same trace starts while the caller runs; the slowest such callee event answered that call
    (the caller's event keeps only its slowest call, and no span id of it, so the join is by trace and time);
    the gap is the caller's `peer.duration_ms` less that event's duration. Where the warehouse holds the spans,
    every call is matched exactly by its span ids instead (`window_calls`)."""
    if _spans_held(con):
        return _shift(con, window_calls.gap_source())
    return _shift(con, trace_calls.gap_source())


def both_ends_gap_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """Per service: the network gap of all its calls, to it and out of it (`_shift`, by direction and route) —
    only where the warehouse holds the spans (an event keeps only its slowest call)."""
    return _shift(con, window_calls.both_ends_gap_source()) if _spans_held(con) else {}


def _shift(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, dict]:
    """Per service, from `source` rows (service, route, in_window, x ms): for each of its routes, the requests on
    each side with the mean and sample variance of ln(x) (latency is close to log-normal: a slowdown multiplies
    it), in `strata`; and, for the evidence, the values over their route's baseline p90 on each side and the
    p50/p90 of both. Routes are compared only with themselves (`signal_scores.log_shift_z` combines them), so a
    shift in which routes are called moves nothing."""
    rows = con.execute(f"""
        WITH src AS (SELECT service, route, in_window, x, ln(greatest(x, 0.001)) AS lx FROM ({source})),
             strata AS (SELECT service, [count(*) FILTER (in_window), avg(lx) FILTER (in_window),
                                         var_samp(lx) FILTER (in_window), count(*) FILTER (NOT in_window),
                                         avg(lx) FILTER (NOT in_window), var_samp(lx) FILTER (NOT in_window)]
                                         AS stratum
                        FROM src GROUP BY service, route),
             per_service AS (SELECT service, list(stratum) AS strata FROM strata GROUP BY service),
             bar AS (SELECT service, route, quantile_cont(x, 0.9) AS p90 FROM src WHERE NOT in_window
                     GROUP BY ALL),
             crossing AS (
                SELECT s.service, count(*) FILTER (s.in_window AND s.x > b.p90) AS over_window,
                       count(*) FILTER (s.in_window) AS window, count(*) FILTER (NOT s.in_window AND s.x > b.p90)
                       AS over_baseline, count(*) FILTER (NOT s.in_window) AS baseline,
                       quantile_cont(s.x, 0.5) FILTER (s.in_window) AS p50_window,
                       quantile_cont(s.x, 0.9) FILTER (s.in_window) AS p90_window,
                       quantile_cont(s.x, 0.5) FILTER (NOT s.in_window) AS p50_baseline,
                       quantile_cont(s.x, 0.9) FILTER (NOT s.in_window) AS p90_baseline
                FROM src s JOIN bar b USING (service, route) GROUP BY s.service)
        SELECT c.*, p.strata FROM crossing c JOIN per_service p USING (service)""").fetchall()
    names = ("over_window", "window", "over_baseline", "baseline", "p50_window", "p90_window", "p50_baseline",
             "p90_baseline", "strata")
    return {row[0]: dict(zip(names, row[1:])) for row in rows}


def error_counts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int, str | None]]:
    """Per service: errors (failed requests, and error-level lines but those of a request that failed: one failure
    is one error, however many lines it wrote) in the window, in the baseline, and the window's most frequent
    error message, masked."""
    rows = con.execute(f"""
        SELECT service, count(*) FILTER (in_window AND one), count(*) FILTER (NOT in_window AND one),
               mode(masked) FILTER (in_window AND masked IS NOT NULL)
        FROM (SELECT *, NOT coalesce(owner_failed, false) AS one FROM {STAGED} WHERE failed) GROUP BY service
        HAVING count(*) FILTER (one) > 0""").fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def template_counts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every (service, owner route, template) with lines on either side: (service, route — None for lines joined to
    no request —, template, an example masked, window lines, baseline lines, whether its lines are warnings or
    worse)."""
    return con.execute(f"""
        SELECT service, owner_route, template, any_value(masked), count(*) FILTER (in_window),
               count(*) FILTER (NOT in_window), bool_or(alarming)
        FROM {STAGED} WHERE is_log GROUP BY service, owner_route, template""").fetchall()


def route_exposure(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, int]]:
    """Per (service, route): requests in the window and in the baseline."""
    rows = con.execute(f"""
        SELECT service, route, count(*) FILTER (in_window), count(*) FILTER (NOT in_window)
        FROM {STAGED} WHERE NOT is_log GROUP BY service, route""").fetchall()
    return {(service, route): (w, b) for service, route, w, b in rows}


def call_edges(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """The window's call graph: (caller, callee) → calls, by trace. A callee's caller is the event of another
    service in the same trace that was running when the callee started and started last (the innermost) — or,
    where the warehouse holds the spans, the service whose client span is the callee's parent (`window_calls`)."""
    if _spans_held(con):
        return window_calls.edges(con)
    return trace_calls.edges(con)
