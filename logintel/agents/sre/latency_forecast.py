"""Time-to-threshold forecasts of each route's p99: at every step of the scope, the p99 over the last hour,
fitted over the last few hours (Theil-Sen, with its interval), projected to the SLO's objective — raised only
when the rise is steady, already half the way there, not what the same hours did the day before, and due
within the horizon. The first step that raises it, and the first that finds the p99 over (the static alarm),
are both kept, so the lead the forecast gave is measured."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import theilslopes

from logintel.agents.sre.sre_queries import LatencyHistograms
from logintel.agents.sre.sre_rules import SreRules
from logintel.daily.slo import SloBook
from logintel.daily.trends import mann_kendall

DAY = timedelta(days=1)


@dataclass
class LatencyForecast:
    service: str
    route: str
    raised_at: datetime            # naive UTC: the first step whose projection crossed within the horizon
    level_ms: float                # the sliding-hour p99 then
    slope_ms_per_hour: float
    slope_low: float               # the slope's interval
    slope_high: float
    hours_to_objective: float      # at the slope
    hours_low: float               # at the interval's steeper end
    hours_high: float | None       # at its flatter end (None: never, at that slope)
    objective_ms: float
    tau: float
    window_start: datetime
    diurnal_checked: bool
    breached_at: datetime | None   # the first step the sliding-hour p99 was over the objective (static alarm)
    points: list[tuple[str, float]]


def latency_forecasts(hist: LatencyHistograms, scope_start: datetime, scope_end: datetime, slos: SloBook,
                      rules: SreRules) -> list[LatencyForecast]:
    """At most one forecast per route in the scope: its first raise (with the breach that followed, if any)."""
    step = timedelta(minutes=hist.step_minutes)
    per_hour = max(1, round(60 / hist.step_minutes))
    window = max(3, round(rules.forecast_window_hours * 60 / hist.step_minutes))
    first = int((scope_start - hist.start) / step)
    last = int((scope_end - hist.start) / step)
    found = []
    for key in sorted(hist.counts):
        if key[1] == "*":
            continue
        slo = slos.for_route(*key)
        levels = _sliding_p99(hist, key, per_hour, last)
        yesterday = {i: levels[i - int(DAY / step)] for i in range(len(levels)) if i - int(DAY / step) >= 0}
        breached = next((i for i in range(first, last) if levels[i][0] is not None and levels[i][0] > slo.p99_ms
                         and levels[i][1] >= rules.forecast_min_hour_requests), None)
        for i in range(max(first, window), last):
            if breached is not None and i >= breached:
                break
            forecast = _forecast_at(levels, yesterday, i, window, per_hour, slo.p99_ms, rules)
            if forecast:
                # The window is the steps fitted: where the data begins, not `window` steps back from the raise.
                fitted_from = forecast.pop("first_step")
                found.append(LatencyForecast(
                    key[0], key[1], raised_at=hist.start + (i + 1) * step, objective_ms=slo.p99_ms,
                    window_start=hist.start + fitted_from * step,
                    breached_at=hist.start + (breached + 1) * step if breached is not None else None,
                    points=[((hist.start + (j + 1) * step).isoformat(), round(levels[j][0], 1))
                            for j in range(max(first, i - window), min(last, i + 4 * per_hour)) if levels[j][0]],
                    **forecast))
                break
    return found


def _sliding_p99(hist: LatencyHistograms, key, per_hour: int, last: int) -> list[tuple[float | None, float]]:
    """(p99 over the hour ending with step i, its requests) for every step."""
    return [hist.quantile(key, i + 1 - per_hour, i + 1) for i in range(last)]


def _hourly_noise(levels, i: int, window: int, per_hour: int) -> tuple[float, float] | None:
    """The day before the window: its typical hourly p99 (the median) and how much that moves from one hour
    to the next (1.4826 × the median absolute hour-to-hour difference over sqrt 2); None without enough hours."""
    hours = [levels[j][0] for j in range(i - window, max(i - window - 24 * per_hour, -1), -per_hour)
             if levels[j][0] is not None]
    if len(hours) < 6:
        return None
    steps = np.abs(np.diff(hours))
    return float(np.median(hours)), float(1.4826 * np.median(steps) / np.sqrt(2))


def _forecast_at(levels, yesterday, i: int, window: int, per_hour: int, objective: float,
                 rules: SreRules) -> dict | None:
    span = range(i + 1 - window, i + 1)
    points = [(j, levels[j][0]) for j in span
              if levels[j][0] is not None and levels[j][1] >= rules.forecast_min_hour_requests]
    if len(points) < window * 0.75:
        return None
    level = levels[i][0]
    if level is None or level >= objective or level < rules.forecast_level_guard * objective:
        return None
    hours = np.array([(j - i) * rules.forecast_step_minutes / 60 for j, _ in points])
    y = np.array([v for _, v in points])
    slope, _, low, high = theilslopes(y, hours, alpha=rules.forecast_interval)
    tau = mann_kendall(y).tau
    if slope <= 0 or low <= 0 or tau < rules.forecast_min_tau:
        return None
    # Against the diurnal pattern: the same hours a day before must not have risen as much.
    past = [(h, yesterday[j][0]) for h, (j, _) in zip(hours, points) if j in yesterday and yesterday[j][0] is not None]
    diurnal_checked = len(past) >= len(points) * 0.75
    if diurnal_checked and theilslopes([v for _, v in past], [h for h, _ in past])[0] >= 0.5 * slope:
        return None
    min_rise = rules.forecast_min_rise if diurnal_checked else rules.forecast_min_rise_without_history
    if y[-1] - y[0] < min_rise * y[0]:
        return None
    # The fitted rise, and the level it reached over the day's typical one, must both stand out of the
    # hour-to-hour noise the route had before (a recovery from a dip is no creep).
    before = _hourly_noise(levels, i, window, per_hour)
    if before is not None:
        typical, noise = before
        margin = rules.forecast_noise_factor * noise
        if slope * (window / per_hour) < margin or level - typical < margin:
            return None
    to_objective = (objective - level) / slope
    if to_objective > rules.forecast_horizon_hours:
        return None
    return {"level_ms": float(level), "slope_ms_per_hour": float(slope), "slope_low": float(low),
            "slope_high": float(high), "hours_to_objective": float(to_objective),
            "hours_low": float((objective - level) / high),
            "hours_high": float((objective - level) / low) if low > 0 else None,
            "tau": float(tau), "diurnal_checked": diurnal_checked, "first_step": points[0][0]}

