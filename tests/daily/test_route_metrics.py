"""daily_route_metrics on a real DuckDB file: weighted counts, the service rows, hours, and the
comparison with the day and the week before."""
from datetime import date, datetime, timedelta

import duckdb
import pytest

from logintel.daily.days import DigestDay
from logintel.daily.route_metrics import compute_route_metrics, route_days, route_hours
from logintel.store.schema import ensure_tables


def _insert(con, ts, service, route, duration, status=200, sample_rate=1, db_ms=None, user="u1"):
    attributes = '{"db.duration_ms": %s}' % db_ms if db_ms is not None else '{"db.duration_ms": "n/a"}'
    con.execute("""INSERT INTO raw_events (event_id, ts, service, route, status, duration_ms, level, sample_rate,
                   user_id, trace_id, attributes, partition_hour)
                   VALUES (uuid()::VARCHAR, ?, ?, ?, ?, ?, ?, ?, ?, uuid()::VARCHAR, ?, date_trunc('hour', ?::TIMESTAMP))""",
                [ts, service, route, status, duration, "error" if status >= 500 else "info", sample_rate, user,
                 attributes, ts])


@pytest.fixture()
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(con, "raw_events")
    yield con
    con.close()


def test_a_day_is_counted_per_route_and_service_weighted_by_sample_rate(warehouse):
    day = DigestDay(date(2026, 12, 1))
    _insert(warehouse, datetime(2026, 12, 1, 9, 5), "orders", "/orders", 100.0, sample_rate=10, db_ms=40)
    _insert(warehouse, datetime(2026, 12, 1, 9, 6), "orders", "/orders", 300.0, status=503, db_ms=None)
    _insert(warehouse, datetime(2026, 12, 1, 10, 0), "orders", "/orders/{id}", 50.0, user="u2")
    _insert(warehouse, datetime(2026, 12, 2, 0, 0), "orders", "/orders", 1.0)  # the next day: not counted
    assert compute_route_metrics(warehouse, day) == 2
    rows = {(r["service"], r["route"]): r for r in route_days(warehouse, day)}
    orders = rows[("orders", "/orders")]
    assert (orders["requests"], orders["errors"]) == (11, 1)
    assert orders["error_rate"] == pytest.approx(1 / 11)
    assert orders["total_ms"] == pytest.approx(100.0 * 10 + 300.0)
    assert orders["db_ms"] == pytest.approx(400.0)  # the unparseable db.duration_ms counts as no database time
    service = rows[("orders", "*")]
    assert (service["requests"], service["errors"], service["users"]) == (12, 1, 2)
    hours = route_hours(warehouse, day)[("orders", "/orders")]
    assert [h[0] for h in hours] == [datetime(2026, 12, 1, 9)]


def test_recomputing_a_day_replaces_it_and_compares_with_the_day_and_week_before(warehouse):
    today, yesterday, last_week = DigestDay(date(2026, 12, 8)), DigestDay(date(2026, 12, 7)), DigestDay(date(2026, 12, 1))
    for d, n in ((yesterday, 4), (last_week, 8)):
        for i in range(n):
            _insert(warehouse, d.start + timedelta(hours=3, minutes=i), "search", "/search", 10.0)
        compute_route_metrics(warehouse, d)
    for i in range(2):
        _insert(warehouse, today.start + timedelta(hours=3, minutes=i), "search", "/search", 10.0)
    compute_route_metrics(warehouse, today)
    compute_route_metrics(warehouse, today)  # a re-run does not double the day
    row = next(r for r in route_days(warehouse, today) if r["route"] == "/search")
    assert row["requests"] == 2
    assert row["requests_change_vs_day_before"] == pytest.approx(-50.0)
    assert row["requests_change_vs_week_before"] == pytest.approx(-75.0)


def test_a_day_without_events_has_no_rows_and_no_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "fresh.duckdb"))  # no raw_events table yet
    day = DigestDay(date(2026, 12, 1))
    assert compute_route_metrics(con, day) == 0
    assert route_days(con, day) == [] and route_hours(con, day) == {}
