"""The spans table: every span of a unit of work's event, kept beside raw_events in the same load."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.adapters.span_records import KEPT
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.support.trace_documents import CLIENT, INTERNAL, SERVER, START_NS, TRACE, checkout_trace, document, span

HOUR = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).replace(minute=0, second=0, microsecond=0)


def _load(con, *docs, extra_lines=()):
    lines = [e.to_json() for doc in docs for e in parse_trace_document(doc).events] + list(extra_lines)
    return load_hour(con, HourBatch(hour=HOUR, lines=lines, sources=["test"] * len(lines)))


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def test_every_span_of_a_unit_becomes_a_row_and_leaves_the_event(con):
    report = _load(con, checkout_trace())
    assert report.loaded == 1 and report.spans == 5
    rows = con.execute("""SELECT span_id, parent_span_id, kind, name, duration_ms, peer_service, db_system, service,
                                 event_id, start_ts FROM spans ORDER BY start_ts, span_id""").fetchall()
    assert [r[:7] for r in rows] == [
        ("a000000000000001", "f00000000000000f", "server", "POST /checkout", 100.0, None, None),
        ("a000000000000002", "a000000000000001", "internal", "CheckoutController.place", 98.0, None, None),
        ("a000000000000003", "a000000000000002", "client", "GET", 30.0, "inventory", None),
        ("a000000000000004", "a000000000000002", "client", "POST", 50.0, "payments.internal", None),
        ("a000000000000005", "a000000000000002", "client", "SELECT orders", 10.0, None, "postgresql"),
    ]
    assert {r[7] for r in rows} == {"checkout"}
    assert {r[8] for r in rows} == {f"span-{TRACE}-a000000000000001"}
    assert rows[2][9] == datetime(2025, 6, 1, 10, 0, 0, 10_000)
    attributes = orjson.loads(con.execute("SELECT attributes FROM raw_events").fetchone()[0])
    assert "otel.spans" not in attributes and attributes["self_ms"] == pytest.approx(20.0)


def test_a_reload_or_a_resent_batch_adds_no_span(con):
    _load(con, checkout_trace())
    report = _load(con, checkout_trace(), checkout_trace())
    assert report.duplicates == 1 and report.spans == 5
    assert con.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone() == (5, 5)


def test_a_hand_written_event_claiming_the_key_neither_fails_nor_adds_rows(con):
    ts = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    forged = [
        {"event_id": "span-x-1", "trace_id": "t1", "attributes": {"otel.spans": [1, "two", {"id": None}]}},
        {"event_id": "span-x-2", "trace_id": "t2", "attributes": {"otel.spans": "not a list"}},
        {"event_id": "plain-3", "trace_id": "t3", "attributes": {"otel.spans": [{"id": "ab", "start": 5, "ms": 1}]}},
    ]
    lines = [orjson.dumps({"timestamp": ts, "service": "s", "route": "/r", "level": "info", "duration_ms": 1, **f}
                          ).decode() for f in forged]
    report = _load(con, checkout_trace(), extra_lines=lines)
    assert report.loaded == 4 and report.dead_lettered == 0
    assert report.spans == 5  # the checkout trace's only; a plain event's key stays one of its attributes
    kept = orjson.loads(con.execute("SELECT attributes FROM raw_events WHERE event_id = 'plain-3'").fetchone()[0])
    assert kept["otel.spans"] == [{"id": "ab", "start": 5, "ms": 1}]


def test_a_unit_with_more_spans_than_kept_says_how_many_it_left_out(con):
    children = [span(f"c{n:015x}", "SELECT", CLIENT, 1 + n * 0.001, 1.5 + n * 0.001, "a000000000000001",
                     db__system="mysql") for n in range(KEPT + 7)]
    doc = document(("orders", [span("a000000000000001", "GET /orders", SERVER, 0, 100)] + children))
    report = _load(con, doc)
    assert report.spans == KEPT + 1
    attributes = orjson.loads(con.execute("SELECT attributes FROM raw_events").fetchone()[0])
    assert attributes["otel.spans_dropped"] == 7 and attributes["db.query_count"] == KEPT + 7


def test_the_server_span_of_a_call_hangs_under_the_client_span_of_its_caller(con):
    """Two services in one trace: the callee's server span's parent is the caller's client span, so a join
    names the caller's event exactly."""
    doc = document(("storefront", [span("b000000000000001", "GET /", SERVER, 0, 50),
                                   span("b000000000000002", "GET", CLIENT, 5, 45, "b000000000000001"),
                                   span("b000000000000004", "render", INTERNAL, 46, 49, "b000000000000001")]),
                   ("orders", [span("b000000000000003", "GET /orders", SERVER, 6, 44, "b000000000000002")]))
    _load(con, doc)
    edge = con.execute("""SELECT caller.service, callee.service, caller.kind FROM spans callee
                          JOIN spans caller ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
                          WHERE callee.kind = 'server' AND caller.service <> callee.service""").fetchall()
    assert edge == [("storefront", "orders", "client")]


def test_one_unit_of_work_sent_in_pieces_and_whole_loads_the_same_whatever_the_order(tmp_path):
    """A Collector's retry may batch a trace differently: its server span's event comes once with some of its spans
    (the rest arriving later as late spans) and once whole. Found on Train-Ticket through the receiver: which copy
    was kept depended on the order the segments listed in, and the spans table held 111 spans twice."""
    full = checkout_trace()
    spans = full["resourceSpans"][0]["scopeSpans"][0]["spans"]
    first = document(("checkout", spans[:3]))   # the server span, the controller, one call
    rest = document(("checkout", spans[3:]))    # the other two calls: late spans (their parent is not in the request)
    results = []
    for order in ((first, rest, full), (full, first, rest), (rest, full, first)):
        con = connect(tmp_path / f"w{len(results)}.duckdb")
        parsed = [parse_trace_document(doc) for doc in order]
        lines = [e.to_json() for result in parsed for e in (*result.events, *result.late)]
        report = load_hour(con, HourBatch(hour=HOUR, lines=lines, sources=["test"] * len(lines)))
        assert report.accounted() and report.spans == 5
        assert con.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone() == (5, 5)
        attributes = orjson.loads(con.execute("SELECT attributes FROM raw_events").fetchone()[0])
        assert attributes["self_ms"] == pytest.approx(20.0)  # the whole unit's summary, not the first piece's
        results.append((con.execute("SELECT * EXCLUDE (event_id) FROM spans ORDER BY span_id").fetchall(),
                        con.execute("SELECT * FROM raw_events").fetchall()))
        con.close()
    assert results[0] == results[1] == results[2]
