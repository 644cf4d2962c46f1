"""5-minute sliding windows per (service, route, error_code), computed set-based in DuckDB.

A window covers [window_start, window_end) and windows advance by `step_minutes`. An hourly
partition H owns the windows whose end lies in (H, H+1h], so every window belongs to exactly one
partition and its first windows reach back into the previous hour (the lookback). Counts are
weighted by `sample_rate` and exact; so are the percentiles (`quantile_cont`: DuckDB's t-digest, `approx_quantile`,
gave another p99 from run to run over the same rows, since its threads merge their digests in no fixed order, and the
exact form measured faster here: 0.52-0.63 s against 0.80-1.0 s for an hour of 1M events); distinct users/IPs are
HyperLogLog estimates (approximate, and the same whatever the order they merge in).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from logintel.store.landing import HOUR
from logintel.store.schema import ERROR_SQL, ensure_tables
from logintel.store.warehouse import transaction




@dataclass(frozen=True)
class WindowSpec:
    length_minutes: int = 5
    step_minutes: int = 1

    def __post_init__(self):
        if self.length_minutes < 1 or self.step_minutes < 1:
            raise ValueError("window length and step must be at least one minute")
        if self.length_minutes % self.step_minutes or 60 % self.step_minutes:
            raise ValueError("the window length must be a multiple of the step, and the step divide an hour")

    @property
    def steps_per_window(self) -> int:
        return self.length_minutes // self.step_minutes

    @property
    def lookback(self) -> timedelta:
        return timedelta(minutes=self.length_minutes - self.step_minutes)


def tiling_sql(spec: WindowSpec) -> str:
    """The windows that tile an hour exactly: those ending on a multiple of their length. Summing
    them counts each event once (the sliding windows in between would count it again)."""
    return f"(epoch(window_end)::BIGINT / 60) % {spec.length_minutes} = 0"


def window_sql(source: str, spec: WindowSpec) -> str:
    """SELECT of all windows ending in ($start, $end] from `source` rows with ts in [$start - lookback, $end).

    `source` is any relation with the raw_events columns (a warehouse table, or landed lines
    read by a sensor). Each event is expanded into the `steps_per_window` windows that contain it.
    """
    step_us = spec.step_minutes * 60_000_000
    # Grouping by a 64-bit hash of the group and counting hashed users/IPs keeps the expanded rows
    # narrow; the names are joined back from the (small) set of groups at the end.
    return f"""
    WITH ev AS (
        SELECT hash(service, route, error_code) AS g, service, route, error_code,
               epoch_us(ts) // {step_us} AS slot, sample_rate AS w, {ERROR_SQL} AS is_error,
               duration_ms, hash(user_id) AS uh, hash(client_ip) AS ih, user_id IS NULL AS no_user,
               client_ip IS NULL AS no_ip
        FROM {source}
        WHERE ts >= $start - INTERVAL {spec.length_minutes - spec.step_minutes} MINUTE AND ts < $end
    ), names AS (
        SELECT DISTINCT g, service, route, error_code FROM ev
    ), windows AS (
        SELECT g, slot - k AS first_slot,
               sum(w) AS requests,
               coalesce(sum(w) FILTER (WHERE is_error), 0) AS errors,
               count(*) AS events_kept,
               quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS q,
               max(duration_ms) AS max_ms,
               approx_count_distinct(uh) FILTER (WHERE NOT no_user) AS distinct_users,
               approx_count_distinct(ih) FILTER (WHERE NOT no_ip) AS distinct_ips
        FROM ev, range(0, {spec.steps_per_window}) AS r(k)
        WHERE (slot - k + {spec.steps_per_window}) * {step_us} > epoch_us($start)
          AND (slot - k + {spec.steps_per_window}) * {step_us} <= epoch_us($end)
        GROUP BY ALL
    )
    SELECT make_timestamp(first_slot * {step_us}) AS window_start,
           make_timestamp((first_slot + {spec.steps_per_window}) * {step_us}) AS window_end,
           n.service, n.route, n.error_code,
           requests::BIGINT AS requests, errors::BIGINT AS errors, errors / requests AS error_rate,
           events_kept::BIGINT AS events_kept, q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms, max_ms,
           coalesce(distinct_users, 0)::BIGINT AS distinct_users, coalesce(distinct_ips, 0)::BIGINT AS distinct_ips
    FROM windows JOIN names n USING (g)
    """


@dataclass
class WindowReport:
    partition_hour: datetime
    windows: int
    groups: int
    events: int
    lookback_complete: bool
    elapsed_s: float


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con, "windowed_aggregates")


def compute_windows(con: duckdb.DuckDBPyConnection, hour: datetime, spec: WindowSpec = WindowSpec(),
                    source: str = "raw_events") -> WindowReport:
    """Replace partition `hour` of windowed_aggregates from `source` (raw_events by default)."""
    started = time.perf_counter()
    ensure_schema(con)
    start = hour.replace(tzinfo=None)
    params = {"start": start, "end": start + HOUR}
    previous = start - HOUR
    lookback_complete = con.execute(
        f"SELECT count(*) > 0 FROM {source} WHERE ts >= $p AND ts < $s", {"p": previous, "s": start}).fetchone()[0]
    with transaction(con):
        con.execute("DELETE FROM windowed_aggregates WHERE partition_hour = $start", {"start": start})
        con.execute(f"""
            INSERT INTO windowed_aggregates
            SELECT $start, window_start, window_end, service, route, error_code, requests, errors, error_rate,
                   events_kept, p50_ms, p95_ms, p99_ms, max_ms, distinct_users, distinct_ips, {bool(lookback_complete)}
            FROM ({window_sql(source, spec)})
        """, params)
        windows, groups = con.execute(
            "SELECT count(*), count(DISTINCT (service, route, error_code)) FROM windowed_aggregates "
            "WHERE partition_hour = $start", {"start": start}).fetchone()
    events = con.execute(f"SELECT count(*) FROM {source} WHERE ts >= $start AND ts < $end", params).fetchone()[0]
    return WindowReport(partition_hour=start, windows=windows, groups=groups, events=events,
                        lookback_complete=bool(lookback_complete), elapsed_s=time.perf_counter() - started)


def reconcile(con: duckdb.DuckDBPyConnection, hour: datetime, spec: WindowSpec = WindowSpec()) -> dict:
    """Check windows against raw counts: the windows ending on multiples of their length tile the hour
    exactly, so per group their weighted requests and errors must equal the raw partition's."""
    start = hour.replace(tzinfo=None)
    rows = con.execute(f"""
        WITH tiled AS (
            SELECT service, route, error_code, sum(requests) AS requests, sum(errors) AS errors
            FROM windowed_aggregates
            WHERE partition_hour = $start AND {tiling_sql(spec)}
            GROUP BY ALL
        ), raw AS (
            SELECT service, route, error_code, sum(sample_rate) AS requests,
                   coalesce(sum(sample_rate) FILTER (WHERE {ERROR_SQL}), 0) AS errors
            FROM raw_events WHERE partition_hour = $start GROUP BY ALL
        )
        SELECT coalesce(r.service, t.service), coalesce(r.route, t.route), coalesce(r.error_code, t.error_code),
               coalesce(r.requests, 0), coalesce(t.requests, 0), coalesce(r.errors, 0), coalesce(t.errors, 0)
        FROM raw r FULL OUTER JOIN tiled t
          ON r.service = t.service AND r.route = t.route AND r.error_code IS NOT DISTINCT FROM t.error_code
        WHERE coalesce(r.requests, 0) <> coalesce(t.requests, 0) OR coalesce(r.errors, 0) <> coalesce(t.errors, 0)
    """, {"start": start}).fetchall()
    totals = con.execute(f"""
        SELECT (SELECT coalesce(sum(sample_rate), 0) FROM raw_events WHERE partition_hour = $start),
               (SELECT coalesce(sum(requests), 0) FROM windowed_aggregates WHERE partition_hour = $start
                  AND {tiling_sql(spec)})
    """, {"start": start}).fetchone()
    return {
        "ok": not rows,
        "raw_requests": int(totals[0]),
        "window_requests": int(totals[1]),
        "mismatched_groups": [
            {"service": r[0], "route": r[1], "error_code": r[2], "raw_requests": r[3], "window_requests": r[4],
             "raw_errors": r[5], "window_errors": r[6]} for r in rows[:20]],
        "mismatched_count": len(rows),
    }


