"""Slow trends on hourly series: a 4-hour p99 creep like the simulator's (04:10-08:10), an error-rate
creep, and what must stay quiet (noise, a diurnal curve the day before also had, an incident's jump);
then the simulator's slow degradation found end to end from daily_route_metrics."""
import math
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import duckdb
import numpy as np
import pytest

from logintel.daily.days import DigestDay
from logintel.daily.route_metrics import compute_route_metrics, route_hours
from logintel.daily.slo import load_slos
from logintel.daily.trends import find_slow_trends, mann_kendall
from logintel.simulate.simulation import simulate
from logintel.store.landing import HourBatch
from logintel.store.warehouse import ensure_schema, load_hour

DAY = datetime(2026, 12, 2)
HOURS = [DAY + timedelta(hours=h) for h in range(24)]
SLOS = load_slos(None)
KEY = ("search", "/search")


def _series(p99, requests=500, errors=None, day=DAY):
    errors = [0] * len(p99) if errors is None else errors
    return [(day + timedelta(hours=h), requests, e, e / requests, float(v)) for h, (v, e) in enumerate(zip(p99, errors))]


def _creep(hour: int, ms: float, start=4 + 10 / 60, end=8 + 10 / 60) -> float:
    """A leak from 04:10 to 08:10 (then a restart): the hour's extra p99 at its midpoint."""
    progress = (hour + 0.5 - start) / (end - start)
    return ms * progress if 0 <= progress <= 1 else 0.0


def test_mann_kendall_on_a_hand_computed_series_with_ties():
    result = mann_kendall([1, 2, 2, 3])
    var = (4 * 3 * 13 - 2 * 1 * 9) / 18  # one pair of ties
    assert result.s == 5 and result.tau == pytest.approx(5 / 6)
    assert result.z == pytest.approx(4 / math.sqrt(var))
    assert result.p_value == pytest.approx(0.1486, abs=1e-4)
    assert mann_kendall([3, 2, 1]).s == -3 and mann_kendall([1, 1, 1]).p_value == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_a_four_hour_creep_is_found_with_its_span_and_time_to_the_objective(seed):
    rng = np.random.default_rng(seed)
    p99 = [150 * rng.lognormal(0, 0.08) + _creep(h, 750) for h in range(24)]
    (trend,) = find_slow_trends({KEY: _series(p99)}, SLOS)
    assert (trend.service, trend.route, trend.metric) == ("search", "/search", "p99_ms")
    # the leak starts at 04:10: hour 4 is only a sixth into it, so the knot falls on hour 3 or 4
    assert trend.start_hour in (DAY + timedelta(hours=3), DAY + timedelta(hours=4))
    assert trend.end_hour == DAY + timedelta(hours=8)
    assert trend.start_value == pytest.approx(150, rel=0.15) and trend.end_value == pytest.approx(p99[7])
    assert trend.slope_per_hour == pytest.approx(750 / 4, rel=0.25)
    assert trend.p_value < 0.001 and trend.windows_tried == 231 and trend.tau >= 0.6
    assert trend.diurnal_checked is False and trend.objective == 1000.0
    # below the 1000 ms objective and rising: the hours left at this slope
    assert trend.hours_to_objective == pytest.approx((1000 - trend.end_value) / trend.slope_per_hour)
    assert trend.hours_to_objective > 0
    assert len(trend.points) == 24 and trend.points[0] == (DAY.isoformat(), pytest.approx(p99[0]))


def test_a_creep_already_over_the_objective_has_no_time_left():
    p99 = [150.0 + h % 3 + _creep(h, 2000) for h in range(24)]
    (trend,) = find_slow_trends({KEY: _series(p99)}, SLOS)
    assert trend.end_value > 1000 and trend.hours_to_objective is None


@pytest.mark.parametrize("seed", range(10))
def test_noise_is_not_a_trend(seed):
    rng = np.random.default_rng(100 + seed)
    series = {("svc", f"/r{i}"): _series(200 * rng.lognormal(0, 0.15, 24), requests=int(rng.integers(100, 2000)))
              for i in range(5)}
    assert find_slow_trends(series, SLOS) == []


def test_a_diurnal_rise_the_day_before_also_had_is_not_a_trend():
    rng = np.random.default_rng(3)
    curve = [120 + 180 * max(0.0, math.sin(math.pi * (h - 5) / 14)) for h in range(24)]  # 120 ms at night, 300 at 12:00
    today = _series([v * rng.lognormal(0, 0.05) for v in curve])
    yesterday = _series([v * rng.lognormal(0, 0.05) for v in curve], day=DAY - timedelta(days=1))
    (unchecked,) = find_slow_trends({KEY: today}, SLOS)  # alone, the morning looks like a creep...
    assert unchecked.diurnal_checked is False
    assert find_slow_trends({KEY: today}, SLOS, {"day before": {KEY: yesterday}}) == []  # ...but it is the day's shape


