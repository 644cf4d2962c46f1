"""The facts of many rule incidents (an hour's) from one join of the hour's errors with all of them: each one's
previous-period errors, top messages and first examples (ranked per incident with row_number over a window),
worded by `prompt_facts.rule_facts`."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from logintel.llm.prompt_facts import MAX_EXAMPLES, MAX_MESSAGES, rule_facts
from logintel.llm.redaction import Redactor
from logintel.store.schema import ERROR_SQL
from logintel.store.cursors import own_cursor


def hour_incident_facts(con: duckdb.DuckDBPyConnection, incidents: list, redactor: Redactor,
                        max_examples: int = MAX_EXAMPLES, max_messages: int = MAX_MESSAGES) -> list[dict]:
    """Facts per rule incident, in order, redacted for an LLM."""
    if not incidents:
        return []
    ts = pa.timestamp("us")
    table = pa.table({"iid": pa.array(range(len(incidents)), pa.int64()),
                      "service": [i.service for i in incidents], "route": [i.route for i in incidents],
                      "error_code": pa.array([i.error_code for i in incidents], pa.string()),
                      "p": pa.array([i.start_time - (i.end_time - i.start_time) for i in incidents], ts),
                      "a": pa.array([i.start_time for i in incidents], ts),
                      "b": pa.array([i.end_time for i in incidents], ts)})
    bounds = {"lo": min(i.start_time - (i.end_time - i.start_time) for i in incidents),
              "hi": max(i.end_time for i in incidents)}
    previous, messages, examples = [0] * len(incidents), [[] for _ in incidents], [[] for _ in incidents]
    cur = own_cursor(con)  # its own: the registered incidents and the temporary table stay out of the caller's
    try:
        cur.register("hf_incidents", table)
        # Each incident's errors, and those of the equal period before it.
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE hf_errors AS
            SELECT i.iid, e.ts >= i.a AS now, e.w, e.event_id, e.ts, e.trace_id, e.status, e.duration_ms,
                   e.error_message
            FROM (SELECT event_id, ts, service, route, error_code, sample_rate AS w, trace_id, status, duration_ms,
                         error_message
                  FROM raw_events WHERE ts >= $lo AND ts < $hi AND {ERROR_SQL}) e
            JOIN hf_incidents i ON e.service = i.service AND e.route = i.route
             AND e.error_code IS NOT DISTINCT FROM i.error_code AND e.ts >= i.p AND e.ts < i.b""", bounds)
        for iid, errors in cur.execute(
                "SELECT iid, coalesce(sum(w), 0) FROM hf_errors WHERE NOT now GROUP BY iid").fetchall():
            previous[iid] = errors
        for iid, message, n in cur.execute(f"""
                SELECT iid, error_message, n FROM (
                    SELECT iid, error_message, count(*) AS n FROM hf_errors
                    WHERE now AND error_message IS NOT NULL GROUP BY ALL)
                QUALIFY row_number() OVER (PARTITION BY iid ORDER BY n DESC, error_message)
                        <= {min(max_messages, MAX_MESSAGES)}
                ORDER BY iid, n DESC, error_message""").fetchall():
            messages[iid].append((message, n))
        for iid, *example in cur.execute(f"""
                SELECT iid, trace_id, ts, status, duration_ms, error_message FROM hf_errors WHERE now
                QUALIFY row_number() OVER (PARTITION BY iid ORDER BY ts, event_id) <= {min(max_examples, MAX_EXAMPLES)}
                ORDER BY iid, ts, event_id""").fetchall():
            examples[iid].append(tuple(example))
        cur.execute("DROP TABLE IF EXISTS hf_errors")
    finally:
        cur.close()
    return [rule_facts(incident, previous[k], messages[k], examples[k], redactor)
            for k, incident in enumerate(incidents)]
