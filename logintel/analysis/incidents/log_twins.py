"""One failure, one incident: a rule incident of a service's error log lines folds into the rule incident of the
requests those lines failed.

A request whose span said nothing but under whose spans an error line was written is a failed request
(`store.log_errors`). Its error is then counted twice: once in its route's group, once as a line in the
service's `(log)` group, and both can cross the threshold in the same minutes — two incidents, two pages, for
one failure. When most of a `(log)` incident's error lines in its minutes were written inside requests of a
request incident's group (the same service, overlapping minutes), the `(log)` incident folds into it
(`merged_into`); lines written outside any request, or inside requests of other groups, keep theirs.
"""
from __future__ import annotations

import duckdb

from logintel.analysis.incidents.incident import Incident
from logintel.analysis.root_cause.scopes import overlaps
from logintel.events import LOG_ROUTE
from logintel.store.schema import ERROR_SQL, has_table

MOST = 0.5  # more than this share of the lines' errors written inside the other incident's requests


def fold_log_twins(con: duckdb.DuckDBPyConnection, rules: list[Incident]) -> int:
    """Fold each `(log)` rule incident into the request incident whose failures its lines are; returns how many."""
    if not has_table(con, "spans"):
        return 0
    folded = 0
    for lines in (r for r in rules if r.route == LOG_ROUTE and not r.merged_into):
        shares = [(_share(con, lines, r), r.incident_id) for r in rules
                  if r.service == lines.service and r.route != LOG_ROUTE and not r.merged_into
                  and overlaps(r.start_time, r.end_time, lines.start_time, lines.end_time)]
        share, twin = max(shares, default=(0.0, None))
        if share > MOST:
            lines.merged_into = twin
            folded += 1
    return folded


def _share(con: duckdb.DuckDBPyConnection, lines: Incident, requests: Incident) -> float:
    """The share of `lines`' error lines, in their minutes, written inside requests of `requests`' group."""
    total, inside = con.execute(f"""
        WITH l AS (
            SELECT trace_id, json_extract_string(attributes, '$.span_id') AS span_id FROM raw_events
            WHERE service = $service AND route = '{LOG_ROUTE}' AND error_code IS NOT DISTINCT FROM $lines_code
              AND ts >= $a AND ts < $b AND {ERROR_SQL})
        SELECT count(*), count(r.event_id)
        FROM l
        LEFT JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id
        LEFT JOIN raw_events r ON r.event_id = s.event_id AND r.service = $service AND r.route = $route
             AND r.error_code IS NOT DISTINCT FROM $code""",
                                  {"service": lines.service, "route": requests.route, "code": requests.error_code,
                                   "lines_code": lines.error_code, "a": lines.start_time,
                                   "b": lines.end_time}).fetchall()[0]
    return inside / total if total else 0.0
