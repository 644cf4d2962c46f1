"""Which baseline a window gets when the minutes before it hold nothing: after a gap in the data, the minutes
up to the last request before it; with no data before it at all, a clear error."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.analysis.investigation import InvestigationError, investigate
from logintel.analysis.investigation.investigation import DEFAULT_BASELINE
from logintel.analysis.investigation.signal_scores import CHANGED_Z
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.analysis.investigation.test_investigation import PER_MINUTE, T0, chain_trace

GAP_MINUTES = 30
# Ten quiet minutes from 10:00, nothing for 30, then three minutes in which payments does its own work slowly.
WINDOW = (T0 + timedelta(minutes=10 + GAP_MINUTES), T0 + timedelta(minutes=13 + GAP_MINUTES))


def _warehouse(tmp_path, minutes):
    rng, events = random.Random(11), []
    for n, (minute, slow) in enumerate((m, s) for m, s in minutes for _ in range(PER_MINUTE)):
        times = {"frontend": rng.uniform(4, 8), "orders": rng.uniform(8, 14),
                 "payments": rng.uniform(60, 90) if slow else rng.uniform(10, 20)}
        at = minute * 60_000 + (n % PER_MINUTE) * (60_000 / PER_MINUTE)
        events += parse_trace_document(chain_trace(n + 1, at, times)).events
    zone = FileLandingZone(tmp_path / "landing")
    zone.write(events)
    con = connect(tmp_path / "warehouse.duckdb")
    for hour in zone.hours():
        load_hour(con, zone.read_hour(hour))
    return con


def test_after_a_gap_the_window_is_compared_with_the_last_minutes_held_before_it(tmp_path):
    quiet = [(m, False) for m in range(10)]
    window = [(m, True) for m in range(10 + GAP_MINUTES, 13 + GAP_MINUTES)]
    con = _warehouse(tmp_path, quiet + window)
    last_quiet = con.execute("SELECT max(ts) FROM raw_events WHERE ts < ?", [WINDOW[0]]).fetchone()[0]
    result = investigate(con, *WINDOW)
    assert result.baseline_source == "the latest data before"
    assert result.baseline[1] - timedelta(microseconds=1) == last_quiet
    assert result.baseline[1] - result.baseline[0] == DEFAULT_BASELINE
    assert (result.candidates[0]["service"], result.candidates[0]["kind"]) == ("payments", "self_time")
    assert result.to_dict()["baseline"]["source"] == "the latest data before"


def test_a_window_with_nothing_before_it_says_how_to_give_a_baseline(tmp_path):
    con = _warehouse(tmp_path, [(m, True) for m in range(10 + GAP_MINUTES, 13 + GAP_MINUTES)])
    with pytest.raises(InvestigationError, match="--baseline-start"):
        investigate(con, *WINDOW)


def test_a_fault_that_began_minutes_before_the_window_is_still_the_change(tmp_path):
    """An SRE investigates three minutes of a fault that began seven minutes earlier: in the ten minutes before
    the window it fills most of them, and against them the window would read as no change (z about 2.5); against
    the default baseline it is a minority and payments' errors are the change."""
    from tests.analysis.investigation.test_investigation import chain_trace
    rng, events = random.Random(3), []
    for n, minute in enumerate(m for m in range(33) for _ in range(PER_MINUTE)):
        times = {"frontend": rng.uniform(4, 8), "orders": rng.uniform(8, 14), "payments": rng.uniform(10, 20)}
        failing = minute >= 23 and rng.random() < 0.3
        at = minute * 60_000 + (n % PER_MINUTE) * (60_000 / PER_MINUTE)
        events += parse_trace_document(chain_trace(n + 1, at, times, failing)).events
    zone = FileLandingZone(tmp_path / "landing")
    zone.write(events)
    con = connect(tmp_path / "warehouse.duckdb")
    for hour in zone.hours():
        load_hour(con, zone.read_hour(hour))
    window = (T0 + timedelta(minutes=30), T0 + timedelta(minutes=33))
    first = investigate(con, *window).candidates[0]
    assert (first["service"], first["kind"], first["changed"]) == ("payments", "errors", True)
    assert first["score"] >= CHANGED_Z
    short = investigate(con, *window, baseline_length=timedelta(minutes=10)).candidates
    assert not any(c["changed"] and c["service"] == "payments" for c in short)  # what the longer baseline is for