@dataclass(frozen=True)
class HourTotals:
    requests: int
    errors: int
    worst_p99_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def hour_totals(con: duckdb.DuckDBPyConnection, hour: datetime, spec: WindowSpec = WindowSpec()) -> HourTotals:
    """The hour's weighted requests and errors (from the windows that tile it) and its worst window p99."""
    requests, errors, p99 = con.execute(f"""
        SELECT coalesce(sum(requests), 0), coalesce(sum(errors), 0), max(p99_ms)
        FROM windowed_aggregates WHERE partition_hour = $h AND {tiling_sql(spec)}""",
                                        {"h": hour.replace(tzinfo=None)}).fetchone()
    return HourTotals(requests=int(requests), errors=int(errors), worst_p99_ms=float(p99 or 0.0))


def top_error_windows(con: duckdb.DuckDBPyConnection, hour: datetime, limit: int = 10) -> list[dict]:
    """The hour's windows with the most errors, as rows for a table (times as HH:MM, percentages)."""
    return con.execute(f"""
        SELECT strftime(window_start, '%H:%M') || '–' || strftime(window_end, '%H:%M') AS window,
               service, route, coalesce(error_code, '') AS error_code, errors, requests,
               round(error_rate * 100, 1) AS error_pct, round(p99_ms) AS p99_ms, distinct_users AS users
        FROM windowed_aggregates WHERE partition_hour = $h AND errors > 0
        ORDER BY errors DESC LIMIT {int(limit)}""", {"h": hour.replace(tzinfo=None)}).df().to_dict("records")
