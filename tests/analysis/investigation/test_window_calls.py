"""Calls matched by span ids: a network delay on a call that is never its caller's slowest is found from the
spans table, where the caller's event (which keeps only its slowest call) cannot show it."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.analysis.investigation import investigate
from logintel.analysis.investigation import window_signals as sql
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.support.trace_documents import CLIENT, SERVER, START_NS, document, span

T0 = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).replace(tzinfo=None)  # 10:00 UTC
WINDOW = (T0 + timedelta(minutes=10), T0 + timedelta(minutes=15))
EVERY_MS = 3000


def fan_out_trace(n: int, at_ms: float, wire_ms: float, rng: random.Random) -> dict:
    """storefront calls orders (its slowest call, ~40 ms) and payments (~16 ms of work) at once; `wire_ms` is the
    time a call to payments spends on the wire on each side."""
    trace, ids = f"{n + 1:032x}", [f"{n + 1:010x}{k:06x}" for k in range(5)]
    orders_ms, pay_ms = 40 * rng.uniform(0.9, 1.1), 16 * rng.uniform(0.9, 1.1)
    wire_ms *= rng.uniform(0.7, 1.3)
    pay_call = (at_ms + 2, at_ms + 2 + pay_ms + 2 * wire_ms)
    return document(
        ("storefront", [span(ids[0], "GET /cart", SERVER, at_ms, at_ms + 50, trace=trace, http__route="/cart",
                             http__request__method="GET"),
                        span(ids[1], "GET", CLIENT, at_ms + 1, at_ms + 1 + orders_ms, ids[0], trace=trace),
                        span(ids[2], "POST", CLIENT, *pay_call, ids[0], trace=trace)]),
        ("orders", [span(ids[3], "GET /orders", SERVER, at_ms + 1.5, at_ms + 0.5 + orders_ms, ids[1], trace=trace,
                         http__route="/orders", http__request__method="GET")]),
        ("payments", [span(ids[4], "POST /pay", SERVER, pay_call[0] + wire_ms, pay_call[1] - wire_ms, ids[2],
                           trace=trace, http__route="/pay", http__request__method="POST")]))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("calls") / "w.duckdb"
    lines = []
    for n in range(15 * 60 * 1000 // EVERY_MS):
        at = n * EVERY_MS
        wire = 1.0 if at < 10 * 60 * 1000 else 6.0  # the wire to payments slows at 10:10
        lines += [e.to_json() for e in parse_trace_document(fan_out_trace(n, at, wire, rng)).events]
    con = connect(path)
    load_hour(con, HourBatch(hour=T0, lines=lines, sources=["t"] * len(lines)))
    con.close()
    return path


def test_the_slower_wire_to_a_callee_that_is_never_the_slowest_call_is_blamed(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        result = investigate(con, *WINDOW)
    finally:
        con.close()
    first = result.candidates[0]
    assert (first["service"], first["kind"]) == ("payments", "network_gap")
    assert first["evidence"]["p50_ms_window"] == pytest.approx(12, abs=0.5)
    assert first["evidence"]["p50_ms_baseline"] == pytest.approx(2, abs=0.5)
    assert first["path"] == ["storefront", "payments"]


def test_the_call_graph_comes_from_span_ids_where_time_alone_would_guess(warehouse):
    con = connect(warehouse, read_only=True)
    try:
        sql.stage(con, sql.Span(*WINDOW), sql.Span(T0, WINDOW[0]))
        edges = sql.call_edges(con)
        gaps = sql.network_gap_counts(con)
    finally:
        sql.drop(con)
        con.close()
    calls = (WINDOW[1] - WINDOW[0]) // timedelta(milliseconds=EVERY_MS)
    assert edges == {("storefront", "orders"): calls, ("storefront", "payments"): calls}
    assert gaps["payments"]["window"] == calls and gaps["payments"]["baseline"] == 2 * calls


def test_without_the_spans_table_the_events_alone_cannot_see_it(warehouse, tmp_path):
    """The same events without their spans (a warehouse from before the spans table): the caller's event names
    only its slowest call, so the delay on the other call is invisible — why the spans are kept."""
    copy = tmp_path / "no-spans.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    con = connect(copy)
    try:
        con.execute("DROP TABLE spans")
        result = investigate(con, *WINDOW)
    finally:
        con.close()
    assert not any(c["service"] == "payments" and c["kind"] == "network_gap" and c["changed"]
                   for c in result.candidates)


def chain_with_delay(n: int, at_ms: float, delayed: bool, rng: random.Random) -> dict:
    """storefront → payments → bank, and storefront → bank directly. With `delayed`, payments' own network is
    slow (a pod's interface: its answers and its own calls out wait alike), so the calls to payments and the
    calls payments makes lose time on the wire; storefront's direct calls to bank do not."""
    trace, ids = f"{n + 1:032x}", [f"{n + 1:010x}{k:06x}" for k in range(7)]
    wire = (8.0 if delayed else 1.0) * rng.uniform(0.7, 1.3)
    bank_ms, pay_ms = 10 * rng.uniform(0.9, 1.1), 5 * rng.uniform(0.9, 1.1)
    pay_call = (at_ms + 1, at_ms + 1 + pay_ms + bank_ms + 4 * wire)  # two hops of payments' wire each way
    bank_call = (pay_call[0] + wire + 1, pay_call[0] + wire + 1 + bank_ms + 2 * wire)
    direct = (pay_call[1] + 1, pay_call[1] + 3 * rng.uniform(0.7, 1.3) + bank_ms)
    return document(
        ("storefront", [span(ids[0], "GET /cart", SERVER, at_ms, direct[1] + 1, trace=trace, http__route="/cart"),
                        span(ids[1], "POST", CLIENT, *pay_call, ids[0], trace=trace),
                        span(ids[5], "GET", CLIENT, *direct, ids[0], trace=trace)]),
        ("payments", [span(ids[2], "POST /pay", SERVER, pay_call[0] + wire, pay_call[1] - wire, ids[1], trace=trace,
                           http__route="/pay"),
                      span(ids[3], "GET", CLIENT, *bank_call, ids[2], trace=trace)]),
        ("bank", [span(ids[4], "GET /balance", SERVER, bank_call[0] + wire, bank_call[1] - wire, ids[3], trace=trace,
                       http__route="/balance"),
                  span(ids[6], "GET /balance", SERVER, direct[0] + 1, direct[1] - 1, ids[5], trace=trace,
                       http__route="/balance")]))


def test_a_slow_network_at_one_service_blames_it_and_not_the_service_it_calls(tmp_path):
    """The calls payments makes to bank are slower on the wire too: counted per callee only, bank would show a
    slower gap as well; counted from both ends, payments' calls in and out all slowed, bank's only those from
    payments — payments first, on all its calls or on the calls to it."""
    rng, lines = random.Random(8), []
    for n in range(15 * 60 * 1000 // EVERY_MS):
        at = n * EVERY_MS
        lines += [e.to_json() for e in parse_trace_document(
            chain_with_delay(n, at, at >= 10 * 60 * 1000, rng)).events]
    con = connect(tmp_path / "w.duckdb")
    try:
        load_hour(con, HourBatch(hour=T0, lines=lines, sources=["t"] * len(lines)))
        result = investigate(con, *WINDOW)
    finally:
        con.close()
    first = result.candidates[0]
    assert (first["service"], first["kind"]) == ("payments", "network_gap")
    ranks = {c["service"]: c["rank"] for c in result.candidates}
    assert ranks.get("bank", 99) > 1
    if first["attribute"] == "calls_gap_ms":
        assert "network gap on its calls in and out" in result.text


def _gap(service: str, score: float, ratio: float, attribute: str = "network_gap_ms"):
    from logintel.analysis.investigation.signal_scores import Signal
    return Signal(service, "network_gap", score, attribute, 10.0, {"ratio": ratio})


def test_a_slower_gap_in_front_of_a_callee_belongs_to_the_caller_whose_every_call_slowed_more():
    """A starved or slowed caller (preserve) delays its calls to travel: travel's gap rises (z at the cap, 2.2×),
    while all of preserve's calls, in and out, slowed 17× — the gap is preserve's, whatever the z."""
    from logintel.analysis.investigation.signal_scores import rank
    signals = [_gap("travel", 8.0, 2.2), _gap("preserve", 7.3, 17.0, "calls_gap_ms"), _gap("preserve", 4.0, 12.0)]
    ranked = [(s.service, explained) for s, explained, _ in rank(signals, {("preserve", "travel"): 25})]
    assert ranked == [("preserve", None), ("travel", "preserve")]


def test_a_callee_whose_own_network_slowed_keeps_its_gap_against_a_diluted_caller():
    """inventory's gap rose 50× on every call to it; catalog, which calls it among other things, shows 3× over all its
    calls: the calls to inventory are inventory's."""
    from logintel.analysis.investigation.signal_scores import rank
    signals = [_gap("inventory", 6.0, 50.0), _gap("catalog", 4.0, 3.0, "calls_gap_ms")]
    ranked = [(s.service, explained) for s, explained, _ in rank(signals, {("catalog", "inventory"): 40})]
    assert ranked == [("inventory", None), ("catalog", None)]
