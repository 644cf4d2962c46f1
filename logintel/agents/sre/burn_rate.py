"""Multiwindow burn-rate alerts: at every 5-minute step of the scope, each route's server-error rate over a
long and a short window against its SLO's error budget; consecutive firing steps are one alert."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from logintel.agents.sre.sre_queries import RouteCounts
from logintel.agents.sre.sre_rules import SreRules
from logintel.daily.slo import SloBook

STEP_MINUTES = 5


@dataclass(frozen=True)
class BurnRule:
    level: str          # "page" | "ticket"
    burn: float
    long_minutes: int
    short_minutes: int


@dataclass
class BurnAlert:
    service: str
    route: str
    rule: BurnRule
    start: datetime       # naive UTC: the first step that fired
    end: datetime         # the last step that fired
    peak_long: float      # the highest long-window burn while it fired
    peak_short: float
    requests: float       # in [start - long window, end]
    errors: float
    budget_consumed: float
    availability: float
    period_days: float


def burn_rules(rules: SreRules) -> list[BurnRule]:
    return [BurnRule("page", rules.page_fast_burn, rules.page_fast_long_minutes, rules.page_fast_short_minutes),
            BurnRule("page", rules.page_slow_burn, rules.page_slow_long_minutes, rules.page_slow_short_minutes),
            BurnRule("ticket", rules.ticket_burn, rules.ticket_long_minutes, rules.ticket_short_minutes)]


def burn_alerts(series: dict[tuple[str, str], RouteCounts], grid_start: datetime, scope_start: datetime,
                slos: SloBook, rules: SreRules) -> list[BurnAlert]:
    """The alerts that fired at a step inside the scope (steps before `scope_start` are the windows' lead-in).
    A route that pages is not ticketed for the same minutes (the page says more)."""
    first_step = int((scope_start - grid_start).total_seconds() // (60 * STEP_MINUTES))
    alerts = []
    for (service, route), counts in sorted(series.items()):
        slo = slos.for_route(service, route)
        paged = np.zeros(len(counts.requests), dtype=bool)
        for rule in burn_rules(rules):
            firing = _firing(counts, rule, slo.budget_rate, rules)
            firing[:first_step] = False
            if rule.level == "ticket":
                firing &= ~_spread(paged, rule.short_minutes // STEP_MINUTES)
            else:
                paged |= firing
            for a, b in _runs(firing):
                alerts.append(_alert(service, route, rule, counts, a, b, grid_start, slo, rules))
    return _merge_pages(alerts)


def _window_sums(values: np.ndarray, steps: int) -> np.ndarray:
    """At each step i, the sum over the `steps` buckets ending with bucket i (fewer at the start)."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, len(values) + 1)
    return cumulative[index] - cumulative[np.maximum(index - steps, 0)]


def _burn(counts: RouteCounts, minutes: int, budget_rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps = max(1, minutes // STEP_MINUTES)
    requests, errors = _window_sums(counts.requests, steps), _window_sums(counts.errors, steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(requests > 0, errors / requests, 0.0)
    return rate / budget_rate, requests, errors


def _firing(counts: RouteCounts, rule: BurnRule, budget_rate: float, rules: SreRules) -> np.ndarray:
    long_burn, long_requests, long_errors = _burn(counts, rule.long_minutes, budget_rate)
    short_burn, _, short_errors = _burn(counts, rule.short_minutes, budget_rate)
    return ((long_burn > rule.burn) & (short_burn > rule.burn) & (long_requests >= rules.burn_min_requests)
            & (long_errors >= rules.burn_min_errors) & (short_errors >= rules.burn_min_short_errors))


def _spread(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for k in range(1, steps + 1):
        out[k:] |= mask[:-k]
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, last] step of each run of True (a one-step gap does not end an alert)."""
    runs, start, gap = [], None, 0
    for i, on in enumerate(mask.tolist()):
        if on:
            start = i if start is None else start
            gap, last = 0, i
        elif start is not None:
            gap += 1
            if gap > 1:
                runs.append((start, last))
                start, gap = None, 0
    if start is not None:
        runs.append((start, last))
    return runs


def _alert(service, route, rule: BurnRule, counts: RouteCounts, a: int, b: int, grid_start: datetime, slo,
           rules: SreRules) -> BurnAlert:
    long_burn, _, _ = _burn(counts, rule.long_minutes, slo.budget_rate)
    short_burn, _, _ = _burn(counts, rule.short_minutes, slo.budget_rate)
    lead = max(1, rule.long_minutes // STEP_MINUTES) - 1
    requests = float(counts.requests[max(0, a - lead):b + 1].sum())
    errors = float(counts.errors[max(0, a - lead):b + 1].sum())
    hours = (b + 1 - max(0, a - lead)) * STEP_MINUTES / 60
    # The budget this span spent: its burn rate times its share of the SLO period.
    consumed = (errors / requests / slo.budget_rate) * hours / slo.period_hours if requests else 0.0
    step = timedelta(minutes=STEP_MINUTES)
    return BurnAlert(service, route, rule, grid_start + (a + 1) * step, grid_start + (b + 1) * step,
                     float(long_burn[a:b + 1].max()), float(short_burn[a:b + 1].max()), requests, errors, consumed,
                     slo.availability, slo.period_days)


def _merge_pages(alerts: list[BurnAlert]) -> list[BurnAlert]:
    """The fast and the slow page of one route in overlapping minutes are one page (the faster rule's)."""
    kept: list[BurnAlert] = []
    for alert in sorted(alerts, key=lambda x: (x.service, x.route, x.rule.level, -x.rule.burn, x.start)):
        twin = next((k for k in kept if (k.service, k.route, k.rule.level) == (alert.service, alert.route, alert.rule.level)
                     and k.start <= alert.end and alert.start <= k.end), None)
        if twin is None:
            kept.append(alert)
        else:
            twin.start, twin.end = min(twin.start, alert.start), max(twin.end, alert.end)
            twin.budget_consumed = max(twin.budget_consumed, alert.budget_consumed)
    return sorted(kept, key=lambda x: x.start)
