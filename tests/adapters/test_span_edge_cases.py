"""Traces as real systems send them when something is off: parent loops, children outside their parent's time
(clock skew), a trace of 100,000 spans, a trace spanning hours — each a documented handling, never a crash and
never a lost neighbour; the same with spans held across batches."""
from __future__ import annotations

from datetime import datetime, timezone

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.adapters.pending_spans import PendingSpans
from tests.support.trace_documents import CLIENT, INTERNAL, SERVER, document, span

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
HOUR_MS = 3_600_000


def parse(doc: dict, pending: PendingSpans | None = None):
    return parse_trace_document(doc, now=NOW, pending=pending)


def test_a_parent_loop_makes_no_event_of_its_own_and_its_neighbours_land():
    loop = [span("b000000000000001", "a", INTERNAL, 0, 5, "b000000000000002"),
            span("b000000000000002", "b", INTERNAL, 1, 4, "b000000000000001")]
    ok = span("b000000000000003", "GET /ok", SERVER, 0, 10)
    batch = parse(document(("orders", loop + [ok])))
    assert [e.route for e in batch.events] == ["GET /ok"] and batch.unjoined == 2 and batch.spans == 3
    held = PendingSpans()
    first = parse(document(("orders", loop)), held)
    again = parse(document(("orders", [span("b000000000000004", "GET /x", SERVER, 0, 3)])), held)
    assert (first.held, len(again.events), again.joined_earlier) == (2, 1, 0)  # other trace ids: still held


def test_a_loop_through_a_server_span_folds_what_hangs_below_it_once():
    trace = [span("c000000000000001", "GET /a", SERVER, 0, 20, "c000000000000002"),
             span("c000000000000002", "call", CLIENT, 1, 19, "c000000000000001", peer__service="b")]
    batch = parse(document(("a", trace)))
    (event,) = batch.events
    assert event.attributes["peer.call_count"] == 1 and batch.folded == 1


def test_children_outside_their_parents_time_are_clipped_never_negative():
    skewed = [span("d000000000000001", "GET /skew", SERVER, 100, 110),
              span("d000000000000002", "call", CLIENT, 90, 130, "d000000000000001", peer__service="pay")]
    (event,) = parse(document(("checkout", skewed))).events
    assert event.attributes["self_ms"] == 0.0 and event.attributes["peer.duration_ms"] == 40.0


def test_a_trace_of_100000_spans_is_one_event_with_every_call_counted():
    calls = [span(f"e{k:015x}", "GET", CLIENT, k % 50, k % 50 + 1, "e" + "f" * 15, peer__service=f"svc{k % 7}")
             for k in range(99_999)]
    batch = parse(document(("fanout", [span("e" + "f" * 15, "GET /fanout", SERVER, 0, 60)] + calls)))
    (event,) = batch.events
    assert event.attributes["peer.call_count"] == 99_999 and batch.folded == 99_999
    assert 0 <= event.attributes["self_ms"] <= 60


def test_a_trace_spanning_hours_is_one_event_at_its_start_and_past_a_day_a_dead_letter():
    job = [span("f000000000000001", "nightly-export", INTERNAL, 0, 5 * HOUR_MS),
           span("f000000000000002", "query", CLIENT, 2 * HOUR_MS, 2 * HOUR_MS + 10, "f000000000000001",
                db__system="postgresql")]
    (event,) = parse(document(("batch", job))).events
    assert event.duration_ms == 5 * HOUR_MS and event.attributes["db.query_count"] == 1
    too_long = parse(document(("batch", [span("f000000000000003", "forever", INTERNAL, 0, 25 * HOUR_MS)])))
    assert [e.dead_letter_cause for e in too_long.rejected] == ["validation:duration_ms"]


def test_a_start_no_time_can_hold_is_a_dead_letter_for_any_span_and_its_neighbours_land():
    """A child whose request is elsewhere becomes a late span, whose time is its start: one that overflows every
    timestamp is refused at the door (as a request's always was) instead of failing the batch."""
    absurd = span("f100000000000002", "GET", CLIENT, 1, 2, "f1000000000000ff")
    absurd["startTimeUnixNano"], absurd["endTimeUnixNano"] = str(10 ** 30), str(10 ** 30 + 5)
    fine = span("f100000000000003", "SELECT", CLIENT, 1, 2, "f1000000000000fe", db__system="mysql")
    batch = parse(document(("orders", [absurd, fine])))
    (error,) = batch.rejected
    assert error.dead_letter_cause == "validation:timestamp" and "out of range" in str(error)
    (carrier,) = batch.late
    assert [r["id"] for r in carrier.attributes["otel.spans"]] == ["f100000000000003"]
