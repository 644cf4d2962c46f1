"""A service's use of its own resources — CPU and memory, from its OpenTelemetry metrics (`metric_points`) — as
investigation signals of kind `resource`.

A fault can change nothing a request shows but its time: a CPU hog beside a service (CPU contention) or a busy loop in
it, a leak. Its requests then may be too few in a short window to show it (a service asked four times in three
minutes), while its pod's CPU, sampled every minute whatever the traffic, shows it at once. So each series of a
**resource-use** metric (`RESOURCE_USE`: CPU or memory usage, utilisation or time, of a pod, container or process —
not of a node or host, which its other tenants share) is compared, window against baseline, on the log scale as
latencies are (`signal_scores.log_shift`: a resource use multiplies; one spread pooled over the service's series of
that metric), each instance and attribute set a stratum of its own. A cumulative counter (`process.cpu.time`) is
read as its rate between successive points, a delta sum as its value over its interval.

What only follows the traffic is no fault: a service asked twice as often uses about twice the CPU. So the window's
values are first divided by the service's rise in requests per second, when its requests rose (each side with at
least `MIN_EXPOSURE` requests); a resource use that rose no more than its traffic is no change. The rest of the
rule is every signal's: z on one scale, changed at `CHANGED_Z` with a shift of at least `MIN_SHIFT_RATIO`. A resource
change is the service's own: no callee explains it, and, like a slowdown, it may explain its callers' errors and
warnings (`signal_scores.can_explain`).
"""
from __future__ import annotations

import math

import duckdb

from logintel.analysis.investigation.signal_scores import MIN_EXPOSURE, MIN_SHIFT_RATIO, Signal, log_shift
from logintel.analysis.investigation.window_signals import Span

KIND = "resource"
# `<…>.cpu.usage`, `.cpu.utilization`, `.cpu.time`, `.cpu_limit_utilization`, `.memory.usage`, `.memory.working_set`,
# `.memory.rss`, `.memory_limit_utilization`, `jvm.cpu.recent_utilization`, … (OpenTelemetry's semantic conventions):
# a regular expression DuckDB matches the names against.
RESOURCE_USE = (r"(^|\.)(cpu|memory)[._](usage|utilization|time|working_set|rss|recent_utilization|"
                r"limit_utilization|request_utilization)$")
# Metrics of what a service shares with its neighbours (its node, its host), not of the service.
SHARED_PREFIXES = ("k8s.node.", "k8s.cluster.", "k8s.namespace.", "system.", "host.")
# CPU in cores (`{cpu}`, or a `cpu.time` counter's seconds a second) and any utilisation (a fraction of a limit or
# of the machine) are compared as (use + FLOOR). At an idle pod a few millicores more is the sampling's noise, yet on
# the log scale alone 2 m → 6 m reads as a tripling (as does 0.07% → 0.14% of a memory limit); a fault that spins or
# starves a service moves its CPU by tens of percent of a core. So a twentieth of a core, or of a limit, is where a
# change starts to count. Memory in bytes has no such floor: a pod's memory is never near zero.
FLOOR = 0.05
# A value of 0 (an idle counter) on the log scale: this fraction of the series' baseline mean stands for it.
_ZERO_FRACTION = 0.01


