"""`investigate` on real DuckDB files holding events made from spans: a three-service call chain
(frontend → orders → payments), ten quiet minutes, then a three-minute window in which something changes."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.analysis.investigation import InvestigationError, investigate
from logintel.analysis.investigation.investigation import DEFAULT_BASELINE
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, ground_text
from tests.support.trace_documents import CLIENT, SERVER, START_NS, document, span

T0 = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).replace(tzinfo=None)  # 10:00 UTC
WINDOW = (T0 + timedelta(minutes=10), T0 + timedelta(minutes=13))
PER_MINUTE = 40


def chain_trace(n: int, at_ms: float, self_ms: dict[str, float], failing: bool = False) -> dict:
    """One request down the chain; each service's own time from `self_ms`, its calls between."""
    trace, ids = f"{n:032x}", [f"{n:010x}{k:06x}" for k in range(5)]
    pay = self_ms["payments"]
    orders = self_ms["orders"] + pay + 2
    front = self_ms["frontend"] + orders + 2
    error = {"error": "card declined"} if failing else {}
    return document(
        ("frontend", [span(ids[0], "GET /checkout", SERVER, at_ms, at_ms + front, trace=trace, http__route="/checkout"),
                      span(ids[1], "GET", CLIENT, at_ms + 1, at_ms + 1 + orders, ids[0], trace=trace,
                           peer__service="orders")]),
        ("orders", [span(ids[2], "POST /orders", SERVER, at_ms + 2, at_ms + orders, ids[1], trace=trace,
                         http__route="/orders", **error),
                    span(ids[3], "POST", CLIENT, at_ms + 3, at_ms + 3 + pay, ids[2], trace=trace,
                         peer__service="payments")]),
        ("payments", [span(ids[4], "POST /pay", SERVER, at_ms + 4, at_ms + 3 + pay, ids[3], trace=trace,
                           http__route="/pay", **error)]))


def warehouse(tmp_path, window_change=None):
    """Ten quiet minutes and a three-minute window; `window_change(rng)` → (self times, failing) in the window."""
    rng, events, n = random.Random(5), [], 0
    for minute in range(13):
        for k in range(PER_MINUTE):
            quiet = {"frontend": rng.uniform(4, 8), "orders": rng.uniform(8, 14), "payments": rng.uniform(10, 20)}
            times, failing = quiet, False
            if minute >= 10 and window_change is not None:
                times, failing = window_change(rng, quiet)
            n += 1
            at = minute * 60_000 + k * (60_000 / PER_MINUTE)
            events += parse_trace_document(chain_trace(n, at, times, failing)).events
    zone = FileLandingZone(tmp_path / "landing")
    zone.write(events)
    path = tmp_path / "warehouse.duckdb"
    con = connect(path)
    for hour in zone.hours():
        load_hour(con, zone.read_hour(hour))
    return con


def grounder(con):
    known = KnownEntities.from_warehouse(con)
    return lambda text, facts: ground_text(text, ItemFacts.from_dict(facts), known, WINDOW[0].date())


def test_a_callee_slower_in_its_own_time_ranks_before_the_callers_that_waited(tmp_path):
    con = warehouse(tmp_path, lambda rng, quiet: ({**quiet, "payments": rng.uniform(60, 90)}, False))
    result = investigate(con, *WINDOW, grounder=grounder(con))
    first = result.candidates[0]
    assert (first["service"], first["kind"], first["rank"]) == ("payments", "self_time", 1)
    assert first["evidence"]["p90_ms_window"] > 3 * first["evidence"]["p90_ms_baseline"]
    assert first["path"] == ["frontend", "orders", "payments"]
    assert {c["service"] for c in result.candidates} == {"payments"}  # callers' own time did not move
    assert result.baseline == (WINDOW[0] - DEFAULT_BASELINE, WINDOW[0]) and result.baseline_source == "minutes before"
    assert "payments" in result.text and result.grounding["grounded"] is True


def test_a_service_whose_errors_rise_ranks_first_and_explains_its_failing_caller(tmp_path):
    con = warehouse(tmp_path, lambda rng, quiet: (quiet, rng.random() < 0.3))
    result = investigate(con, *WINDOW, grounder=grounder(con))
    assert [c["service"] for c in result.candidates] == ["payments", "orders"]
    assert result.candidates[0]["kind"] == "errors"
    assert result.candidates[1]["explained_by"] == "payments"
    assert result.grounding["grounded"] is True


def test_nothing_changed_is_an_empty_ranking_that_says_so(tmp_path):
    con = warehouse(tmp_path)
    result = investigate(con, *WINDOW, grounder=grounder(con))
    assert result.candidates == []
    assert "nothing stands out" in result.text
    assert result.to_dict()["candidates"] == []


def test_an_explicit_baseline_and_a_service_scope(tmp_path):
    con = warehouse(tmp_path, lambda rng, quiet: ({**quiet, "payments": rng.uniform(60, 90)}, False))
    baseline = (T0, T0 + timedelta(minutes=2))
    result = investigate(con, *WINDOW, baseline=baseline, service="orders")
    assert result.baseline == baseline and result.baseline_source == "given"
    assert [c["service"] for c in result.candidates] == ["payments"]  # orders calls payments
    assert investigate(con, *WINDOW, baseline=baseline, service="payments").candidates[0]["service"] == "payments"


@pytest.mark.parametrize("start, end, message", [
    (WINDOW[1], WINDOW[0], "before it starts"),
    (T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=3), "no request"),
])
def test_a_bad_window_says_why(tmp_path, start, end, message):
    con = warehouse(tmp_path)
    with pytest.raises(InvestigationError, match=message):
        investigate(con, start, end)
