"""Slow trends: a route's hourly p99 or error rate creeping up for hours, below any alert threshold.

Each (route, metric) series, hours with fewer than `min_requests` requests left out, is scanned for
the span where it rises most significantly, and that span must be a creep, not an incident's jump:

* significance: for every window of at least `min_hours` hours, the least-squares slope of the
  series (log p99; error rate as is) over its standard error, each hour's noise being
  c / sqrt(requests) with c estimated robustly from the day's own hour-to-hour differences
  (1.4826 * MAD); a one-sided z-test of a rise, Bonferroni-corrected over the windows tried
  (`windows_tried`, 231 for 24 hours and min_hours 4), must be below `alpha`;
* the creep's start: where a flat-then-linear (broken-stick) least-squares fit inside that window
  turns upward; the creep runs from there to the window's end, over at least `min_hours` hours;
* the creep: Mann-Kendall tau >= `min_tau` (steady), no hour adding more than `max_step_share` of
  the rise (a jump is an incident's), and a rise of at least `min_rise` times its starting level
  (the median of its first hour and the 3 before; for error rate at least the error budget rate).
  Windows are tried from the most significant down; the first creep wins.

A rank test alone cannot carry the significance: over n hours Mann-Kendall's smallest two-sided p is
2/n! (0.083 for 4 hours), so a 4-hour creep could never reach 0.01; it is the steadiness gate. Against
the diurnal pattern the series is first divided by (p99) or has subtracted (error rate) the same hours
a day and/or a week before, where `history` has them (each earlier day smoothed by a running median
of 3 hours); without history a trend says `diurnal_checked: False`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import norm, theilslopes

from logintel.daily.slo import SloBook

REQUESTS, ERRORS, ERROR_RATE, P99 = 1, 2, 3, 4  # positions in a route_hours tuple
METRICS = {"p99_ms": P99, "error_rate": ERROR_RATE}
BASIS_LAGS = {"day before": 1, "week before": 7}  # history's keys, and how many days back they are
P99_FLOOR_MS = 1.0
HOUR = timedelta(hours=1)
LEVEL_HOURS = 4  # the creep's starting level: the median of its first hour and the 3 before
P99_MIN_NOISE = 0.1          # c of log p99: 1% noise at 100 requests an hour
ERROR_RATE_MIN_VARIANCE = 1e-4  # p(1-p) when the day has (almost) no errors


@dataclass(frozen=True)
class MannKendall:
    s: float
    tau: float        # Kendall's tau-a: S / (n(n-1)/2)
    z: float          # normal approximation with continuity correction
    p_value: float    # two-sided


@dataclass(frozen=True)
class SlowTrend:
    service: str
    route: str
    metric: str                  # "p99_ms" or "error_rate"
    start_hour: datetime         # the creep's first hour (naive UTC): the last one at its starting level
    end_hour: datetime           # the end of its last hour
    start_value: float           # its starting level (median of the first hour and the 3 before)
    end_value: float             # the metric in the last hour
    slope_per_hour: float        # Theil-Sen over the creep, in the metric's unit per hour
    relative_change: float       # (end - start) / start (error rate: / max(start, the budget rate))
    p_value: float               # the rise's one-sided p, Bonferroni-corrected over `windows_tried`
    windows_tried: int
    tau: float                   # Mann-Kendall tau over the creep's hours
    diurnal_checked: bool        # compared with the same hours a day / week before
    objective: float             # the SLO's p99_ms, or its error budget rate
    hours_to_objective: float | None  # at this slope; None when already over or not rising
    points: list[tuple[str, float]]   # the day's (ISO hour, value), for a chart


def mann_kendall(values) -> MannKendall:
    """Mann-Kendall trend test: S = sum of sign(x_j - x_i) over i < j; Var(S) with the tie correction
    [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18; z = (S - sign S) / sqrt Var(S); two-sided p."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    s = float(np.sign(x[None, :] - x[:, None])[np.triu_indices(n, 1)].sum())
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18.0
    z = (s - math.copysign(1.0, s)) / math.sqrt(var) if s and var > 0 else 0.0
    return MannKendall(s, s / (n * (n - 1) / 2) if n > 1 else 0.0, z, float(2 * norm.sf(abs(z))))


def _earlier_hours(history: dict | None, key: tuple[str, str], min_requests: float = 0) -> dict[str, dict]:
    """{basis: {today's hour: the earlier day's tuple}} for the route `key`: `history` is
    {"day before": route_hours(earlier day), "week before": ...}, aligned by 1 and 7 days (UTC)."""
    aligned = {}
    for basis, by_route in (history or {}).items():
        rows = {row[0] + timedelta(days=BASIS_LAGS[basis]): row
                for row in by_route.get(key, []) if row[REQUESTS] >= min_requests}
        if rows:
            aligned[basis] = rows
    return aligned


def find_slow_trends(series_by_route: dict[tuple[str, str], list[tuple]], slos: SloBook,
                     history: dict | None = None, *, metrics=tuple(METRICS), min_requests: float = 100,
                     min_hours: int = 4, min_rise: float = 1.0, alpha: float = 0.001, min_tau: float = 0.6,
                     max_step_share: float = 0.7) -> list[SlowTrend]:
    """Every route's slow rise in each metric (at most one per route and metric), hours with fewer
    than `min_requests` requests left out; series are route_hours' tuples."""
    found = []
    for (service, route), series in sorted(series_by_route.items()):
        slo = slos.for_route(service, route)
        for metric in metrics:
            objective = slo.p99_ms if metric == "p99_ms" else slo.budget_rate
            rows = [r for r in series if r[REQUESTS] >= min_requests and r[METRICS[metric]] is not None]
            earlier = _earlier_hours(history, (service, route), min_requests)
            if earlier:
                rows = [r for r in rows if any(r[0] in hours for hours in earlier.values())]
            if len(rows) < min_hours:
                continue
            trend = _creep(rows, metric, earlier, objective, min_hours, min_rise, alpha, min_tau, max_step_share)
            if trend:
                found.append(SlowTrend(service, route, metric, diurnal_checked=bool(earlier), objective=objective,
                                       points=[(r[0].isoformat(), float(r[METRICS[metric]])) for r in rows], **trend))
    return found


def _creep(rows, metric, earlier, objective, min_hours, min_rise, alpha, min_tau, max_step_share) -> dict | None:
    index = METRICS[metric]
    t = np.array([(r[0] - rows[0][0]).total_seconds() / 3600.0 for r in rows])
    raw = np.array([float(r[index]) for r in rows])
    y = _scale(raw, metric) - np.array([_baseline(r[0], earlier, metric) for r in rows])
    sigma = _noise(y, rows, metric)
    windows = [(i, j) for j in range(len(rows)) for i in range(j - min_hours + 2)]
    z = np.array([_slope_z(t[i:j + 1], y[i:j + 1], sigma[i:j + 1]) for i, j in windows])
    floor = P99_FLOOR_MS if metric == "p99_ms" else objective
    for w in np.argsort(-z):
        p = min(1.0, float(norm.sf(z[w])) * len(windows))
        if p >= alpha:
            return None
        i, j = windows[w]
        k = i + _knot(t[i:j + 1], _natural(y[i:j + 1], metric), min_hours)
        hours, values = t[k:j + 1], raw[k:j + 1]
        level = float(np.median(raw[max(0, k - LEVEL_HOURS + 1):k + 1]))
        rise, steps = float(values[-1]) - level, np.diff(np.concatenate([[level], values[1:]]))
        slope, tau = float(theilslopes(values, hours)[0]), mann_kendall(values).tau
        if slope <= 0 or tau < min_tau or steps.max() > max_step_share * rise or rise < min_rise * max(level, floor):
            continue
        end = float(values[-1])
        return {"start_hour": rows[k][0], "end_hour": rows[j][0] + HOUR,
                "start_value": level, "end_value": end, "slope_per_hour": slope,
                "relative_change": rise / max(level, floor), "p_value": p, "windows_tried": len(windows),
                "tau": tau, "hours_to_objective": (objective - end) / slope if end < objective else None}
    return None


def _scale(values: np.ndarray, metric: str) -> np.ndarray:
    """The scale trends are tested on: log p99 (latency noise is multiplicative), error rate as is."""
    return np.log(np.maximum(values, P99_FLOOR_MS)) if metric == "p99_ms" else values


def _natural(y: np.ndarray, metric: str) -> np.ndarray:
    """Back from the test scale: p99 in ms (or as a ratio to the earlier days), error rate as is."""
    return np.exp(y) if metric == "p99_ms" else y


def _baseline(hour: datetime, earlier: dict, metric: str) -> float:
    """The same hour a day and/or a week before, on the test scale: for each earlier day the median
    of its hours h-1, h and h+1 (one odd hour there does not fake a move here), then their mean;
    0 without history."""
    levels = []
    for rows in earlier.values():
        near = [rows[h][METRICS[metric]] for h in (hour - HOUR, hour, hour + HOUR)
                if h in rows and rows[h][METRICS[metric]] is not None]
        if near:
            levels.append(float(np.median(_scale(np.array(near, dtype=float), metric))))
    return float(np.mean(levels)) if levels else 0.0


def _noise(y: np.ndarray, rows, metric: str) -> np.ndarray:
    """Each hour's noise, sigma_h = c / sqrt(requests_h) (an hourly quantile's or rate's sampling
    error shrinks so): c = 1.4826 * MAD of the first differences, each divided by
    sqrt(1/n_h + 1/n_h-1); for error rate at least sqrt(p(1-p)) at the day's rate p (binomial)."""
    n = np.array([r[REQUESTS] for r in rows], dtype=float)
    e = np.diff(y) / np.sqrt(1 / n[1:] + 1 / n[:-1])
    c = 1.4826 * float(np.median(np.abs(e - np.median(e))))
    if metric == "p99_ms":
        c = max(c, P99_MIN_NOISE)
    else:
        rate = sum(r[ERRORS] for r in rows) / n.sum()
        c = max(c, math.sqrt(max(rate * (1 - rate), ERROR_RATE_MIN_VARIANCE)))
    return c / np.sqrt(n)


def _slope_z(t: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> float:
    """The least-squares slope over its standard error sqrt(sum dt^2 sigma^2) / Sxx."""
    dt = t - t.mean()
    return float(dt @ (y - y.mean())) / math.sqrt(float((dt * dt) @ (sigma * sigma)))


def _knot(t: np.ndarray, y: np.ndarray, min_hours: int) -> int:
    """Where a flat-then-linear least-squares fit turns upward (leaving >= min_hours points after)."""
    def sse(k: int) -> float:
        design = np.column_stack([np.ones_like(t), np.maximum(0.0, t - t[k])])
        fit, *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(((y - design @ fit) ** 2).sum())
    return min(range(len(t) - min_hours + 1), key=sse)
