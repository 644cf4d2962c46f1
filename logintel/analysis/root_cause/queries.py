"""The contrast analysis's SQL: every incident of an hour in one pass over raw_events.

`rc_sides` holds each scope's failing events and its baseline events; `rc_values` flattens their
fields into (attribute, JSON type, value) rows, nested objects one level deep (db.instance from
{"db": {"instance": …}}); the aggregates read from those. Values that are not strings, booleans or
numbers, and strings over MAX_VALUE_CHARS, are left out, so nulls, mixed types and huge values
cannot fail the run.
"""
from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from logintel.analysis.root_cause.scopes import ContrastScope
from logintel.store.schema import ERROR_SQL, SERVER_ERROR_SQL

MAX_VALUE_CHARS = 200
# Attributes that describe the failure, never its cause: OpenTelemetry's `error.*` and `exception.*` (the class
# of error the operation ended with, the exception it raised), logintel's own `error.source` (how the failure
# was known: `log` when only its log lines said so), OpenTracing's and Jaeger's `error` tag (true on a failed
# span) and the span status as Jaeger and Zipkin exporters write it into tags (`otel.status_code`,
# `otel.status_description`). Failing events carry them because they failed, so against a baseline of healthy
# requests they are always "overrepresented" — and every failure of a system that reports them would share that
# one "cause" (on Train-Ticket's day, error.source=log chained four faults at travel and travel2 into one
# incident opened for verification-code's).
DESCRIBES_FAILURE = ("error.", "exception.")                                   # prefixes
DESCRIBES_FAILURE_NAMES = ("error", "otel.status_code", "otel.status_description")  # whole names
# Attributes that say what an event is, not what it met: `span.kind` (a server span, a consumer's; log lines have
# none). An operation's kind never changes, so it looks overrepresented only where a group of log lines and a
# group of requests are compared together.
DESCRIBES_EVENT = ("span.kind",)
# Top-level fields that can carry a cause (the others define the failing set or are unique per event).
TOP_LEVEL_FIELDS = ("user_agent", "client_ip", "method")
CATEGORICAL_TYPES = "('VARCHAR', 'BOOLEAN')"
NUMERIC_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE')"
# Per (scope, unit, attribute), the values kept for ranking: a value no more frequent than these
# cannot explain the failures, and an attribute with 10k distinct values must not flood the result.
TOP_VALUES = 8
CARDINALITY_SAMPLE_ROWS = 20000


def _scope_tables(scopes: list[ContrastScope]) -> tuple[pa.Table, pa.Table]:
    groups = {"key": [], "service": [], "route": [], "error_code": [], "f_start": [], "f_end": []}
    for s in scopes:
        for service, route, code in s.groups:
            for name, value in zip(groups, (s.key, service, route, code, s.start, s.end)):
                groups[name].append(value)
    baselines = {"key": [], "service": [], "route": [], "b_start": [], "b_end": []}
    for s in scopes:
        for service, route in s.units:
            for b_start, b_end in s.baselines:
                for name, value in zip(baselines, (s.key, service, route, b_start, b_end)):
                    baselines[name].append(value)
    timestamp = pa.timestamp("us")
    return (pa.table({k: pa.array(v, type=timestamp if k in ("f_start", "f_end") else pa.string())
                      for k, v in groups.items()}),
            pa.table({k: pa.array(v, type=timestamp if k in ("b_start", "b_end") else pa.string())
                      for k, v in baselines.items()}))


def _bounds(times: list[datetime]) -> tuple[datetime, datetime]:
    return min(times), max(times)


