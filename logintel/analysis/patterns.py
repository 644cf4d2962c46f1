"""Event patterns of one hour: each distinct (template, service, route, error code) among the events
that carry a message or an error, with its counts and its per-minute activity.

Templates are mined from DISTINCT messages only, so the cost follows the number of patterns, not
the number of events.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from logintel.analysis.templates import TemplateMiner
from logintel.store.schema import ERROR_SQL, ensure_tables
from logintel.store.warehouse import transaction

NO_MESSAGE = "<no message>"


def pattern_id(template_id: str, service: str, route: str, error_code: str | None) -> str:
    key = f"{template_id}|{service}|{route}|{error_code or ''}"
    return "P" + hashlib.sha1(key.encode()).hexdigest()[:12]


def summary_text(template: str, service: str, route: str, error_code: str | None) -> str:
    """What gets embedded: the pattern as a person would name it."""
    return f"{service} {route} {error_code or ''}: {template}".replace("  ", " ")


@dataclass
class PatternReport:
    partition_hour: datetime
    events: int
    distinct_messages: int
    patterns: int
    new_templates: int
    elapsed_s: float


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con, "event_patterns", "pattern_activity")


def mine_patterns(con: duckdb.DuckDBPyConnection, hour: datetime, miner: TemplateMiner) -> PatternReport:
    """Replace partition `hour` of event_patterns and pattern_activity."""
    started = time.perf_counter()
    ensure_schema(con)
    start = hour.replace(tzinfo=None)
    # Unqualified names resolve to raw_events in the join below: the mapping has none of them.
    scope = f"partition_hour = $start AND (error_message IS NOT NULL OR {ERROR_SQL})"
    # In the order they first appeared (as a stream miner would meet them): the templates a miner learns depend
    # on the order it sees messages, so a re-run, or the same rows read from other files, learns the same ones.
    messages = con.execute(f"""
        SELECT coalesce(error_message, '') AS message FROM raw_events WHERE {scope}
        GROUP BY message ORDER BY min(ts), message""", {"start": start}).fetchall()
    texts = [m[0] or NO_MESSAGE for m in messages]
    matches = miner.add_many(texts)
    new_templates = sum(m.is_new for m in matches)
    mapping = pa.table({"message": pa.array([m[0] for m in messages], pa.string()),
                        "template_id": pa.array([m.template_id for m in matches], pa.string()),
                        "template": pa.array([m.template for m in matches], pa.string())})
    con.register("message_templates", mapping)
    try:
        with transaction(con):
            con.execute("DELETE FROM event_patterns WHERE partition_hour = $start", {"start": start})
            con.execute("DELETE FROM pattern_activity WHERE partition_hour = $start", {"start": start})
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE tagged AS
                SELECT e.ts, e.service, e.route, e.error_code, e.sample_rate, e.user_id, {ERROR_SQL} AS is_error,
                       m.template_id, m.template
                FROM raw_events e JOIN message_templates m ON coalesce(e.error_message, '') = m.message
                WHERE {scope}""",
                        {"start": start})
            rows = con.execute("""
                SELECT template_id, any_value(template), service, route, error_code, sum(sample_rate),
                       coalesce(sum(sample_rate) FILTER (WHERE is_error), 0), count(DISTINCT user_id), min(ts), max(ts)
                FROM tagged GROUP BY template_id, service, route, error_code""").fetchall()
            ids = []
            for tid, template, service, route, code, events, errors, users, first, last in rows:
                pid = pattern_id(tid, service, route, code)
                ids.append((pid, tid, service, route, code))
                con.execute("INSERT INTO event_patterns VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
                    start, pid, tid, template, service, route, code, int(events), int(errors), int(users), first, last,
                    summary_text(template, service, route, code)])
            con.register("pattern_ids", pa.table({
                "pattern_id": [i[0] for i in ids], "template_id": [i[1] for i in ids], "service": [i[2] for i in ids],
                "route": [i[3] for i in ids], "error_code": pa.array([i[4] for i in ids], pa.string())}))
            con.execute("""
                INSERT INTO pattern_activity
                SELECT $start, p.pattern_id, (epoch(t.ts)::BIGINT // 60 - epoch($start)::BIGINT // 60)::INTEGER AS minute,
                       sum(t.sample_rate)
                FROM tagged t JOIN pattern_ids p ON t.template_id = p.template_id AND t.service = p.service
                     AND t.route = p.route AND t.error_code IS NOT DISTINCT FROM p.error_code
                GROUP BY ALL""", {"start": start})
    finally:
        con.unregister("message_templates")
        con.execute("DROP TABLE IF EXISTS tagged")
    events = con.execute("SELECT coalesce(sum(events), 0) FROM event_patterns WHERE partition_hour = $start",
                         {"start": start}).fetchone()[0]
    return PatternReport(partition_hour=start, events=int(events), distinct_messages=len(texts), patterns=len(rows),
                         new_templates=new_templates, elapsed_s=time.perf_counter() - started)


def top_patterns(con: duckdb.DuckDBPyConnection, hour: datetime, limit: int = 12) -> list[dict]:
    """The hour's busiest patterns, as rows for a table."""
    return con.execute(f"""
        SELECT service, route, coalesce(error_code, '') AS error_code, template_id, template, events
        FROM event_patterns WHERE partition_hour = $h ORDER BY events DESC LIMIT {int(limit)}""",
                       {"h": hour.replace(tzinfo=None)}).df().to_dict("records")
