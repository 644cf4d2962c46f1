"""Spans that arrive before their request's span are held and folded in when it comes: across export requests,
across files of one ingest run, within a bounded window; a span whose request never comes is counted unjoined and
kept as a late span."""
from __future__ import annotations

import json

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.adapters.pending_spans import HOLD, PendingSpans
from logintel.ingest.log_files import ingest_paths
from logintel.store.dead_letters import DeadLetterStore
from logintel.events import LATE_SPANS_ROUTE
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.support.trace_documents import CLIENT, SERVER, checkout_trace, document, span


def split_checkout() -> tuple[dict, dict]:
    """The checkout trace as an SDK exports it when its children end in an earlier batch: calls, then request."""
    (resource,) = checkout_trace()["resourceSpans"]
    scope = resource["scopeSpans"][0]
    children = {"resourceSpans": [{**resource, "scopeSpans": [{**scope, "spans": scope["spans"][1:]}]}]}
    request = {"resourceSpans": [{**resource, "scopeSpans": [{**scope, "spans": scope["spans"][:1]}]}]}
    return children, request


def test_children_held_from_an_earlier_batch_are_summarised_onto_their_request_when_it_comes():
    children, request = split_checkout()
    pending = PendingSpans()
    first = parse_trace_document(children, pending=pending)
    assert (len(first.events), first.held, first.unjoined, first.spans) == (0, 4, 0, 4)
    second = parse_trace_document(request, pending=pending)
    assert (len(second.events), second.joined_earlier, second.spans, len(pending)) == (1, 4, 1, 0)
    together = parse_trace_document(checkout_trace()).events[0]
    assert second.events[0].attributes == together.attributes  # as if they had come in one batch
    assert second.events[0].attributes["self_ms"] == 20.0


def test_without_a_holder_they_are_unjoined_as_before():
    children, request = split_checkout()
    assert parse_trace_document(children).unjoined == 4
    assert "db.query_count" not in parse_trace_document(request).events[0].attributes


def test_a_held_span_is_let_go_after_the_window_and_the_oldest_beyond_the_limit():
    late_ms = HOLD / 1_000_000 + 60_000  # a batch ending more than the window after the held call ended
    pending = PendingSpans()
    held = parse_trace_document(document(("checkout", [span("c000000000000001", "GET", CLIENT, 0, 5,
                                                            "c0000000000000ff")])), pending=pending)
    assert held.held == 1
    later = parse_trace_document(document(("orders", [span("d000000000000001", "GET /x", SERVER, late_ms,
                                                           late_ms + 5, trace="6" * 32)])), pending=pending)
    assert (later.released, len(pending)) == (1, 0)
    small = PendingSpans(limit=2)
    spans = [span(f"e00000000000000{k}", "GET", CLIENT, k, k + 1, "e0000000000000ff", trace=f"{k + 1}" * 32)
             for k in range(3)]
    batch = parse_trace_document(document(("checkout", spans)), pending=small)
    assert (batch.held, batch.released, len(small)) == (3, 1, 2)


def test_an_ingest_run_joins_calls_in_one_file_to_their_request_in_the_next(tmp_path):
    children, request = split_checkout()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "10_00.json").write_text(json.dumps(children) + "\n")
    (tmp_path / "in" / "10_01.json").write_text(json.dumps(request) + "\n")
    orphan = document(("checkout", [span("f000000000000001", "GET", CLIENT, 0, 5, "f0000000000000ff",
                                         trace="7" * 32)]))
    (tmp_path / "in" / "10_02.json").write_text(json.dumps(orphan) + "\n")
    landing = FileLandingZone(tmp_path / "landing")
    report = ingest_paths([tmp_path / "in"], landing, DeadLetterStore(tmp_path / "dead"))
    assert (report.accepted, report.spans_folded, report.spans_unjoined) == (1, 4, 1)
    event, carrier = sorted((json.loads(line) for hour in landing.hours() for line in landing.read_hour(hour).lines),
                            key=lambda e: e["route"] == LATE_SPANS_ROUTE)
    assert event["attributes"]["db.query_count"] == 1 and event["attributes"]["self_ms"] == 20.0
    assert "1 unjoined" in report.summary() and "kept as late spans" in report.summary()
    # the orphan is kept, on a carrier the warehouse turns into a row of the spans table and no event
    assert carrier["event_id"] == f"span-late-{'7' * 32}-f000000000000001"
    assert [(r["id"], r["parent"], r["kind"]) for r in carrier["attributes"]["otel.spans"]] == [
        ("f000000000000001", "f0000000000000ff", "client")]
    con = connect(tmp_path / "w.duckdb")
    try:
        loaded = load_hour(con, landing.read_hour(landing.hours()[0], canonical_as_files=True))
        assert (loaded.loaded, loaded.late_span_carriers, loaded.spans) == (1, 1, 6) and loaded.accounted()
        assert con.execute("SELECT count(*) FROM raw_events WHERE route = '(spans)'").fetchone()[0] == 0
        assert con.execute("SELECT kind, parent_span_id FROM spans WHERE span_id = 'f000000000000001'"
                           ).fetchone() == ("client", "f0000000000000ff")
    finally:
        con.close()


def test_a_span_let_go_during_a_run_lands_as_late_spans_and_is_not_counted_an_event(tmp_path):
    """A child held for its request, let go when a file 11 minutes later arrives: landed on a carrier, not lost,
    and the run's accepted events are the requests only."""
    (tmp_path / "in").mkdir()
    waiting = document(("checkout", [span("d000000000000002", "GET", CLIENT, 1, 2, "d000000000000001",
                                          trace="8" * 32, peer__service="payments")]))
    later = document(("checkout", [span("d0000000000000aa", "GET /health", SERVER, 11 * 60_000, 11 * 60_000 + 1,
                                        trace="6" * 32)]))
    (tmp_path / "in" / "a.json").write_text(json.dumps(waiting) + "\n")
    (tmp_path / "in" / "b.json").write_text(json.dumps(later) + "\n")
    landing = FileLandingZone(tmp_path / "landing")
    report = ingest_paths([tmp_path / "in"], landing, DeadLetterStore(tmp_path / "dead"))
    assert (report.accepted, report.landed, report.spans_unjoined) == (1, 2, 1)
    landed = [json.loads(line) for hour in landing.hours() for line in landing.read_hour(hour).lines]
    assert sorted(e["route"] for e in landed) == [LATE_SPANS_ROUTE, "GET /health"]
