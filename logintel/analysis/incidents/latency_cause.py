"""A latency incident's slowest dependency: the one `<ns>.duration_ms` value (peer.service=inventory,
db.instance=orders-db-primary) whose slowdown explains the route's, as a root-cause verdict.

The root-cause analysis compares the failing requests with the baseline and asks a dependency to be
3× slower; a latency incident has no failing requests and its route may be only 2× slower, so here the
route's requests during the incident are compared with those before its onset, and a dependency
explains the rise when it got `min_rise` times and `min_extra_ms` slower and the time it added per
request (its share of the requests × its extra median) is at least `dependency_share` of the route's
extra p50. Among those that explain about as much (within NEAR_BEST), the most specific attribute
(most distinct values) wins: db.instance over db.system, as in the verdict.
"""
from __future__ import annotations

import math

from logintel.analysis.incidents.latency_rules import LatencyRules
from logintel.analysis.root_cause.kinds import DEPENDENCY, UNKNOWN
from logintel.analysis.root_cause.verdict import MIN_EVENTS, TOP_CONTRASTS, RootCause, Slowdown

NEAR_BEST = 0.8


def _added_ms(s: Slowdown) -> float:
    """The time the dependency added per request of the route: its share × its extra median."""
    return s.share_failing * (s.after_ms - s.before_ms)


def slowest_dependency(slowdowns: list[Slowdown], route_extra_ms: float, rules: LatencyRules) -> RootCause:
    """The verdict: kind dependency with the slowed attribute=value and its numbers, or unknown."""
    slowed = [s for s in slowdowns if s.failing_n >= MIN_EVENTS and s.baseline_n >= MIN_EVENTS
              and s.ratio >= rules.min_rise and s.after_ms - s.before_ms >= rules.min_extra_ms
              and _added_ms(s) >= rules.dependency_share * max(route_extra_ms, 0.0)]
    if not slowed:
        return RootCause(kind=UNKNOWN)
    best = max(_added_ms(s) for s in slowed)
    top = max((s for s in slowed if _added_ms(s) >= NEAR_BEST * best), key=lambda s: (s.specificity, _added_ms(s)))
    others = sorted((s for s in slowed if s is not top), key=_added_ms, reverse=True)[:TOP_CONTRASTS - 1]
    strength = max(0.0, min(1.0, math.log10(max(top.ratio, 1.0))))
    return RootCause(kind=DEPENDENCY, attribute=top.by, value=top.value,
                     confidence=round(min(1.0, top.share_failing) * strength, 3),
                     evidence=[top.evidence()] + [s.evidence() for s in others])
