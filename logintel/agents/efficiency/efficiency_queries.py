"""The efficiency analyst's read-only SQL: one grouped scan of raw_events per scope, figures per
(service, method, route) — time, database time and queries, payload sizes, calls per trace."""
from __future__ import annotations

from datetime import datetime

import duckdb

QUERY_COUNT = "db.query_count"
PAYLOAD_ATTRIBUTES = ("http.response.body.size", "http.response_content_length")  # current, then older OTel names


def _number(attribute: str) -> str:
    """The attribute as a non-negative finite number, NULL otherwise: "abc", -1 or "inf" cannot skew a sum."""
    value = f"""try_cast(json_extract_string(attributes, '$."{attribute}"') AS DOUBLE)"""
    return f"CASE WHEN {value} >= 0 AND isfinite({value}) THEN {value} END"


_ROUTE_FIGURES_SQL = f"""
WITH e AS (
    SELECT service, method, route, duration_ms, sample_rate, trace_id,
           {_number("db.duration_ms")} AS db_ms, {_number(QUERY_COUNT)} AS queries,
           coalesce({", ".join(_number(a) for a in PAYLOAD_ATTRIBUTES)}) AS payload
    FROM raw_events WHERE ts >= $start AND ts < $end)
SELECT service, method, route,
       sum(sample_rate) AS requests, count(*) AS events,
       sum(duration_ms * sample_rate) AS total_ms, quantile_cont(duration_ms, 0.5) AS p50_ms,
       sum(db_ms * sample_rate) AS db_ms,
       quantile_cont(db_ms / duration_ms, 0.5) FILTER (WHERE duration_ms > 0) AS db_share_p50,
       sum(queries * sample_rate) / sum(sample_rate) FILTER (WHERE queries IS NOT NULL) AS queries_mean,
       count(queries) / count(*) AS query_count_share,
       sum(payload * sample_rate) / sum(sample_rate) FILTER (WHERE payload IS NOT NULL) AS payload_mean,
       quantile_cont(payload, 0.95) AS payload_p95, sum(payload * sample_rate) AS payload_bytes,
       count(payload) / count(*) AS payload_share,
       count(DISTINCT trace_id) AS traces, count(trace_id) AS traced_events
FROM e GROUP BY service, method, route ORDER BY service, method, route
"""
_KEYS = ("service", "method", "route", "requests", "events", "total_ms", "p50_ms", "db_ms", "db_share_p50",
         "queries_mean", "query_count_share", "payload_mean", "payload_p95", "payload_bytes", "payload_share",
         "traces", "traced_events")


def route_figures(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[dict]:
    """Per (service, method, route) in [start, end): requests (weighted by sample_rate), kept events, total
    and median time, database time (`db.duration_ms`) and the median request's database share, mean
    `db.query_count` and the share of events carrying one (None/0 where none does), mean and p95 response
    size and bytes (None where no event carries one), traces and traced events. The method is part of the
    key: GET /orders and POST /orders are different work."""
    return [dict(zip(_KEYS, row)) for row in con.execute(_ROUTE_FIGURES_SQL, {"start": start, "end": end}).fetchall()]


def has_raw_events(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw_events'")
                .fetchone()[0])
