"""The facts of rule-incident segments from one batch equal what the per-segment queries they replaced
return (kept here as the reference), on the simulator's labelled hour and on hand-built edges: a group
without an error code, messages on events that are not errors, traces that start at the same instant."""
from datetime import datetime, timedelta

from logintel.analysis.incidents.incident import MAX_RELATED_TRACES
from logintel.analysis.incidents.segment_facts import Segment, SegmentFacts, segment_facts
from logintel.store.landing import HourBatch
from logintel.store.schema import ERROR_SQL
from logintel.store.warehouse import load_hour
from tests.support.factories import burst, event, steady


def one_at_a_time(con, s: Segment, max_traces: int = MAX_RELATED_TRACES) -> SegmentFacts:
    """The three queries per segment that detect_incidents ran before (ties now broken by id, messages
    by first appearance, so the answer is one answer)."""
    p = {"s": s.service, "r": s.route, "c": s.error_code, "a": s.start, "b": s.end}
    in_group = "error_code IS NOT DISTINCT FROM $c"
    requests, errors, users, traces_total = con.execute(f"""
        SELECT coalesce(sum(sample_rate), 0),
               coalesce(sum(sample_rate) FILTER (WHERE {ERROR_SQL} AND {in_group}), 0),
               count(DISTINCT user_id) FILTER (WHERE {ERROR_SQL} AND {in_group}),
               count(DISTINCT trace_id) FILTER (WHERE {ERROR_SQL} AND {in_group} AND trace_id IS NOT NULL)
        FROM raw_events WHERE service = $s AND route = $r AND ts >= $a AND ts < $b""", p).fetchone()
    traces = [r[0] for r in con.execute(f"""
        SELECT trace_id FROM raw_events
        WHERE service = $s AND route = $r AND {in_group} AND ts >= $a AND ts < $b AND {ERROR_SQL}
          AND trace_id IS NOT NULL
        GROUP BY trace_id ORDER BY min(ts), trace_id LIMIT {max_traces}""", p).fetchall()]
    messages = [r[0] for r in con.execute(f"""
        SELECT error_message FROM raw_events
        WHERE service = $s AND route = $r AND {in_group} AND ts >= $a AND ts < $b AND error_message IS NOT NULL
        GROUP BY error_message ORDER BY min(ts), error_message LIMIT 3""", p).fetchall()]
    return SegmentFacts(requests=int(requests), errors=int(errors), users=int(users), traces_total=int(traces_total),
                        traces=traces, messages=messages)


def test_the_labelled_hours_segments_get_the_per_segment_facts(labelled_hour_run):
    rules = [i for i in labelled_hour_run.incidents if i.kind == "threshold"]
    segments = [Segment(i.service, i.route, i.error_code, i.start_time, i.end_time) for i in rules]
    assert len(segments) > 10
    batched = segment_facts(labelled_hour_run.con, segments, MAX_RELATED_TRACES)
    assert batched == [one_at_a_time(labelled_hour_run.con, s) for s in segments]
    # and they are what the incidents carry
    assert [(f.requests, f.errors, f.users, f.traces_total, f.traces, f.messages) for f in batched] == [
        (i.requests, i.errors, i.users_affected, i.related_traces_total, i.related_traces, i.evidence["messages"])
        for i in rules]
    assert any(f.traces_total > MAX_RELATED_TRACES for f in batched)  # the cut at max_traces is exercised


H = datetime(2026, 11, 23, 10)


def test_a_group_without_code_messages_of_non_errors_and_simultaneous_traces(con):
    at = H + timedelta(minutes=10)
    events = steady(H, 1, 3, service="orders", route="/orders")
    events += [event(at, service="orders", route="/orders", status=503, level="error", trace_id=f"{t:032x}",
                     user_id=f"u-{t % 3}", sample_rate=2, message=f"upstream reset {t % 4}") for t in (9, 3, 7, 1)]
    events += burst(at, 5, 6, service="orders", route="/orders", level="warn", status=200,
                    message="slow query")  # messages on events that are not errors
    events += burst(at, 5, 20, service="orders", route="/orders", error_code="DB_POOL_EXHAUSTED",
                    message="pool exhausted")
    load_hour(con, HourBatch(hour=H, lines=[e.to_json() for e in events], sources=["t"] * len(events)))
    segments = [Segment("orders", "/orders", None, H, H + timedelta(minutes=30)),
                Segment("orders", "/orders", "DB_POOL_EXHAUSTED", at, at + timedelta(minutes=5)),
                Segment("orders", "/orders", "NO_SUCH_CODE", H, H + timedelta(hours=1)),
                Segment("search", "/search", None, H, H + timedelta(hours=1))]
    batched = segment_facts(con, segments, max_traces=3)
    assert batched == [one_at_a_time(con, s, max_traces=3) for s in segments]
    no_code = batched[0]
    assert (no_code.errors, no_code.users, no_code.traces_total) == (8, 2, 4)  # sample_rate 2 each
    assert no_code.traces == [f"{t:032x}" for t in (1, 3, 7)]  # one instant: by id
    assert no_code.messages == ["slow query", "upstream reset 1", "upstream reset 3"]
    assert batched[2] == SegmentFacts(requests=batched[2].requests) and batched[3] == SegmentFacts()
