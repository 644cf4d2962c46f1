"""A request that failed only in its logs: an error-level log line written inside a request's spans marks the
request's event as failed when the request's own span said nothing.

Many services report a failure only by logging it (an exception caught, logged and answered with a 200; spans
exported without a status): their request events look healthy while their log lines say otherwise, so error
rates, budgets and rule incidents — which count requests — miss the failure. A log record that carries a trace
and span id names the span it was written in; the `spans` table names that span's unit of work (`event_id`), so
the line is joined to its request exactly. Such a request event gets level `error`, the first error line's
message (and its `error.type`, `error.code` when the line has them) and `attributes."error.source"` = `log`, so
anyone can tell a failure the span reported from one its logs did. A request whose span already failed, or
that carries an error code or a 5xx, is left as it is. The log lines stay log lines (never counted as requests).

Lines and their request are joined within one hour's partition, when the hour is loaded (so a reload, with
lines landed late, joins them again); a line written in the next hour than its request's start is not joined.
"""
from __future__ import annotations

ERROR_SOURCE_KEY = "error.source"
_FAILED_ALREADY = "(r.level IN ('error', 'fatal') OR r.error_code IS NOT NULL OR coalesce(r.status, 0) >= 500)"


def mark_failed_by_logs(con, start) -> int:
    """Mark partition `start`'s request events that failed only in their logs; returns how many."""
    marked = con.execute(f"""
        WITH lines AS (
            SELECT trace_id, json_extract_string(attributes, '$.span_id') AS span_id, ts, error_message,
                   error_type, error_code
            FROM raw_events
            WHERE partition_hour = $start AND route = '(log)' AND level IN ('error', 'fatal') AND trace_id IS NOT NULL),
             failed AS (
            SELECT s.event_id, arg_min(l.error_message, l.ts) AS message, arg_min(l.error_type, l.ts) AS type,
                   arg_min(l.error_code, l.ts) AS code
            FROM lines l JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id
            WHERE s.partition_hour = $start
            GROUP BY s.event_id)
        UPDATE raw_events r
        SET level = 'error', error_message = coalesce(r.error_message, f.message),
            error_type = coalesce(r.error_type, f.type), error_code = f.code,
            attributes = json_merge_patch(coalesce(r.attributes, '{{}}'), '{{"{ERROR_SOURCE_KEY}": "log"}}')
        FROM failed f
        WHERE r.event_id = f.event_id AND r.partition_hour = $start AND r.route <> '(log)'
          AND NOT {_FAILED_ALREADY}""", {"start": start}).fetchone()
    return int(marked[0]) if marked else 0
