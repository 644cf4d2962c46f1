"""The SRE analyst's defaults (each overridable in the `sre` section of LOGINTEL_ANALYST_RULES).

Burn-rate alerts follow the SRE workbook's multiwindow, multi-burn-rate table for a 30-day SLO (as Sloth's
google-30d windows do): page when both the long and the short window burn faster than 14.4× (1 h / 5 min:
2% of the budget in an hour) or 6× (6 h / 30 min: 5% in six hours); ticket at 1× over 3 days / 6 h.
Forecasts are predict_linear-style projections of the sliding-hour p99, guarded by the current level as
node-mixin guards its disk forecasts (a projection counts only once the level is already half the way)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SreRules:
    page_fast_burn: float = 14.4
    page_fast_long_minutes: int = 60
    page_fast_short_minutes: int = 5
    page_slow_burn: float = 6.0
    page_slow_long_minutes: int = 360
    page_slow_short_minutes: int = 30
    ticket_burn: float = 1.0
    ticket_long_minutes: int = 4320
    ticket_short_minutes: int = 360
    # A window with fewer requests or errors than this says nothing about a budget of 1 in 1000.
    burn_min_requests: int = 100
    burn_min_errors: int = 10
    burn_min_short_errors: int = 3  # one error in a quiet half hour is not a burn
    # Forecasts: the p99 over the last hour, every `forecast_step_minutes`, fitted over the last
    # `forecast_window_hours`; raised when the fit crosses the objective within the horizon.
    forecast_step_minutes: int = 15
    forecast_window_hours: float = 2.0
    forecast_horizon_hours: float = 12.0
    forecast_level_guard: float = 0.5   # the current p99 must already be at least this share of the objective
    forecast_min_tau: float = 0.5       # Mann-Kendall tau-a of the window (the sliding hours tie often): a steady rise
    forecast_min_hour_requests: int = 300  # an hour's p99 over fewer requests is its one or two slowest
    forecast_min_rise: float = 0.5      # the window's rise relative to where it started
    # Without the day before to tell a creep from the morning's ramp, the rise must be this much larger.
    forecast_min_rise_without_history: float = 1.0
    forecast_noise_factor: float = 3.0  # the fitted rise over the window, in hours' p99 noise the day before
    forecast_interval: float = 0.9      # the confidence of the slope's interval (Theil-Sen)