def load_sides(con: duckdb.DuckDBPyConnection, scopes: list[ContrastScope]) -> None:
    """Fill temp tables rc_sides (one row per failing or baseline event of each scope) and rc_values."""
    groups, baselines = _scope_tables(scopes)
    con.register("rc_scope_groups", groups)
    con.register("rc_scope_baselines", baselines)
    try:
        f_lo, f_hi = _bounds([s.start for s in scopes] + [s.end for s in scopes])
        b_lo, b_hi = _bounds([t for s in scopes for w in s.baselines for t in w] or [f_lo, f_lo])
        top = ", ".join(f"e.{name}" for name in TOP_LEVEL_FIELDS)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE rc_sides AS
            SELECT row_number() OVER () AS rid, * FROM (
                SELECT g.key, e.service, e.route, e.error_code, true AS failing, {SERVER_ERROR_SQL} AS server_error,
                       e.event_id, e.trace_id,
                       e.sample_rate AS w, e.attributes, {top}
                FROM (SELECT * FROM raw_events WHERE ts >= $f_lo AND ts < $f_hi AND {ERROR_SQL}) e
                JOIN rc_scope_groups g
                  ON e.service = g.service AND e.route = g.route AND e.error_code IS NOT DISTINCT FROM g.error_code
                 AND e.ts >= g.f_start AND e.ts < g.f_end
                UNION ALL
                SELECT b.key, e.service, e.route, e.error_code, false, {SERVER_ERROR_SQL}, e.event_id, e.trace_id,
                       e.sample_rate,
                       e.attributes, {top}
                FROM raw_events e JOIN rc_scope_baselines b
                  ON e.service = b.service AND e.route = b.route AND e.ts >= b.b_start AND e.ts < b.b_end
                WHERE e.ts >= $b_lo AND e.ts < $b_hi)""",
                    {"f_lo": f_lo, "f_hi": f_hi, "b_lo": b_lo, "b_hi": b_hi})
    finally:
        con.unregister("rc_scope_groups")
        con.unregister("rc_scope_baselines")
    top_rows = " UNION ALL ".join(
        f"SELECT rid, key, service, route, failing, w, '{name}' AS attribute, 'VARCHAR' AS t, {name} AS value "
        f"FROM rc_sides WHERE {name} IS NOT NULL" for name in TOP_LEVEL_FIELDS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE rc_values AS
        WITH level1 AS (
            SELECT rid, key, service, route, failing, w, k AS attribute, attributes -> k AS j
            FROM (SELECT *, unnest(json_keys(attributes)) AS k FROM rc_sides
                  WHERE attributes IS NOT NULL AND json_type(attributes) = 'OBJECT')
        ), level2 AS (
            SELECT rid, key, service, route, failing, w, attribute || '.' || k2 AS attribute, j -> k2 AS j
            FROM (SELECT *, unnest(json_keys(j)) AS k2 FROM level1 WHERE json_type(j) = 'OBJECT')
        ), leaves AS (
            SELECT * FROM level1 WHERE json_type(j) <> 'OBJECT'
            UNION ALL SELECT * FROM level2 WHERE json_type(j) <> 'OBJECT'
        )
        SELECT rid, key, service, route, failing, w, attribute, json_type(j) AS t, json_extract_string(j, '$') AS value
        FROM leaves
        WHERE json_type(j) IN {CATEGORICAL_TYPES} OR json_type(j) IN {NUMERIC_TYPES}
        UNION ALL {top_rows}""")
    describes = " OR ".join([f"starts_with(lower(attribute), '{prefix}')" for prefix in DESCRIBES_FAILURE]
                            + [f"lower(attribute) = '{name}'" for name in DESCRIBES_FAILURE_NAMES + DESCRIBES_EVENT])
    con.execute(f"DELETE FROM rc_values WHERE value IS NULL OR length(value) > {MAX_VALUE_CHARS} OR {describes}")


