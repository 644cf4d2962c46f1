"""Efficiency recommendations and day-over-day changes from daily route rows (as metrics.route_days gives)."""
import math

import pytest

from logintel.daily.changes import significant_changes, two_proportion_p
from logintel.daily.savings import recommendations


def _row(service, route, requests, **kw):
    row = {"service": service, "route": route, "requests": requests, "errors": 0, "error_rate": 0.0,
           "p50_ms": 50.0, "p95_ms": 90.0, "p99_ms": 120.0, "total_ms": requests * 60.0, "db_ms": None,
           "users": 10, "traces": requests, "events": requests, "traced_events": requests}
    for metric in ("requests", "error_rate", "p99_ms"):
        for when in ("day_before", "week_before"):
            row[f"{metric}_{when}"] = None
    row.update(kw)
    return row


def test_the_heaviest_routes_get_a_saving_from_mean_down_to_median():
    rows = [_row("search", "/search", 10_000, total_ms=10_000 * 200.0, p50_ms=80.0),
            _row("auth", "/login", 100, total_ms=100 * 10.0, p50_ms=9.0), _row("auth", "*", 100)]
    items = [i for i in recommendations(rows) if i["kind"] == "processing_time"]
    assert [i["route"] for i in items] == ["/search"]  # /login is under 5% of the time; '*' rows are skipped
    assert items[0]["saving"] == {"amount": pytest.approx(10_000 * 120.0 / 1000), "unit": "cpu_seconds_per_day"}
    assert "2,000 CPU-seconds" in items[0]["text"] and "1,200 CPU-seconds" in items[0]["text"]


def test_database_heavy_routes_and_retried_routes_are_named_with_their_saving():
    rows = [_row("orders", "/orders", 1000, total_ms=100_000.0, db_ms=80_000.0),
            _row("payments", "/pay", 1000, traces=500, traced_events=1000),
            _row("search", "/search", 1000, total_ms=100_000.0, db_ms=10_000.0)]
    kinds = {(i["kind"], i["route"]): i for i in recommendations(rows)}
    assert kinds[("database_share", "/orders")]["saving"]["amount"] == pytest.approx(40.0)
    assert ("database_share", "/search") not in kinds  # 10% of its time: not database-bound
    retries = kinds[("retries", "/pay")]
    assert retries["saving"] == {"amount": 500.0, "unit": "requests_per_day"} and "2.00 times per trace" in retries["text"]


def test_an_error_rate_that_jumps_significantly_is_a_change_and_noise_is_not():
    jump = _row("orders", "/orders", 10_000, errors=300, error_rate=0.03,
                error_rate_day_before=0.005, requests_day_before=10_000)
    noise = _row("search", "/search", 10_000, errors=25, error_rate=0.0025,
                 error_rate_day_before=0.002, requests_day_before=10_000)
    items = significant_changes([jump, noise])
    assert [(i["route"], i["metric"]) for i in items] == [("/orders", "error_rate")]
    assert items[0]["change"]["percent"] == pytest.approx(500.0) and "3.0%" in items[0]["text"]


def test_p99_must_rise_against_every_earlier_day_the_warehouse_holds():
    both = _row("search", "/search", 1000, p99_ms=900.0, p99_ms_day_before=300.0, p99_ms_week_before=310.0)
    only_yesterday = _row("auth", "/login", 1000, p99_ms=900.0, p99_ms_day_before=300.0, p99_ms_week_before=850.0)
    assert [i["route"] for i in significant_changes([both, only_yesterday])] == ["/search"]


def test_the_two_proportion_test():
    assert two_proportion_p(300, 10_000, 50, 10_000) < 1e-10
    assert two_proportion_p(25, 10_000, 20, 10_000) > 0.3
    assert two_proportion_p(0, 0, 1, 10) == 1.0 and not math.isnan(two_proportion_p(0, 10, 0, 10))
