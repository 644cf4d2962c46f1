"""What raw_events say about many rule-incident segments (one group's run of breaching windows in an hour)
at once: the route's requests, the group's errors, users and traces, its first related traces and its
first messages — joins of the hour's events with every segment, not three queries per segment."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from logintel.store.schema import ERROR_SQL
from logintel.store.cursors import own_cursor

MAX_MESSAGES = 3


@dataclass(frozen=True)
class Segment:
    service: str
    route: str
    error_code: str | None
    start: datetime  # [start, end), naive UTC
    end: datetime


@dataclass
class SegmentFacts:
    requests: int = 0        # the route's whole traffic (every code, successes too): the rate's denominator
    errors: int = 0          # weighted by sample_rate, as requests
    users: int = 0           # distinct users with the group's errors
    traces_total: int = 0    # distinct traces with the group's errors
    traces: list[str] = field(default_factory=list)    # the first `max_traces`, by their first error
    messages: list[str] = field(default_factory=list)  # the group's first distinct messages, by first seen


def segment_facts(con: duckdb.DuckDBPyConnection, segments: list[Segment], max_traces: int) -> list[SegmentFacts]:
    """Facts per segment, in order."""
    facts = [SegmentFacts() for _ in segments]
    if not segments:
        return facts
    table = pa.table({"sid": pa.array(range(len(segments)), pa.int64()),
                      "service": [s.service for s in segments], "route": [s.route for s in segments],
                      "error_code": pa.array([s.error_code for s in segments], pa.string()),
                      "a": pa.array([s.start for s in segments], pa.timestamp("us")),
                      "b": pa.array([s.end for s in segments], pa.timestamp("us"))})
    bounds = {"lo": min(s.start for s in segments), "hi": max(s.end for s in segments)}
    # A cursor of its own: the registered segments and the temporary table stay out of the caller's connection.
    cur = own_cursor(con)
    try:
        cur.register("sf_segments", table)
        for sid, requests in cur.execute("""
                SELECT s.sid, sum(e.w)
                FROM (SELECT ts, service, route, sample_rate AS w FROM raw_events WHERE ts >= $lo AND ts < $hi) e
                JOIN sf_segments s ON e.service = s.service AND e.route = s.route AND e.ts >= s.a AND e.ts < s.b
                GROUP BY s.sid""", bounds).fetchall():
            facts[sid].requests = int(requests or 0)
        # Every event of the segments' groups that is an error or has a message: few, whatever the traffic.
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE sf_events AS
            SELECT s.sid, e.ts, e.w, e.user_id, e.trace_id, e.err, e.error_message
            FROM (SELECT ts, service, route, error_code, sample_rate AS w, user_id, trace_id, error_message,
                         {ERROR_SQL} AS err
                  FROM raw_events WHERE ts >= $lo AND ts < $hi AND ({ERROR_SQL} OR error_message IS NOT NULL)) e
            JOIN sf_segments s ON e.service = s.service AND e.route = s.route
             AND e.error_code IS NOT DISTINCT FROM s.error_code AND e.ts >= s.a AND e.ts < s.b""", bounds)
        for sid, errors, users, traces in cur.execute("""
                SELECT sid, sum(w), count(DISTINCT user_id), count(DISTINCT trace_id)
                FROM sf_events WHERE err GROUP BY sid""").fetchall():
            facts[sid].errors, facts[sid].users, facts[sid].traces_total = int(errors or 0), int(users), int(traces)
        for sid, trace in cur.execute(f"""
                SELECT sid, trace_id FROM (SELECT sid, trace_id, min(ts) AS first FROM sf_events
                                           WHERE err AND trace_id IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY sid ORDER BY first, trace_id) <= {int(max_traces)}
                ORDER BY sid, first, trace_id""").fetchall():
            facts[sid].traces.append(trace)
        for sid, message in cur.execute(f"""
                SELECT sid, error_message FROM (SELECT sid, error_message, min(ts) AS first FROM sf_events
                                                WHERE error_message IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY sid ORDER BY first, error_message) <= {MAX_MESSAGES}
                ORDER BY sid, first, error_message""").fetchall():
            facts[sid].messages.append(message)
        cur.execute("DROP TABLE IF EXISTS sf_events")
    finally:
        cur.close()
    return facts
