"""Sliding windows on a real DuckDB file: semantics, weighting, lookback, reconciliation."""
from datetime import datetime, timedelta

import pytest

from logintel.analysis.windows import WindowSpec, compute_windows, reconcile
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.support.factories import burst, event

H = datetime(2026, 11, 23, 10)


def load(con, events, hour=H):
    batch = HourBatch(hour=hour, lines=[e.to_json() for e in events], sources=[f"t:{i}" for i in range(len(events))])
    return load_hour(con, batch)


def window(con, service, route, code, start):
    return con.execute("""SELECT requests, errors, error_rate, distinct_users, p99_ms FROM windowed_aggregates
        WHERE service=? AND route=? AND error_code IS NOT DISTINCT FROM ? AND window_start=?""",
                       [service, route, code, start]).fetchone()


def test_each_event_lands_in_every_window_that_covers_it(con):
    load(con, [event(H + timedelta(minutes=10, seconds=30), error_code="PG_TIMEOUT")])
    compute_windows(con, H)
    starts = [r[0] for r in con.execute("SELECT window_start FROM windowed_aggregates ORDER BY 1").fetchall()]
    # an event at 10:10:30 is inside the 5-minute windows starting 10:06 … 10:10
    assert starts == [H + timedelta(minutes=m) for m in range(6, 11)]
    assert window(con, "payments", "/payments/charge", "PG_TIMEOUT", H + timedelta(minutes=6))[:2] == (1, 1)


def test_counts_are_weighted_by_sample_rate_and_errors_separated(con):
    events = burst(H + timedelta(minutes=20), 1, 10, sample_rate=100)
    events += burst(H + timedelta(minutes=20), 1, 3, error_code="PG_TIMEOUT", user_id="u-9")
    load(con, events)
    compute_windows(con, H)
    ok = window(con, "payments", "/payments/charge", None, H + timedelta(minutes=18))
    bad = window(con, "payments", "/payments/charge", "PG_TIMEOUT", H + timedelta(minutes=18))
    assert ok[0] == 1000 and ok[1] == 0
    assert bad[0] == 3 and bad[1] == 3 and bad[2] == 1.0 and bad[3] == 1


def test_status_5xx_without_code_counts_as_error(con):
    load(con, [event(H + timedelta(minutes=5), status=503, level="warn")])
    compute_windows(con, H)
    assert window(con, "payments", "/payments/charge", None, H + timedelta(minutes=5))[1] == 1


def test_partition_owns_windows_ending_in_it_and_looks_back(con):
    previous = H - timedelta(hours=1)
    load(con, burst(previous + timedelta(minutes=58), 1, 6, error_code="X"), hour=previous)
    load(con, burst(H + timedelta(minutes=1), 1, 6, error_code="X"))
    report = compute_windows(con, H)
    assert report.lookback_complete
    # window 09:57–10:02 belongs to partition 10:00 and sees both bursts
    row = window(con, "payments", "/payments/charge", "X", H - timedelta(minutes=3))
    assert row[0] == 12
    ends = con.execute("SELECT min(window_end), max(window_end) FROM windowed_aggregates WHERE partition_hour=?",
                       [H]).fetchone()
    assert ends[0] > H and ends[1] <= H + timedelta(hours=1)


def test_recomputing_replaces_the_partition(con):
    load(con, burst(H, 10, 50))
    compute_windows(con, H)
    first = con.execute("SELECT count(*), sum(requests) FROM windowed_aggregates").fetchone()
    compute_windows(con, H)
    assert con.execute("SELECT count(*), sum(requests) FROM windowed_aggregates").fetchone() == first


def test_reconcile_matches_raw_counts_and_detects_tampering(con):
    events = burst(H, 60, 600) + burst(H + timedelta(minutes=7), 3, 40, error_code="E", sample_rate=3)
    load(con, events)
    compute_windows(con, H)
    result = reconcile(con, H)
    assert result["ok"] and result["raw_requests"] == 600 + 120 == result["window_requests"]
    con.execute("UPDATE windowed_aggregates SET requests = requests + 1 WHERE window_end = ?",
                [H + timedelta(minutes=10)])
    broken = reconcile(con, H)
    assert not broken["ok"] and broken["mismatched_count"] >= 1


def test_percentiles_track_the_tail_and_are_the_same_every_run(con):
    events = burst(H + timedelta(minutes=30), 2, 980, duration_ms=10.0)
    events += burst(H + timedelta(minutes=30), 2, 20, duration_ms=5000.0)  # 2% slow: p99 is one of them
    load(con, events)
    compute_windows(con, H)
    row = window(con, "payments", "/payments/charge", None, H + timedelta(minutes=28))
    assert row[4] == 5000.0  # p99 sits in the slow tail, not at the median
    first = con.execute("SELECT * FROM windowed_aggregates ORDER BY ALL").fetchall()
    con.execute("SET threads = 4")  # more threads, merging in another order: the same figures
    compute_windows(con, H)
    assert con.execute("SELECT * FROM windowed_aggregates ORDER BY ALL").fetchall() == first


def test_window_spec_rejects_nonsense():
    with pytest.raises(ValueError):
        WindowSpec(length_minutes=5, step_minutes=2)
    with pytest.raises(ValueError):
        WindowSpec(length_minutes=0)
