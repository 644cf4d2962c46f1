"""What raw_events say about many latency segments (one route's run of slow windows in an hour) at once:
the route's requests, errors, users and p50/p99 during the segment and in the hours before its onset,
and which of its dependencies got slower — a `<ns>.duration_ms` compared per value of its namespace's
attributes (peer.duration_ms by peer.service, db.duration_ms by db.instance), as the root-cause analysis
compares them for failing requests, here over all of the route's requests.

The p50/p99 are `quantile_cont` over the events' `duration_ms` and the requests are weighted by
`sample_rate`, exactly as the grounding's fact sheet computes a route's, so a text can state them.
"""
from __future__ import annotations

import re
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
    during vs before; attributes flattened one nested level deep, as the root-cause analysis does. Only what
    a comparison reads is flattened: the `duration_ms` attributes and the attributes of their namespaces (on
    the simulator's 1M-event hour, 1.7M of the 4.3M values; the rest — hosts, regions, versions — were
    flattened for nothing). An event whose attributes may nest an object, or whose text escapes a character, is
    flattened whole, as before."""
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE ls_events AS
        SELECT row_number() OVER () AS rid, s.sid, e.ts >= s.start AS now, e.attributes AS j,
               strpos(e.attributes[2:], '{') > 0 OR strpos(e.attributes, '\\') > 0 AS nested
        FROM (SELECT ts, service, route, attributes FROM raw_events
              WHERE ts >= $lo AND ts < $hi AND attributes IS NOT NULL) e
        JOIN ls_segments s ON e.service = s.service AND e.route = s.route
         AND ((e.ts >= s.before AND e.ts < s.onset) OR (e.ts >= s.start AND e.ts < s.end))""", bounds)
    # Events that may nest an object (a '{' past the first character, in a nested object or only in a string), or
    # whose text escapes a character (a key holding a quote cannot be written as a JSON path): every leaf, one level
    # deep.
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE ls_values AS
        WITH level1 AS (
            SELECT rid, sid, now, k AS attribute, j -> k AS v
            FROM (SELECT *, unnest(json_keys(j)) AS k FROM ls_events WHERE nested AND json_type(j) = 'OBJECT')
        ), level2 AS (
            SELECT rid, sid, now, attribute || '.' || k2 AS attribute, v -> k2 AS v
            FROM (SELECT *, unnest(json_keys(v)) AS k2 FROM level1 WHERE json_type(v) = 'OBJECT')
        ), leaves AS (
            SELECT * FROM level1 WHERE json_type(v) <> 'OBJECT'
            UNION ALL SELECT * FROM level2 WHERE json_type(v) <> 'OBJECT'
        )
        SELECT rid, sid, now, attribute, json_type(v) AS t, json_extract_string(v, '$') AS value FROM leaves""")
    # The rest are flat: their keys are the attributes. Of those, the duration_ms ones and their namespaces'.
    keys = {k for (k,) in cur.execute("""
        SELECT DISTINCT k FROM (SELECT unnest(json_keys(j)) AS k FROM ls_events WHERE NOT nested)
        UNION SELECT DISTINCT attribute FROM ls_values""").fetchall()}
    namespaces = {_namespace(k) for k in keys if k.endswith("duration_ms")} - {""}
    # A key holding a quote or a backslash is escaped in its event's text, so it came from the events above; every
    # other key is a JSON path, and an event's wanted keys are read in one pass over its text.
    wanted = sorted(k for k in keys if '"' not in k and "\\" not in k and (
        k.endswith("duration_ms") or any(k == ns or k.startswith(ns + ".") for ns in namespaces)))
    if wanted:
        cur.execute("""
            INSERT INTO ls_values
            SELECT rid, sid, now, attribute, json_type(v) AS t, json_extract_string(v, '$') AS value
            FROM (SELECT rid, sid, now, unnest($wanted) AS attribute, unnest(json_extract(j, $paths)) AS v
                  FROM ls_events WHERE NOT nested)
            WHERE v IS NOT NULL""", {"wanted": wanted, "paths": [f'$."{k}"' for k in wanted]})
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


def _namespace(metric: str) -> str:
    """`db.duration_ms` → `db` (the SQL below strips the same suffix)."""
    return re.sub(r"\.?duration_ms$", "", metric)
