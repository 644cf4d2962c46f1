"""The investigation's signals on hand-made wide events in a real DuckDB file: latency compared on the log scale
route by route (a tenfold slowdown of a handful of requests stands out), log lines joined to the request that
wrote them and counted per request of its route (a shift in which routes are called is no change), and fewer
warnings read as a recovery, never as a cause."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from logintel.analysis.investigation import investigate
from logintel.analysis.investigation.signal_scores import log_shift
from logintel.events import LOG_ROUTE, parse_event
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour

T0 = datetime(2025, 6, 1, 10, 0)
WINDOW = (T0 + timedelta(minutes=10), T0 + timedelta(minutes=13))


class Day:
    """Requests (and the log lines written under them) placed at second offsets after T0."""

    def __init__(self):
        self.records, self.n = [], 0

    def request(self, at_s: float, service: str, route: str, self_ms: float, lines=(), level="info",
                failing: bool = False, trace: str | None = None) -> str:
        """One request (`trace`: the trace it belongs to, else a trace of its own); returns its trace id."""
        self.n += 1
        trace, ts = trace or f"{self.n:032x}", T0 + timedelta(seconds=at_s)
        self.records.append({"event_id": f"r{self.n}", "timestamp": ts.isoformat() + "Z", "service": service,
                             "route": route, "duration_ms": self_ms, "level": "error" if failing else "info",
                             "status": 500 if failing else 200, "trace_id": trace,
                             "attributes": {"self_ms": self_ms, "span.kind": "server"}})
        for k, (namespace, line) in enumerate(lines):
            self.records.append({"event_id": f"l{self.n}-{k}", "service": service, "route": LOG_ROUTE,
                                 "timestamp": (ts + timedelta(milliseconds=k / 10)).isoformat() + "Z",
                                 "duration_ms": 0, "level": level, "trace_id": trace,
                                 "error.message": f"{line} for request {self.n}",
                                 "attributes": {"code.namespace": namespace, "code.lineno": 10 + k}})
        return trace

    def warehouse(self, tmp_path):
        zone = FileLandingZone(tmp_path / "landing")
        zone.write([parse_event(r) for r in self.records])
        con = connect(tmp_path / "warehouse.duckdb")
        for hour in zone.hours():
            load_hour(con, zone.read_hour(hour))
        return con


def steady(day: Day, rng: random.Random, minutes: range, per_minute: int = 20) -> None:
    """A busy service nothing happens to, so every test has traffic beside the one it watches."""
    for minute in minutes:
        for k in range(per_minute):
            day.request(minute * 60 + k * 60 / per_minute, "frontend", "/home", rng.uniform(4, 8))


def test_a_tenfold_slowdown_of_a_handful_of_requests_ranks_its_service_first(tmp_path):
    rng, day = random.Random(1), Day()
    steady(day, rng, range(13))
    for k in range(6):  # six calls in the ten quiet minutes, five in the window: ten times slower
        day.request(60 + k * 90, "contacts", "/contacts/{id}", rng.uniform(8, 12))
    for k in range(5):
        day.request(600 + k * 30, "contacts", "/contacts/{id}", rng.uniform(90, 130))
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    first = result.candidates[0]
    assert (first["service"], first["kind"]) == ("contacts", "self_time")
    assert first["evidence"]["ratio"] >= 5


def test_log_shift_reads_the_size_of_a_slowdown_and_needs_both_sides():
    import math
    same = [[20, math.log(10), 0.04, 40, math.log(10), 0.04]]
    slower = [[20, math.log(30), 0.04, 40, math.log(10), 0.04]]
    assert abs(log_shift(same)[0]) < 0.5 and abs(log_shift(same)[1] - 1) < 1e-9
    z, ratio = log_shift(slower)
    assert z > 6 and abs(ratio - 3) < 1e-6
    assert log_shift([[5, 1.0, 0.1, 0, None, None]]) == (0.0, 1.0)  # a route with no baseline says nothing


def test_more_calls_to_one_route_is_no_change_in_its_log_patterns(tmp_path):
    rng, day = random.Random(2), Day()
    steady(day, rng, range(13))
    for minute in range(13):
        busy = 3 if minute >= 10 else 1  # the window calls /search three times as often; each call logs the same
        for k in range(10 * busy):
            day.request(minute * 60 + k * 6 / busy, "orders", "/search", rng.uniform(5, 9),
                        lines=[("o.SearchService", "searched trains"), ("o.SearchService", "found trains")])
        for k in range(10):
            day.request(minute * 60 + 3 + k * 6, "orders", "/orders/{id}", rng.uniform(5, 9),
                        lines=[("o.OrderService", "order read")])
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    assert result.candidates == [], result.candidates


def test_a_code_path_no_longer_taken_is_found_at_the_route_that_stopped_taking_it(tmp_path):
    rng, day = random.Random(3), Day()
    steady(day, rng, range(13))
    for minute in range(13):
        for k in range(10):
            lines = [("o.OrderService", "order read")]
            if minute < 10:
                lines.append(("o.OrderService", "order checked against its price"))
            day.request(minute * 60 + k * 6, "orders", "/orders/{id}", rng.uniform(5, 9), lines=lines)
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    first = result.candidates[0]
    assert (first["service"], first["kind"]) == ("orders", "log_pattern")
    assert first["evidence"]["change"] == "vanished" and first["evidence"]["route"] == "/orders/{id}"
    assert first["evidence"]["lines_baseline"] == 100 and first["evidence"]["exposure_window"] == 30


def test_warnings_that_stop_are_a_recovery_ranked_after_a_real_change(tmp_path):
    rng, day = random.Random(4), Day()
    steady(day, rng, range(13))
    for minute in range(13):
        for k in range(10):  # payments warned on every call before the window, and stopped
            day.request(minute * 60 + k * 6, "payments", "/pay", rng.uniform(5, 9), level="warn",
                        lines=[("p.PayService", "card processor slow, retrying")] if minute < 10 else [])
        for k in range(10):  # stock's own time doubles in the window
            slow = 2 if minute >= 10 else 1
            day.request(minute * 60 + 2 + k * 6, "stock", "/stock", slow * rng.uniform(10, 12))
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    services = [c["service"] for c in result.candidates]
    assert services[0] == "stock"
    assert "payments" in services and services.index("payments") > services.index("stock")


def test_hints_below_the_bar_come_after_every_change_and_say_so():
    from logintel.analysis.investigation.investigation_text import describe
    from logintel.analysis.investigation.signal_scores import Signal, rank
    latency = {"p90_ms_baseline": 10.0, "p90_ms_window": 16.0, "over_baseline_p90_window": 4, "requests_window": 6}
    signals = [Signal("contacts", "self_time", 2.5, "self_ms", 16.0, latency),
               Signal("orders", "errors", 1.5, "errors", 3, {"errors_window": 3, "errors_baseline": 1}),
               Signal("route", "log_pattern", 3.5, "template", "r.RouteService#40",
                      {"change": "vanished", "warning_or_worse": False, "lines_window": 0, "lines_baseline": 30})]
    ranked = [(s.service, changed) for s, _, changed in rank(signals, {})]
    assert ranked == [("route", True), ("contacts", False)]  # orders' z 1.5 is not even a hint
    window = (T0, T0 + timedelta(minutes=3))
    hint_only = [{"rank": 1, "service": "contacts", "kind": "self_time", "evidence": latency, "changed": False,
                  "explained_by": None, "path": ["contacts"]}]
    text, _ = describe(window, hint_only, 120)
    assert "nothing stands out" in text and "strongest hint, below the bar for a change, is contacts" in text


def test_a_change_no_fault_makes_comes_after_a_fault_like_hint_and_is_no_cause():
    """More info lines at seat (what it was asked) changed past the bar; contacts stopped writing a line (a code
    path no longer taken) below it: contacts is where to look, and the text names no cause."""
    from logintel.analysis.investigation.investigation import _candidates
    from logintel.analysis.investigation.investigation_text import describe
    from logintel.analysis.investigation.signal_scores import Signal
    more = {"change": "more", "warning_or_worse": False, "lines_window": 62, "lines_baseline": 118}
    vanished = {"change": "vanished", "warning_or_worse": False, "lines_window": 0, "lines_baseline": 17}
    signals = [Signal("seat", "log_pattern", 3.5, "template", "s.SeatService#12", more),
               Signal("contacts", "log_pattern", 2.4, "template", "c.ContactsService#37", vanished)]
    candidates = _candidates(signals, {}, None)
    assert [(c["service"], c["changed"]) for c in candidates] == [("contacts", False), ("seat", True)]
    text, _ = describe((T0, T0 + timedelta(minutes=3)), candidates, 200)
    assert "no service changed the way a fault does" in text
    assert "strongest hint, below the bar for a change, is contacts" in text and "likeliest cause" not in text


def _checkout_day(window_payments, orders_writes_in_window: bool) -> Day:
    """orders calls payments (one trace) 20 times a minute and logs "order placed" under each request; in the
    window payments does `window_payments(rng)` → (self ms, failing), and orders writes its line or not."""
    rng, day = random.Random(7), Day()
    steady(day, rng, range(13))
    for minute in range(13):
        for k in range(20):
            at, in_window = minute * 60 + k * 3, minute >= 10
            pay_ms, failing = window_payments(rng) if in_window else (rng.uniform(10, 20), False)
            lines = [] if in_window and not orders_writes_in_window else [("o.OrderService", "order placed")]
            day.request(at, "orders", "/orders", rng.uniform(5, 9) + pay_ms, lines)
            caller = day.records[-1 - len(lines)]
            caller["attributes"]["self_ms"] = caller["duration_ms"] - pay_ms
            day.n += 1
            day.records.append({"event_id": f"r{day.n}", "service": "payments", "route": "/pay",
                                "timestamp": (T0 + timedelta(seconds=at, milliseconds=1)).isoformat() + "Z",
                                "duration_ms": pay_ms, "level": "error" if failing else "info",
                                "status": 500 if failing else 200, "trace_id": caller["trace_id"],
                                "attributes": {"self_ms": pay_ms, "span.kind": "server"}})
    return day


def test_a_code_path_no_longer_taken_is_not_explained_by_a_callee_that_only_answered_slower(tmp_path):
    """orders stops writing its "order placed" line (its own fault) while payments, below it, answers 1.8× slower:
    a slower answer is still the answer, so orders' vanished line is a change of its own, unexplained, among the
    causes (both are certain here, z at the cap: the larger shift goes first)."""
    day = _checkout_day(lambda rng: (rng.uniform(18, 36), False), orders_writes_in_window=False)
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    ranked = [(c["service"], c["kind"], c["explained_by"], c["changed"]) for c in result.candidates]
    assert ranked[:2] == [("payments", "self_time", None, True), ("orders", "log_pattern", None, True)], ranked
    assert result.candidates[1]["evidence"]["change"] == "vanished"


def test_a_code_path_no_longer_taken_is_explained_by_a_callee_that_fails(tmp_path):
    """The same vanished line while payments fails every call: the failure is what orders' code stopped on."""
    day = _checkout_day(lambda rng: (rng.uniform(10, 20), True), orders_writes_in_window=False)
    result = investigate(day.warehouse(tmp_path), *WINDOW)
    ranked = [(c["service"], c["kind"], c["explained_by"]) for c in result.candidates]
    assert ranked[0][:2] == ("payments", "errors"), ranked
    assert ("orders", "log_pattern", "payments") in ranked
