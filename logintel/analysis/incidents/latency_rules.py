"""The thresholds of latency incidents, in one place with their defaults and why.

A route's latency in a 5-minute window (sliding by a minute, as windowed_aggregates') is the mean of
ln duration_ms of its successful requests, weighted by sample_rate: its geometric mean latency. Not the
median: a route that serves two kinds of requests on one path (orders' GET and POST /orders) has a
median that jumps from one mode to the other whenever their mix wobbles, while the mean of logs moves
with the mix smoothly and is close to normal over a window. Its baseline is the same statistic over
the route's recent windows: the latest `baseline_windows` tested windows (3 h of them) that end within
`reach_hours` before the partition, not counting windows of the route's earlier latency incidents (so
a slowdown never becomes its own baseline). A window breaches when all of these hold:

- it holds at least `min_events` kept events (a mean of fewer is mostly noise);
- its robust z-score is at least `min_z`: z = (its ln latency − the baseline windows' median) / s,
  where s is 1.4826 × the baseline's median absolute deviation (the standard deviation, for normal
  data, that one outlying window cannot inflate), at least `min_spread`, and widened by
  sqrt(typical baseline events / the window's events) when the window holds fewer requests than the
  baseline's did (a mean's sampling error shrinks with the square root of its count);
- it is at least `min_rise` times the baseline's latency and `min_extra_ms` more (a z-score alone
  would page on a 3% wobble of a very steady route, or on 2 ms more on a 1 ms health check).

Breaching windows whose starts are at most RUN_GAP_WINDOWS window lengths apart are one run (as rule
incidents); a run is an incident when it holds at least `min_windows` breaching windows (one odd window
is a blip) or continues an incident of the previous hour. A route with fewer than `min_baseline_windows`
baseline windows (new, quiet, or slow for longer than `reach_hours`) is not tested.

The incident names the route's slowest dependency with `min_rise`, `min_extra_ms` and
`dependency_share` (latency_cause.py explains how).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LatencyRules:
    baseline_windows: int = 180        # the latest 3 h of 1-minute-step windows before the partition
    reach_hours: int = 6               # how far back the baseline's windows may come from
    min_baseline_windows: int = 60     # a route with less history than an hour's windows is not tested
    min_events: int = 30               # kept events in a window, for its latency to be tested
    min_z: float = 4.5                 # robust z of the window's ln latency against the baseline's
    min_spread: float = 0.05           # floor of the baseline's robust spread, in ln units (±5%)
    min_rise: float = 1.5              # window latency / baseline latency (geometric means)
    min_extra_ms: float = 20.0         # window latency − baseline latency
    min_windows: int = 3               # breaching windows in a run, for a new incident
    stated_baseline_hours: int = 3     # the period before the onset whose p50/p99 the text states
    dependency_share: float = 0.5      # of the route's extra p50 a dependency's added time must explain

    def __post_init__(self):
        if self.min_rise < 1.0 or self.min_z <= 0 or self.min_events < 1 or self.min_windows < 1:
            raise ValueError("latency rules: min_rise >= 1, min_z > 0, min_events >= 1 and min_windows >= 1")