def resource_signals(con: duckdb.DuckDBPyConnection, window: Span, baseline: Span,
                     exposure: dict[str, tuple[int, int, int, int]]) -> list[Signal]:
    """One signal per service and resource-use metric with points on both sides (see the module)."""
    if not _held(con):
        return []
    rows = con.execute(_POINTS_SQL, {"bs": baseline.start, "be": baseline.end, "ws": window.start,
                                     "we": window.end, "pattern": RESOURCE_USE}).fetchall()
    series: dict[tuple[str, str], dict[tuple, tuple[list, list]]] = {}
    for service, name, instance, attributes, in_window, value in rows:  # resource-use series only (the SQL)
        sides = series.setdefault((service, name), {}).setdefault((instance, attributes), ([], []))
        sides[0 if in_window else 1].append(value)
    window_s = (window.end - window.start).total_seconds()
    baseline_s = (baseline.end - baseline.start).total_seconds()
    out = []
    for (service, name), by_series in series.items():
        traffic = _traffic_rise(exposure.get(service), window_s, baseline_s)
        strata, window_values, baseline_values = [], [], []
        floored = _has_floor(name)
        for in_window, in_baseline in by_series.values():
            if not in_window or not in_baseline:
                continue
            zero = max(_ZERO_FRACTION * sum(in_baseline) / len(in_baseline), 1e-12)
            logs_w = [_log_level(v, floored, zero) - math.log(traffic) for v in in_window]
            logs_b = [_log_level(v, floored, zero) for v in in_baseline]
            strata.append([len(logs_w), _mean(logs_w), _var(logs_w), len(logs_b), _mean(logs_b), _var(logs_b)])
            window_values += in_window
            baseline_values += in_baseline
        if not strata:
            continue
        z, ratio = log_shift(strata)
        mean_window, mean_baseline = _mean(window_values), _mean(baseline_values)
        out.append(Signal(service, KIND, z, name, _round(mean_window), {
            "metric": name, "points_window": len(window_values), "points_baseline": len(baseline_values),
            "mean_window": _round(mean_window), "mean_baseline": _round(mean_baseline),
            "times_baseline": _round(mean_window / max(mean_baseline, 1e-12)),
            "traffic_rise": round(traffic, 2), "ratio": round(ratio, 2), "series": len(strata)},
            large_enough=ratio >= MIN_SHIFT_RATIO))
    return out


def _has_floor(name: str) -> bool:
    return ".cpu" in name or name.startswith("cpu") or name.endswith("utilization")


def _log_level(value: float, floored: bool, zero: float) -> float:
    """A point's value on the log scale: + FLOOR where the metric has one, else `zero` standing in for 0."""
    return math.log(value + FLOOR if floored else max(value, zero))


def _held(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse has a metric_points table (or view) with any row."""
    present = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'metric_points'"
                          ).fetchone()[0]
    return bool(present) and con.execute("SELECT count(*) > 0 FROM (SELECT 1 FROM metric_points LIMIT 1)"
                                         ).fetchone()[0]


# Only the resource-use series leave the database (a Collector may send hundreds of series a pod).
_SHARED_SQL = " OR ".join(f"starts_with(name, '{prefix}')" for prefix in SHARED_PREFIXES)
# Each point's value as a level: gauges as they are, a delta sum per second of its interval, a cumulative counter
# as its rate since the series' previous point (a reset, a fall, gives none); histograms and summaries: their mean.
_POINTS_SQL = f"""
WITH points AS (
    SELECT service, name, coalesce(instance, '') AS instance, coalesce(CAST(attributes AS VARCHAR), '{{}}') AS attrs,
           ts, start_ts, kind, temporality, monotonic, value
    FROM metric_points
    WHERE ts >= $bs - INTERVAL 10 MINUTE AND ts < $we AND value IS NOT NULL
      AND regexp_matches(name, $pattern) AND NOT ({_SHARED_SQL})
), levels AS (
    SELECT service, name, instance, attrs, ts,
           CASE WHEN kind = 'sum' AND temporality = 'cumulative' AND monotonic THEN
                    (value - lag(value) OVER series) / nullif(epoch(ts) - epoch(lag(ts) OVER series), 0)
                WHEN kind = 'sum' AND temporality = 'delta' AND start_ts IS NOT NULL THEN
                    value / nullif(epoch(ts) - epoch(start_ts), 0)
                ELSE value END AS level
    FROM points
    WINDOW series AS (PARTITION BY service, name, instance, attrs ORDER BY ts)
)
SELECT service, name, instance, attrs, ts >= $ws AS in_window, level
FROM levels
WHERE level IS NOT NULL AND level >= 0 AND ((ts >= $ws AND ts < $we) OR (ts >= $bs AND ts < $be))
"""


def _traffic_rise(exposure: tuple[int, int, int, int] | None, window_s: float, baseline_s: float) -> float:
    """How many times more requests a second the service served in the window (1 when fewer, or too few to say)."""
    if exposure is None or window_s <= 0 or baseline_s <= 0:
        return 1.0
    requests_w, requests_b = exposure[0], exposure[1]
    if requests_w < MIN_EXPOSURE or requests_b < MIN_EXPOSURE:
        return 1.0
    return max(1.0, (requests_w / window_s) / (requests_b / baseline_s))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _var(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def _round(value: float) -> float:
    return float(f"{value:.4g}")
