"""What raw_events say about many latency segments (one route's run of slow windows in an hour) at once:
the route's requests, errors, users and p50/p99 during the segment and in the hours before its onset,
and which of its dependencies got slower — a `<ns>.duration_ms` compared per value of its namespace's
attributes (peer.duration_ms by peer.service, db.duration_ms by db.instance), as the root-cause analysis
compares them for failing requests, here over all of the route's requests.

The p50/p99 are `quantile_cont` over the events' `duration_ms` and the requests are weighted by
`sample_rate`, exactly as the grounding's fact sheet computes a route's, so a text can state them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from logintel.analysis.root_cause.verdict import Slowdown
from logintel.store.schema import ERROR_SQL
from logintel.store.cursors import own_cursor

NUMERIC_TYPES = "('BIGINT', 'UBIGINT', 'DOUBLE')"


@dataclass(frozen=True)
class LatencySegment:
    service: str
    route: str
    start: datetime        # [start, end): the segment, naive UTC
    end: datetime
    onset: datetime        # where its incident began (first_seen), perhaps in an earlier hour
    before: datetime       # the stated baseline is [before, onset)


@dataclass
class Period:
    requests: int = 0
    errors: int = 0
    users: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class LatencyFacts:
    during: Period = field(default_factory=Period)
    before: Period = field(default_factory=Period)
    events: int = 0                                        # kept events during the segment
    slowdowns: list[Slowdown] = field(default_factory=list)
    cardinality: dict[str, int] = field(default_factory=dict)  # distinct values per attribute seen


def latency_facts(con: duckdb.DuckDBPyConnection, segments: list[LatencySegment]) -> list[LatencyFacts]:
    """Facts per segment, in order."""
    facts = [LatencyFacts() for _ in segments]
    if not segments:
        return facts
    timestamp = pa.timestamp("us")
    table = pa.table({"sid": pa.array(range(len(segments)), pa.int64()),
                      "service": [s.service for s in segments], "route": [s.route for s in segments],
                      **{name: pa.array([getattr(s, name) for s in segments], timestamp)
                         for name in ("start", "end", "onset", "before")}})
    bounds = {"lo": min(s.before for s in segments), "hi": max(s.end for s in segments)}
    cur = own_cursor(con)  # its own: the registered segments and temp tables stay out of the caller's connection
    try:
        cur.register("ls_segments", table)
        _periods(cur, bounds, facts)
        _slowdowns(cur, bounds, facts)
    finally:
        cur.execute("DROP TABLE IF EXISTS ls_values")
        cur.execute("DROP TABLE IF EXISTS ls_events")
        cur.close()
    return facts


def _periods(cur, bounds: dict, facts: list[LatencyFacts]) -> None:
    for sid, now, requests, errors, users, quantiles, kept in cur.execute(f"""
            SELECT s.sid, e.ts >= s.start AS now, sum(e.sample_rate), coalesce(sum(e.sample_rate) FILTER ({ERROR_SQL}), 0),
                   count(DISTINCT e.user_id), quantile_cont(e.duration_ms, [0.5, 0.99]), count(*)
            FROM (SELECT * FROM raw_events WHERE ts >= $lo AND ts < $hi) e
            JOIN ls_segments s ON e.service = s.service AND e.route = s.route
             AND ((e.ts >= s.before AND e.ts < s.onset) OR (e.ts >= s.start AND e.ts < s.end))
            GROUP BY ALL""", bounds).fetchall():
        period = facts[sid].during if now else facts[sid].before
        period.requests, period.errors, period.users = int(requests or 0), int(errors or 0), int(users or 0)
        period.p50_ms, period.p99_ms = (quantiles or [None, None])[:2]
        if now:
            facts[sid].events = int(kept)


def _slowdowns(cur, bounds: dict, facts: list[LatencyFacts]) -> None:
    """Each `<ns>.duration_ms` of the segments' events against the values of its namespace's attributes,
    during vs before; attributes flattened one nested level deep, as the root-cause analysis does."""
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE ls_events AS
        SELECT row_number() OVER () AS rid, s.sid, e.ts >= s.start AS now, e.attributes AS j
        FROM (SELECT ts, service, route, attributes FROM raw_events
              WHERE ts >= $lo AND ts < $hi AND attributes IS NOT NULL) e
        JOIN ls_segments s ON e.service = s.service AND e.route = s.route
         AND ((e.ts >= s.before AND e.ts < s.onset) OR (e.ts >= s.start AND e.ts < s.end))""", bounds)
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE ls_values AS
        WITH level1 AS (
            SELECT rid, sid, now, k AS attribute, j -> k AS v
            FROM (SELECT *, unnest(json_keys(j)) AS k FROM ls_events WHERE json_type(j) = 'OBJECT')
        ), level2 AS (
            SELECT rid, sid, now, attribute || '.' || k2 AS attribute, v -> k2 AS v
            FROM (SELECT *, unnest(json_keys(v)) AS k2 FROM level1 WHERE json_type(v) = 'OBJECT')
        ), leaves AS (
            SELECT * FROM level1 WHERE json_type(v) <> 'OBJECT'
            UNION ALL SELECT * FROM level2 WHERE json_type(v) <> 'OBJECT'
        )
        SELECT rid, sid, now, attribute, json_type(v) AS t, json_extract_string(v, '$') AS value FROM leaves""")
    for sid, attribute, distinct in cur.execute("""
            SELECT sid, attribute, count(DISTINCT value) FROM ls_values WHERE t = 'VARCHAR' GROUP BY ALL""").fetchall():
        facts[sid].cardinality[attribute] = int(distinct)
    for sid, metric, by, value, after, after_n, before, before_n in cur.execute(f"""
            WITH lat AS (
                SELECT rid, sid, now, attribute AS metric, TRY_CAST(value AS DOUBLE) AS ms,
                       regexp_replace(attribute, '\\.?duration_ms$', '') AS ns
                FROM ls_values WHERE t IN {NUMERIC_TYPES} AND attribute LIKE '%duration_ms'
            ), cat AS (SELECT rid, attribute, value FROM ls_values WHERE t = 'VARCHAR')
            SELECT l.sid, l.metric, c.attribute, c.value, median(l.ms) FILTER (l.now), count(*) FILTER (l.now),
                   median(l.ms) FILTER (NOT l.now), count(*) FILTER (NOT l.now)
            FROM lat l JOIN cat c ON c.rid = l.rid AND l.ns <> '' AND (c.attribute = l.ns OR starts_with(c.attribute, l.ns || '.'))
            WHERE l.ms IS NOT NULL AND isfinite(l.ms)
            GROUP BY ALL HAVING count(*) FILTER (l.now) > 0 AND count(*) FILTER (NOT l.now) > 0
            ORDER BY ALL""").fetchall():
        found = facts[sid]
        found.slowdowns.append(Slowdown(metric=metric, by=by, value=value, before_ms=float(before),
                                        after_ms=float(after), failing_n=int(after_n), baseline_n=int(before_n),
                                        share_failing=after_n / found.events if found.events else 0.0,
                                        specificity=found.cardinality.get(by, 1)))