def unit_totals(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(key, service, route, failing, weighted events, events) per scope unit and side."""
    return con.execute("""SELECT key, service, route, failing, sum(w), count(*) FROM rc_sides
                          GROUP BY ALL ORDER BY ALL""").fetchall()


def categorical_counts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(key, service, route, attribute, value, failing w, failing n, baseline w, baseline n) for the values
    the failing events carry, the TOP_VALUES most frequent per unit and attribute."""
    return con.execute(f"""
        SELECT * FROM (
            SELECT key, service, route, attribute, value,
                   coalesce(sum(w) FILTER (failing), 0) AS fw, count(*) FILTER (failing) AS fn,
                   coalesce(sum(w) FILTER (NOT failing), 0) AS bw, count(*) FILTER (NOT failing) AS bn
            FROM rc_values WHERE t IN {CATEGORICAL_TYPES}
            GROUP BY key, service, route, attribute, value HAVING count(*) FILTER (failing) > 0)
        QUALIFY row_number() OVER (PARTITION BY key, service, route, attribute ORDER BY fn DESC, value) <= {TOP_VALUES}
        ORDER BY ALL""").fetchall()


def latency_by_value(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(key, service, route, metric, by attribute, by value, p50 failing, n failing, p50 baseline,
    n baseline): each `<ns>.duration_ms` against the values of the attributes of its namespace
    (db.duration_ms by db.instance and db.system; upstream.duration_ms by upstream); `service` and
    `route` NULL for the scope as a whole."""
    return con.execute(f"""
        WITH lat AS (
            SELECT rid, key, service, route, failing, attribute AS metric, TRY_CAST(value AS DOUBLE) AS ms,
                   regexp_replace(attribute, '\\.?duration_ms$', '') AS ns
            FROM rc_values WHERE t IN {NUMERIC_TYPES} AND attribute LIKE '%duration_ms' AND attribute <> 'duration_ms'
        ), cat AS (SELECT rid, attribute, value FROM rc_values WHERE t IN {CATEGORICAL_TYPES})
        SELECT l.key, l.service, l.route, l.metric, c.attribute, c.value,
               median(l.ms) FILTER (l.failing), count(*) FILTER (l.failing),
               median(l.ms) FILTER (NOT l.failing), count(*) FILTER (NOT l.failing)
        FROM lat l JOIN cat c ON c.rid = l.rid AND (c.attribute = l.ns OR starts_with(c.attribute, l.ns || '.'))
        WHERE l.ms IS NOT NULL AND isfinite(l.ms)
        GROUP BY GROUPING SETS ((l.key, l.service, l.route, l.metric, c.attribute, c.value),
                                (l.key, l.metric, c.attribute, c.value))
        HAVING count(*) FILTER (l.failing) > 0
        ORDER BY ALL""").fetchall()


def attribute_cardinality(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> dict[str, int]:
    """Distinct values per attribute in a sample of the hour's events: how specific a name is
    (db.instance tells instances apart, db.system does not)."""
    rows = con.execute(f"""
        SELECT k, count(DISTINCT json_extract_string(attributes -> k, '$'))
        FROM (SELECT attributes FROM raw_events WHERE ts >= $a AND ts < $b AND attributes IS NOT NULL
              USING SAMPLE {CARDINALITY_SAMPLE_ROWS} ROWS), unnest(json_keys(attributes)) AS u(k)
        GROUP BY k""", {"a": start, "b": end}).fetchall()
    return {k: int(n) for k, n in rows}


def trace_coverage(con: duckdb.DuckDBPyConnection, causes: list[tuple[str, str, str, str | None, float | None, bool]],
                   targets: list[tuple[str, str]]) -> list[tuple]:
    """How much of other failures a scope's cause explains through their traces: for each (cause key,
    target key) pair, per unit of the target, the failing events whose trace holds a failing event of
    the cause's scope carrying its attribute=value (a caller failing because its callee did carries the
    callee's cause). `causes`: (key, attribute, value, metric, min_ms): for a slowdown, only events whose
    `metric` reached `min_ms` carry it; and unless the cause is a client's, a failing event that is the
    client's error (a 404 on a route of the slow database) is not explained by it. Rows: (cause key, target key, service, route,
    error_code, covered w, failing w)."""
    if not causes or not targets:
        return []
    con.register("rc_causes", pa.table({"key": [c[0] for c in causes], "attribute": [c[1] for c in causes],
                                        "value": [c[2] for c in causes],
                                        "metric": pa.array([c[3] for c in causes], type=pa.string()),
                                        "min_ms": pa.array([c[4] for c in causes], type=pa.float64()),
                                        "client": pa.array([c[5] for c in causes], type=pa.bool_())}))
    con.register("rc_targets", pa.table({"cause_key": [t[0] for t in targets], "target_key": [t[1] for t in targets]}))
    try:
        return con.execute("""
            WITH carriers AS (
                SELECT DISTINCT v.key AS cause_key, s.trace_id FROM rc_values v
                JOIN rc_causes c ON c.key = v.key AND c.attribute = v.attribute AND c.value = v.value
                JOIN rc_sides s ON s.rid = v.rid
                LEFT JOIN rc_values m ON m.rid = v.rid AND m.attribute = c.metric
                WHERE v.failing AND s.trace_id IS NOT NULL
                  AND (c.metric IS NULL OR TRY_CAST(m.value AS DOUBLE) >= c.min_ms)
            )
            SELECT p.cause_key, s.key, s.service, s.route, s.error_code,
                   coalesce(sum(s.w) FILTER (c.trace_id IS NOT NULL AND (k.client OR s.server_error)), 0), sum(s.w)
            FROM rc_sides s JOIN rc_targets p ON p.target_key = s.key
            JOIN rc_causes k ON k.key = p.cause_key
            LEFT JOIN carriers c ON c.cause_key = p.cause_key AND c.trace_id = s.trace_id
            WHERE s.failing GROUP BY ALL ORDER BY ALL""").fetchall()
    finally:
        con.unregister("rc_causes")
        con.unregister("rc_targets")


def drop_sides(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS rc_values")
    con.execute("DROP TABLE IF EXISTS rc_sides")
