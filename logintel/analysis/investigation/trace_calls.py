"""Calls between services matched by trace and time, for events sent without their spans (the `spans` table,
`window_calls`, matches them exactly where it holds them).

- A gap: a caller's event names its slowest call's service (`peer.service`) and that call's duration
  (`peer.duration_ms`); the callee's event in the same trace that started while the caller ran answered it (the
  slowest, if several); the gap is the call's duration less that event's. One row per caller event, at its time.
- An edge: each event's caller is the event of another service in the same trace that was running when it started
  and started last (the innermost). One row per callee event, at its time.

Both are matched once for a prepared span (an hour and the minutes before it: `prepare`), and each window of it
reads its rows by time (`stage`, a view), so twelve windows cost one join, not twelve; a window staged on its own
matches its own events (`stage` over the staged table). Neither is matched where the spans are held.
"""
from __future__ import annotations

import duckdb

from logintel.store.schema import has_table

GAPS, EDGES = "investigation_gaps", "investigation_edges"
PREPARED_GAPS, PREPARED_EDGES = "investigation_source_gaps", "investigation_source_edges"


def _gap_rows(source: str) -> str:
    return f"""
        WITH callers AS (SELECT trace_id, service, ts, duration_ms, peer_service, peer_ms, row_number() OVER () AS call_id
                         FROM {source} WHERE NOT is_log AND peer_ms IS NOT NULL AND peer_service IS NOT NULL
                           AND trace_id IS NOT NULL),
             callees AS (SELECT trace_id, service, route, ts, duration_ms FROM {source}
                         WHERE NOT is_log AND trace_id IS NOT NULL)
        SELECT any_value(c.ts) AS ts, any_value(c.peer_service) AS service, arg_max(e.route, e.duration_ms) AS route,
               any_value(c.peer_ms) - max(e.duration_ms) AS x
        FROM callers c JOIN callees e ON e.trace_id = c.trace_id AND e.service = c.peer_service
         AND e.service <> c.service AND e.ts >= c.ts
         AND e.ts <= c.ts + to_microseconds(CAST(c.duration_ms * 1000 AS BIGINT))
        GROUP BY c.call_id"""


def _edge_rows(source: str) -> str:
    return f"""
        WITH ev AS (SELECT trace_id, service, ts, ts + to_microseconds(CAST(duration_ms * 1000 AS BIGINT)) AS ends,
                           row_number() OVER () AS id
                    FROM {source} WHERE NOT is_log AND trace_id IS NOT NULL)
        SELECT any_value(e.ts) AS ts, arg_max(c.service, c.ts) AS caller, any_value(e.service) AS callee
        FROM ev e JOIN ev c ON c.trace_id = e.trace_id AND c.service <> e.service AND c.ts <= e.ts AND c.ends >= e.ts
        GROUP BY e.id"""


def prepare_trace_calls(con: duckdb.DuckDBPyConnection, prepared_events: str) -> None:
    """Match the calls of the prepared span's events once."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PREPARED_GAPS} AS {_gap_rows(prepared_events)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PREPARED_EDGES} AS {_edge_rows(prepared_events)}")


def stage_trace_calls(con: duckdb.DuckDBPyConnection, sides: dict, staged_events: str, prepared: bool) -> None:
    """The window's and the baseline's gaps, and the window's edges, with `in_window`: read by time from the
    prepared span's (`prepared`), else matched among the staged events."""
    window = f"ts >= {timestamp_sql(sides['ws'])} AND ts < {timestamp_sql(sides['we'])}"
    either = f"({window}) OR (ts >= {timestamp_sql(sides['bs'])} AND ts < {timestamp_sql(sides['be'])})"
    if prepared:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {GAPS} AS SELECT {window} AS in_window, service, route, x "
                    f"FROM {PREPARED_GAPS} WHERE {either}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {EDGES} AS SELECT caller, callee FROM {PREPARED_EDGES} WHERE {window}")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {GAPS} AS SELECT {window} AS in_window, service, route, x "
                f"FROM ({_gap_rows(staged_events)})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {EDGES} AS SELECT caller, callee "
                f"FROM ({_edge_rows(f'(SELECT * FROM {staged_events} WHERE in_window)')})")


def prepared(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the prepared span's calls were matched (`prepare_trace_calls`)."""
    return has_table(con, PREPARED_GAPS)


def timestamp_sql(ts) -> str:
    """A timestamp as a DuckDB literal (a view cannot hold parameters)."""
    return f"TIMESTAMP '{ts.isoformat(sep=' ')}'"


def gap_source() -> str:
    return f"SELECT service, route, in_window, x FROM {GAPS}"


def edges(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    rows = con.execute(f"SELECT caller, callee, count(*) FROM {EDGES} GROUP BY ALL").fetchall()
    return {(caller, callee): n for caller, callee, n in rows}


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a temp table or view by that name, if any."""
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()
    if kind:
        con.execute(f"DROP {'VIEW' if kind[0][0] == 'VIEW' else 'TABLE'} {name}")


def drop_trace_calls(con: duckdb.DuckDBPyConnection, prepared_too: bool = False) -> None:
    for name in (GAPS, EDGES) + ((PREPARED_GAPS, PREPARED_EDGES) if prepared_too else ()):
        drop_relation(con, name)
