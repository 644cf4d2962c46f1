"""`daily_metrics`' per-route figures: one grouped scan of the day's raw_events gives each
(service, route) its day and its hours (requests, errors, quantiles, total and database time), kept
in `daily_route_metrics` beside the same route's figures a day and a week earlier."""
from __future__ import annotations

import duckdb

from logintel.daily.days import DigestDay
from logintel.store.schema import ERROR_SQL, REQUEST_SQL, ensure_tables

ALL_ROUTES = "*"  # the route of a service's own row (every route together)
DB_MS_SQL = """try_cast(json_extract_string(attributes, '$."db.duration_ms"') AS DOUBLE)"""

TABLE = "daily_route_metrics"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    day DATE NOT NULL, hour TIMESTAMP, service VARCHAR NOT NULL, route VARCHAR NOT NULL,
    requests BIGINT NOT NULL, errors BIGINT NOT NULL, error_rate DOUBLE NOT NULL,
    p50_ms DOUBLE, p95_ms DOUBLE, p99_ms DOUBLE, total_ms DOUBLE NOT NULL, db_ms DOUBLE,
    users BIGINT NOT NULL, traces BIGINT NOT NULL, events BIGINT NOT NULL, traced_events BIGINT NOT NULL
)"""


def compute_route_metrics(con: duckdb.DuckDBPyConnection, day: DigestDay) -> int:
    """Replace the day's rows: per (service, route) and per service (route '*'), for the whole day
    (hour NULL) and for each hour. Counts are weighted by sample_rate (an event stands for that many
    requests); quantiles are over the kept events. Returns the number of day-level route rows."""
    ensure_tables(con, "raw_events")
    con.execute(DDL)
    con.execute(f"DELETE FROM {TABLE} WHERE day = ?", [day.day])
    con.execute(f"""
        INSERT INTO {TABLE}
        SELECT $day, hour, service, coalesce(route, '{ALL_ROUTES}'), requests, errors,
               CASE WHEN requests > 0 THEN errors / requests ELSE 0 END, q[1], q[2], q[3], total_ms, db_ms,
               users, traces, events, traced_events
        FROM (
            SELECT date_trunc('hour', ts) AS hour, service, route,
                   sum(sample_rate) AS requests, coalesce(sum(sample_rate) FILTER ({ERROR_SQL}), 0) AS errors,
                   quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS q,
                   sum(duration_ms * sample_rate) AS total_ms, sum({DB_MS_SQL} * sample_rate) AS db_ms,
                   count(DISTINCT user_id) AS users, count(DISTINCT trace_id) AS traces,
                   count(*) AS events, count(trace_id) AS traced_events
            FROM raw_events WHERE ts >= $start AND ts < $end AND {REQUEST_SQL}
            GROUP BY GROUPING SETS ((service, route), (service, route, hour), (service), (service, hour)))
    """, {"day": day.day, "start": day.start, "end": day.end})
    return con.execute(f"SELECT count(*) FROM {TABLE} WHERE day = ? AND hour IS NULL AND route <> ?",
                       [day.day, ALL_ROUTES]).fetchone()[0]


def route_days(con: duckdb.DuckDBPyConnection, day: DigestDay) -> list[dict]:
    """The day's rows (hour NULL) with the same route's requests, error rate and p99 a day and a week
    earlier (None where the warehouse has no such day), and the changes in percent."""
    rows = con.execute(f"""
        SELECT t.service, t.route, t.requests, t.errors, t.error_rate, t.p50_ms, t.p95_ms, t.p99_ms, t.total_ms,
               t.db_ms, t.users, t.traces, t.events, t.traced_events,
               d.requests, d.error_rate, d.p99_ms, w.requests, w.error_rate, w.p99_ms
        FROM {TABLE} t
        LEFT JOIN {TABLE} d ON d.day = t.day - 1 AND d.hour IS NULL AND (d.service, d.route) = (t.service, t.route)
        LEFT JOIN {TABLE} w ON w.day = t.day - 7 AND w.hour IS NULL AND (w.service, w.route) = (t.service, t.route)
        WHERE t.day = ? AND t.hour IS NULL ORDER BY t.service, t.route""", [day.day]).fetchall()
    keys = ("service", "route", "requests", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms", "total_ms",
            "db_ms", "users", "traces", "events", "traced_events", "requests_day_before", "error_rate_day_before", "p99_ms_day_before",
            "requests_week_before", "error_rate_week_before", "p99_ms_week_before")
    result = []
    for row in rows:
        item = dict(zip(keys, row))
        for metric in ("requests", "error_rate", "p99_ms"):
            for when in ("day_before", "week_before"):
                item[f"{metric}_change_vs_{when}"] = _change(item[metric], item[f"{metric}_{when}"])
        result.append(item)
    return result


def route_hours(con: duckdb.DuckDBPyConnection, day: DigestDay) -> dict[tuple[str, str], list[tuple]]:
    """(service, route) -> [(hour, requests, errors, error_rate, p99_ms)] in hour order: the trends' input."""
    series: dict[tuple[str, str], list[tuple]] = {}
    for service, route, hour, requests, errors, rate, p99 in con.execute(f"""
            SELECT service, route, hour, requests, errors, error_rate, p99_ms FROM {TABLE}
            WHERE day = ? AND hour IS NOT NULL ORDER BY service, route, hour""", [day.day]).fetchall():
        series.setdefault((service, route), []).append((hour, requests, errors, rate, p99))
    return series


def _change(now, before) -> float | None:
    return None if not before or now is None else 100.0 * (now - before) / before


def partition_hours_held(con: duckdb.DuckDBPyConnection, day: DigestDay) -> set:
    """The hourly partitions of the day that raw_events holds."""
    ensure_tables(con, "raw_events")
    hours = day.hours()
    return {row[0] for row in con.execute(
        "SELECT DISTINCT partition_hour FROM raw_events WHERE partition_hour >= ? AND partition_hour <= ?",
        [hours[0], hours[-1]]).fetchall()}
