"""The SRE analyst's read-only queries: per route, 5-minute request and server-error counts (the burn-rate
windows) and 15-minute latency histograms (log-spaced bins, so any window's p99 is a sum, not a re-scan)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np

from logintel.store.schema import REQUEST_SQL, SERVER_ERROR_SQL, has_table

BIN_BASE = 1.04  # latency bins 4% wide: a p99 read from them is within 2% of the exact one
_LOG_BASE = math.log(BIN_BASE)


@dataclass
class RouteCounts:
    """A route's counts on a regular grid of `step_minutes` buckets starting at `start`."""
    requests: np.ndarray
    errors: np.ndarray


def error_buckets(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime,
                  step_minutes: int = 5) -> dict[tuple[str, str], RouteCounts]:
    """(service, route) -> requests and server errors (5xx, level error/fatal) per bucket of [start, end),
    weighted by sample_rate; a client's 4xx does not spend the availability budget."""
    if not has_table(con, "raw_events"):
        return {}
    slots = int((end - start).total_seconds() // (60 * step_minutes))
    rows = con.execute(f"""
        SELECT service, route, (epoch(ts) - epoch($start))::BIGINT // $step AS slot,
               sum(sample_rate) AS requests, coalesce(sum(sample_rate) FILTER ({SERVER_ERROR_SQL}), 0) AS errors
        FROM raw_events WHERE ts >= $start AND ts < $end AND {REQUEST_SQL} GROUP BY ALL""",
                       {"start": start, "end": end, "step": 60 * step_minutes}).fetchall()
    series: dict[tuple[str, str], RouteCounts] = {}
    for service, route, slot, requests, errors in rows:
        counts = series.get((service, route))
        if counts is None:
            counts = series[(service, route)] = RouteCounts(np.zeros(slots), np.zeros(slots))
        if 0 <= slot < slots:
            counts.requests[slot] += requests
            counts.errors[slot] += errors
    return series


@dataclass
class LatencyHistograms:
    """Per route, per bucket of `step_minutes` from `start`: weighted counts in log-spaced bins."""
    start: datetime
    step_minutes: int
    first_bin: int
    counts: dict[tuple[str, str], np.ndarray]  # (buckets, bins)

    def quantile(self, key: tuple[str, str], first: int, last: int, q: float = 0.99) -> tuple[float | None, float]:
        """(the q-quantile in ms over buckets [first, last), requests) — None when there are none."""
        hist = self.counts[key][max(first, 0):last].sum(axis=0)
        total = float(hist.sum())
        if total <= 0:
            return None, 0.0
        cumulative = np.cumsum(hist)
        i = int(np.searchsorted(cumulative, q * total))
        below = cumulative[i - 1] if i else 0.0
        within = (q * total - below) / hist[i] if hist[i] else 0.5
        return math.exp((self.first_bin + i + within) * _LOG_BASE), total


def latency_histograms(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime,
                       step_minutes: int = 15) -> LatencyHistograms:
    if not has_table(con, "raw_events"):
        return LatencyHistograms(start, step_minutes, 0, {})
    rows = con.execute(f"""
        SELECT service, route, (epoch(ts) - epoch($start))::BIGINT // $step AS slot,
               floor(ln(greatest(duration_ms, 0.1)) / $log_base)::INTEGER AS bin, sum(sample_rate) AS n
        FROM raw_events WHERE ts >= $start AND ts < $end AND duration_ms IS NOT NULL AND isfinite(duration_ms)
          AND {REQUEST_SQL}
        GROUP BY ALL""", {"start": start, "end": end, "step": 60 * step_minutes, "log_base": _LOG_BASE}).fetchall()
    slots = int((end - start).total_seconds() // (60 * step_minutes))
    if not rows:
        return LatencyHistograms(start, step_minutes, 0, {})
    first_bin, last_bin = min(r[3] for r in rows), max(r[3] for r in rows)
    counts: dict[tuple[str, str], np.ndarray] = {}
    for service, route, slot, b, n in rows:
        hist = counts.get((service, route))
        if hist is None:
            hist = counts[(service, route)] = np.zeros((slots, last_bin - first_bin + 1))
        if 0 <= slot < slots:
            hist[slot, b - first_bin] += n
    return LatencyHistograms(start, step_minutes, first_bin, counts)


def incidents_between(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[dict]:
    """The incidents whose span overlaps [start, end): id, service, route, start and end (for evidence)."""
    if not has_table(con, "incidents"):
        return []
    rows = con.execute("""
        SELECT incident_id, service, route, start_time, end_time FROM incidents
        WHERE start_time < ? AND end_time > ? AND status <> 'superseded' ORDER BY start_time""",
                       [end, start]).fetchall()
    return [{"incident_id": i, "service": s, "route": r, "start": a, "end": b} for i, s, r, a, b in rows]
