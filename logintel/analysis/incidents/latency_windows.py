"""The statistics of latency incidents: each route's 5-minute windows (the weighted mean of ln duration of
its successful requests, from per-minute sums over raw_events), its baseline from its recent windows and
the windows that breach it — the test `latency_rules.LatencyRules` explains."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from logintel.analysis.incidents.incident import ensure_schema
from logintel.analysis.incidents.latency_rules import LatencyRules
from logintel.analysis.windows import WindowSpec
from logintel.store.landing import HOUR
from logintel.store.schema import ERROR_SQL

KIND = "latency"
MAD_TO_SD = 1.4826  # the median absolute deviation of normal data times this is its standard deviation
MIN_DURATION_MS = 0.01  # a 0 ms duration counts as this much, so its logarithm is finite
Unit = tuple[str, str]  # (service, route)


@dataclass(frozen=True)
class Baseline:
    center: float   # median of the baseline windows' ln latency
    spread: float   # robust spread of it (MAD × 1.4826, floored)
    events: float   # median kept events per baseline window
    windows: int

    @property
    def typical_ms(self) -> float:
        """The baseline's latency (a geometric mean), in ms."""
        return math.exp(self.center)


@dataclass(frozen=True)
class Breach:
    start: datetime
    end: datetime
    typical_ms: float   # the window's geometric mean latency
    z: float
    events: int


def route_windows(con, start: datetime, rules: LatencyRules, spec: WindowSpec) -> dict[Unit, list[tuple]]:
    """Per route, its windows ending in (start − reach, start + 1 h]: (window_start, window_end, kept events,
    weighted mean of ln duration of its successful requests), from per-minute sums (a window is the sum
    of its minutes), in time order."""
    step, length = spec.step_minutes, spec.length_minutes
    rows = con.execute(f"""
        WITH m AS (
            SELECT service, route, time_bucket(INTERVAL {step} MINUTE, ts) AS slot, count(*) AS n, sum(sample_rate) AS w,
                   sum(sample_rate * ln(greatest(duration_ms, {MIN_DURATION_MS}))) AS wl
            FROM raw_events
            WHERE ts >= $lo AND ts < $hi AND NOT {ERROR_SQL} AND duration_ms IS NOT NULL AND sample_rate > 0
            GROUP BY ALL
        ), w AS (
            SELECT service, route, slot + INTERVAL {step} MINUTE AS window_end,
                   sum(n) OVER win AS n, sum(w) OVER win AS w, sum(wl) OVER win AS wl
            FROM m WINDOW win AS (PARTITION BY service, route ORDER BY slot
                                  RANGE BETWEEN INTERVAL {length - step} MINUTE PRECEDING AND CURRENT ROW)
        )
        SELECT service, route, window_end - INTERVAL {length} MINUTE, window_end, n, wl / w FROM w
        WHERE window_end >= $lo + INTERVAL {length} MINUTE
        ORDER BY service, route, window_end""",
                       {"lo": start - timedelta(hours=rules.reach_hours) - spec.lookback, "hi": start + HOUR}).fetchall()
    windows: dict[Unit, list[tuple]] = {}
    for service, route, *rest in rows:
        windows.setdefault((service, route), []).append(tuple(rest))
    return windows


def incident_spans(con, units: list[Unit], start: datetime, since: datetime) -> dict[Unit, list[tuple[datetime, datetime]]]:
    """The time ranges of each route's latency incidents of the partitions before `start` (kept out of its
    baseline; this partition's own, from an earlier run of it, would make a re-run differ)."""
    ensure_schema(con)  # a fresh warehouse has no incidents table yet
    spans: dict[Unit, list[tuple[datetime, datetime]]] = {}
    for service, route, a, b in con.execute(f"""
            SELECT service, route, start_time, end_time FROM incidents
            WHERE kind = '{KIND}' AND partition_hour < $start AND end_time > $since
              AND list_contains($units, service || '|' || route)""",
                                            {"start": start, "since": since,
                                             "units": [f"{s}|{r}" for s, r in units]}).fetchall():
        spans.setdefault((service, route), []).append((a, b))
    return spans


def baseline(windows: list[tuple], spans: list[tuple[datetime, datetime]], start: datetime,
             rules: LatencyRules) -> Baseline | None:
    """A route's baseline from its windows ending by `start`, outside `spans`; None with too few."""
    kept = [(n, g) for w_start, w_end, n, g in windows
            if w_end <= start and n >= rules.min_events and not any(a < w_end and b > w_start for a, b in spans)]
    kept = kept[-rules.baseline_windows:]
    if len(kept) < rules.min_baseline_windows:
        return None
    logs = np.array([g for _, g in kept])
    center = float(np.median(logs))
    spread = max(MAD_TO_SD * float(np.median(np.abs(logs - center))), rules.min_spread)
    return Baseline(center=center, spread=spread, events=float(np.median([n for n, _ in kept])), windows=len(kept))


def breaches(windows: list[tuple], base: Baseline, start: datetime, rules: LatencyRules) -> list[Breach]:
    """The windows of one route that end in the partition starting at `start` and breach its baseline."""
    found = []
    for w_start, w_end, events, g in windows:
        if w_end <= start or events < rules.min_events:
            continue
        # A mean of fewer requests than the baseline's windows held wanders more: widen the spread.
        scale = base.spread * max(1.0, math.sqrt(base.events / events))
        z = (g - base.center) / scale
        typical = math.exp(g)
        if z >= rules.min_z and typical >= rules.min_rise * base.typical_ms \
                and typical - base.typical_ms >= rules.min_extra_ms:
            found.append(Breach(w_start, w_end, typical, z, int(events)))
    return found


def limit_ms(base: Baseline, rules: LatencyRules) -> float:
    """The latency a window with the baseline's typical count must exceed to breach."""
    return max(rules.min_rise * base.typical_ms, base.typical_ms + rules.min_extra_ms,
               math.exp(base.center + rules.min_z * base.spread))
