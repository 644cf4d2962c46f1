"""Traffic drops: a route or service whose requests fall far below what the same hours carried before.

Expected requests per hour: the same hour the day before, else the same hour a week before. An hour is
low when it carries under half its expectation (expected ≥ 20 requests); a drop is a run of at least
two consecutive low hours among the hours the warehouse holds (an hour not yet materialized is unknown,
not quiet). With no earlier day to compare with, only silence counts: hours with no request at all
where the route's median hour carries at least 20 — a night-time dip is the diurnal pattern, not a drop. Routes under 1% of their
service's requests are left out: a tiny route going quiet is noise, not news."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from logintel.daily.route_metrics import ALL_ROUTES

LOW_SHARE = 0.5
MIN_EXPECTED = 20
MIN_HOURS = 2
MIN_ROUTE_SHARE = 0.01
BASES = (("day before", 1), ("week before", 7))
OWN_MEDIAN = "own median"


@dataclass(frozen=True)
class TrafficDrop:
    service: str
    route: str
    start_hour: datetime     # naive UTC
    end_hour: datetime       # the end of the last low hour
    expected: float
    observed: float
    basis: str               # "day before" | "week before" | "own median"

    @property
    def drop_share(self) -> float:
        return 1 - self.observed / self.expected if self.expected else 0.0

    @property
    def quiet(self) -> bool:
        return self.observed == 0


def find_traffic_drops(series_by_route: dict[tuple[str, str], list[tuple]], history: dict | None,
                       covered: list[datetime]) -> list[TrafficDrop]:
    """Drops over the `covered` hours; series are route_hours' tuples (hour, requests, ...)."""
    keys = set(series_by_route) | {k for by_route in (history or {}).values() for k in by_route}
    drops = []
    for service, route in sorted(keys):
        observed = {r[0]: r[1] for r in series_by_route.get((service, route), [])}
        expected, basis = _expected(history, (service, route), covered, observed)
        if not _large_enough(service, route, series_by_route, history):
            continue
        drops += _runs(service, route, covered, observed, expected, basis)
    return sorted(drops, key=lambda d: -(d.expected - d.observed))


def _large_enough(service: str, route: str, today: dict, history: dict | None) -> bool:
    """At least MIN_ROUTE_SHARE of its service's requests (a service: of all requests), today or before."""
    def total(by_route, match) -> float:
        return sum(r[1] for key, rows in by_route.items() if match(key) for r in rows)
    for by_route in [today, *(history or {}).values()]:
        mine = total(by_route, lambda k: k == (service, route))
        whole = total(by_route, (lambda k: k[1] == ALL_ROUTES) if route == ALL_ROUTES
                      else (lambda k: k == (service, ALL_ROUTES)))
        if whole and mine >= MIN_ROUTE_SHARE * whole:
            return True
    return False


def _expected(history: dict | None, key, covered: list[datetime], observed: dict) -> tuple[dict, str]:
    for basis, lag in BASES:
        earlier = {r[0] + timedelta(days=lag): r[1] for r in (history or {}).get(basis, {}).get(key, [])}
        if any(h in earlier for h in covered):
            return {h: earlier.get(h, 0) for h in covered}, basis
    median = statistics.median([observed.get(h, 0) for h in covered]) if covered else 0
    return {h: median for h in covered}, OWN_MEDIAN


def _runs(service, route, covered, observed, expected, basis) -> list[TrafficDrop]:
    runs, current = [], []
    for hour in sorted(covered):
        floor = 1 if basis == OWN_MEDIAN else LOW_SHARE * expected[hour]
        low = expected[hour] >= MIN_EXPECTED and observed.get(hour, 0) < floor
        if low and (not current or hour - current[-1] == timedelta(hours=1)):
            current.append(hour)
            continue
        if len(current) >= MIN_HOURS:
            runs.append(current)
        current = [hour] if low else []
    if len(current) >= MIN_HOURS:
        runs.append(current)
    return [TrafficDrop(service, route, run[0], run[-1] + timedelta(hours=1), sum(expected[h] for h in run),
                        sum(observed.get(h, 0) for h in run), basis) for run in runs]
