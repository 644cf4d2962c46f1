"""Traffic drops: a route that goes quiet, a dip the day before also had, a tiny route, and a route
with no history judged against its own median hour."""
import math
from datetime import datetime, timedelta

import pytest

from logintel.daily.traffic_drops import find_traffic_drops

DAY = datetime(2026, 12, 2)
HOURS = [DAY + timedelta(hours=h) for h in range(24)]
DIURNAL = [round(300 + 900 * max(0.0, math.sin(math.pi * (h - 5) / 14))) for h in range(24)]  # night 300, noon 1200


def _series(counts, day=DAY):
    """route_hours' tuples; an hour of 0 requests has no row, as in the warehouse."""
    return [(day + timedelta(hours=h), n, 0, 0.0, 100.0) for h, n in enumerate(counts) if n]


def _shop(search, suggest, day=DAY):
    """The search service: /search, /search/suggest and its own row '*'."""
    return {("search", "/search"): _series(search, day), ("search", "/search/suggest"): _series(suggest, day),
            ("search", "*"): _series([a + b for a, b in zip(search, suggest)], day)}


def test_a_route_that_goes_quiet_for_three_hours_is_reported():
    quiet = [0 if 10 <= h < 13 else n for h, n in enumerate(DIURNAL)]
    history = {"day before": _shop(DIURNAL, [n // 4 for n in DIURNAL], DAY - timedelta(days=1))}
    drops = find_traffic_drops(_shop(quiet, [n // 4 for n in DIURNAL]), history, HOURS)
    route = next(d for d in drops if d.route == "/search")
    assert (route.start_hour, route.end_hour) == (DAY + timedelta(hours=10), DAY + timedelta(hours=13))
    assert route.expected == sum(DIURNAL[10:13]) and route.observed == 0
    assert route.quiet and route.drop_share == 1.0 and route.basis == "day before"
    service = next(d for d in drops if d.route == "*")  # the service lost 80% of those hours too
    assert not service.quiet and service.drop_share == pytest.approx(0.8, abs=0.01)
    assert [d.route for d in drops if d.route not in ("*", "/search")] == []


def test_a_diurnal_dip_the_day_before_also_had_is_not_a_drop():
    history = {"day before": _shop(DIURNAL, [n // 4 for n in DIURNAL], DAY - timedelta(days=1))}
    today = _shop([round(n * 1.05) for n in DIURNAL], [n // 4 for n in DIURNAL])
    assert find_traffic_drops(today, history, HOURS) == []


def test_the_week_before_is_the_basis_when_the_day_before_lacks_the_route():
    history = {"day before": {}, "week before": _shop(DIURNAL, [n // 4 for n in DIURNAL], DAY - timedelta(days=7))}
    halved = [n // 3 if 14 <= h < 16 else n for h, n in enumerate(DIURNAL)]
    (drop,) = [d for d in find_traffic_drops(_shop(halved, [n // 4 for n in DIURNAL]), history, HOURS)
               if d.route == "/search"]
    assert drop.basis == "week before" and drop.start_hour == DAY + timedelta(hours=14)
    assert drop.drop_share == pytest.approx(2 / 3, abs=0.01) and not drop.quiet


def test_a_tiny_route_going_quiet_is_ignored():
    tiny = [0 if 10 <= h < 16 else 5 for h in range(24)]  # about 0.5% of the service
    before = {"day before": _shop(DIURNAL, [5] * 24, DAY - timedelta(days=1))}
    assert find_traffic_drops(_shop(DIURNAL, tiny), before, HOURS) == []


def test_without_history_a_quiet_route_is_judged_against_its_own_median_but_its_night_is_not():
    quiet = [0 if 10 <= h < 13 else n for h, n in enumerate(DIURNAL)]
    drops = find_traffic_drops(_shop(quiet, [n // 4 for n in DIURNAL]), None, HOURS)
    (route,) = [d for d in drops if d.route == "/search"]
    assert route.basis == "own median" and route.quiet
    assert (route.start_hour, route.end_hour) == (DAY + timedelta(hours=10), DAY + timedelta(hours=13))
    assert not [d for d in drops if d.route == "/search/suggest"]  # its night at 1/3 of the median is normal


def test_a_route_missing_all_day_that_had_traffic_the_day_before_is_quiet_all_day():
    history = {"day before": _shop(DIURNAL, [n // 4 for n in DIURNAL], DAY - timedelta(days=1))}
    today = _shop(DIURNAL, [0] * 24)
    (drop,) = [d for d in find_traffic_drops(today, history, HOURS) if d.route == "/search/suggest"]
    assert drop.quiet and (drop.start_hour, drop.end_hour) == (HOURS[0], HOURS[-1] + timedelta(hours=1))