def test_a_creep_on_top_of_the_diurnal_curve_is_found_against_the_week_before():
    rng = np.random.default_rng(4)
    curve = [120 + 180 * max(0.0, math.sin(math.pi * (h - 5) / 14)) for h in range(24)]
    today = _series([v * rng.lognormal(0, 0.05) + _creep(h, 600) for h, v in enumerate(curve)])
    week = _series([v * rng.lognormal(0, 0.05) for v in curve], day=DAY - timedelta(days=7))
    (trend,) = find_slow_trends({KEY: today}, SLOS, {"week before": {KEY: week}})
    assert trend.diurnal_checked is True and trend.end_hour == DAY + timedelta(hours=8)
    assert trend.start_hour in (DAY + timedelta(hours=3), DAY + timedelta(hours=4))


def test_an_incidents_jump_is_not_a_creep():
    rng = np.random.default_rng(5)
    p99 = 150 * rng.lognormal(0, 0.08, 24)
    p99[9] = 5000.0  # one bad hour: an incident's, for the incident detector
    p99[15:17] = 3000.0
    assert find_slow_trends({KEY: _series(p99)}, SLOS) == []


def test_an_error_rate_creep_is_found():
    rng = np.random.default_rng(6)
    requests = 20_000
    rate = [0.0005 + (0.006 * (h - 10) / 5 if 10 <= h <= 15 else 0.0) for h in range(24)]
    errors = [int(rng.binomial(requests, r)) for r in rate]
    series = _series([150.0 + (h * 7) % 5 for h in range(24)], requests=requests, errors=errors)
    (trend,) = find_slow_trends({KEY: series}, SLOS)
    assert trend.metric == "error_rate" and trend.end_hour == DAY + timedelta(hours=16)
    assert trend.start_hour in (DAY + timedelta(hours=9), DAY + timedelta(hours=10))
    assert trend.objective == pytest.approx(0.001)  # the error budget rate
    assert trend.hours_to_objective is None  # it is already burning faster than 1x


def test_hours_with_too_few_requests_are_left_out():
    p99 = [150.0 + (h * 7) % 5 + _creep(h, 750) for h in range(24)]
    assert find_slow_trends({KEY: _series(p99, requests=60)}, SLOS) == []
    assert len(find_slow_trends({KEY: _series(p99, requests=60)}, SLOS, min_requests=50)) == 1


def _simulated_day(con, day: DigestDay, seed: int, scenarios):
    sim = simulate(datetime.combine(day.day, datetime.min.time()), hours=24, seed=seed, requests_per_minute=60,
                   scenarios=scenarios)
    lines = defaultdict(list)
    for event in sim.events:
        lines[event.timestamp.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None)].append(
            event.to_json())
    for hour, batch in sorted(lines.items()):
        load_hour(con, HourBatch(hour=hour, lines=batch, sources=["sim"] * len(batch)))
    compute_route_metrics(con, day)


@pytest.mark.slow
def test_the_simulators_slow_degradation_is_the_only_slow_trend(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_schema(con)
    today = DigestDay(date(2026, 12, 2))
    _simulated_day(con, today.previous(1), seed=107, scenarios=[])  # a quiet day before: the diurnal baseline
    _simulated_day(con, today, seed=7, scenarios=None)  # every incident, the 04:10-08:10 leak in search among them
    found = find_slow_trends(route_hours(con, today), SLOS, {"day before": route_hours(con, today.previous(1))})
    by_route = {(t.service, t.route, t.metric): t for t in found}
    assert set(by_route) <= {("search", "/search", "p99_ms"), ("search", "*", "p99_ms")}
    search = by_route[("search", "/search", "p99_ms")]
    # The leak begins at 04:10, so the 04:00 hour's p99 already rose: the trend opens on the last flat
    # hour before it (03:00) or on the leak's first hour, never earlier.
    assert search.start_hour in (today.start + timedelta(hours=3), today.start + timedelta(hours=4))
    assert search.start_value < 200  # it starts from the healthy level, not partway up
    assert search.end_hour in (today.start + timedelta(hours=8), today.start + timedelta(hours=9))
    assert search.diurnal_checked is True and search.relative_change > 5
