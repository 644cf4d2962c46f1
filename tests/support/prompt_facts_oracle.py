"""The prompt facts of one rule incident queried on their own (`incident_facts`): the oracle that
`logintel.llm.hour_facts.hour_incident_facts`, which queries those of all the rule incidents of an hour at once,
is tested and benchmarked against."""
from __future__ import annotations

import duckdb

from logintel.llm.prompt_facts import MAX_EXAMPLES, MAX_MESSAGES, rule_facts
from logintel.llm.redaction import Redactor
from logintel.store.schema import ERROR_SQL


def incident_facts(con: duckdb.DuckDBPyConnection, incident, redactor: Redactor,
                   max_examples: int = MAX_EXAMPLES, max_messages: int = MAX_MESSAGES) -> dict:
    """Facts for one rule incident, recomputed from the warehouse and redacted for an LLM."""
    start, end = incident.start_time, incident.end_time
    scope = {"s": incident.service, "r": incident.route, "c": incident.error_code}
    previous = con.execute(f"""
        SELECT coalesce(sum(sample_rate), 0) FROM raw_events
        WHERE service = $s AND route = $r AND error_code IS NOT DISTINCT FROM $c AND {ERROR_SQL}
          AND ts >= $a AND ts < $b""", scope | {"a": start - (end - start), "b": start}).fetchone()[0]
    messages = con.execute(f"""
        SELECT error_message, count(*) AS n FROM raw_events
        WHERE service = $s AND route = $r AND error_code IS NOT DISTINCT FROM $c AND {ERROR_SQL}
          AND ts >= $a AND ts < $b AND error_message IS NOT NULL
        GROUP BY 1 ORDER BY n DESC, 1 LIMIT {min(max_messages, MAX_MESSAGES)}""", scope | {"a": start, "b": end}).fetchall()
    examples = con.execute(f"""
        SELECT trace_id, ts, status, duration_ms, error_message FROM raw_events
        WHERE service = $s AND route = $r AND error_code IS NOT DISTINCT FROM $c AND {ERROR_SQL}
          AND ts >= $a AND ts < $b
        ORDER BY ts, event_id LIMIT {min(max_examples, MAX_EXAMPLES)}""", scope | {"a": start, "b": end}).fetchall()
    return rule_facts(incident, previous, messages, examples, redactor)
