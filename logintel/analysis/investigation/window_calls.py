"""The calls between services in a window and its baseline, matched by span ids in the `spans` table.

A call is a server (or consumer) span of one service whose parent is a client (or producer) span of another: the
caller's span that made it, in the same trace. Its network gap is the client span's duration less the server
span's — the time on the wire and in queues, neither side's own work — and its route the callee's operation.
The gap belongs to both ends: a delay in one service's network (a pod's interface slowed) lengthens the calls to
it and its calls out alike, so the gaps are counted per callee and, apart, per service over all its calls.
Where the warehouse holds spans, this is exact: two calls at once from one request, a callee called twice, a
caller that keeps only its slowest call on its event all come out right. Where it holds none (events written
without spans: logs, the SDK, the simulator's direct path), `window_signals` falls back to matching events by trace
and time.
"""
from __future__ import annotations

import duckdb

from logintel.store.schema import has_table

CALLS = "investigation_calls"
PREPARED_CALLS = "investigation_source_calls"
_CALLEE_KINDS = "('server', 'consumer')"
_CALLER_KINDS = "('client', 'producer')"


def _calls(inside: str) -> str:
    """Every call whose server span starts where `inside` says (a condition on `ts`), with the callee's
    operation as its event names it (method and route, as `window_signals` names requests)."""
    return f"""
        SELECT callee.start_ts AS ts, caller.service AS caller, callee.service AS service,
               CASE WHEN ev.method IS NULL THEN ev.route ELSE ev.method || ' ' || ev.route END AS route,
               greatest(caller.duration_ms - callee.duration_ms, 0) AS gap_ms
        FROM spans callee
        JOIN spans caller ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
        JOIN raw_events ev ON ev.event_id = callee.event_id AND ev.ts = callee.start_ts
        WHERE callee.kind IN {_CALLEE_KINDS} AND caller.kind IN {_CALLER_KINDS} AND caller.service <> callee.service
          AND ({inside.replace("ts", "callee.start_ts")}) AND ({inside.replace("ts", "ev.ts")})"""


def prepare_calls(con: duckdb.DuckDBPyConnection, start, end) -> int:
    """The calls of [start, end) matched once, for the windows inside it; returns how many there are."""
    if not has_table(con, "spans"):
        return 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PREPARED_CALLS} AS "
                f"{_calls('ts >= $start AND ts < $end')}", {"start": start, "end": end})
    return con.execute(f"SELECT count(*) FROM {PREPARED_CALLS}").fetchone()[0]


def stage_calls(con: duckdb.DuckDBPyConnection, sides: dict, prepared: bool) -> int:
    """Stage the calls of the window and the baseline (`sides`: ws, we, bs, be) with `in_window`; returns how
    many there are (0: the warehouse holds no spans for them)."""
    inside = "(ts >= $ws AND ts < $we) OR (ts >= $bs AND ts < $be)"
    if prepared and has_table(con, PREPARED_CALLS):
        source = f"SELECT * FROM {PREPARED_CALLS} WHERE {inside}"
    elif has_table(con, "spans"):
        source = _calls(inside)
    else:  # a warehouse from before the spans table
        con.execute(f"CREATE OR REPLACE TEMP TABLE {CALLS} (in_window BOOLEAN, ts TIMESTAMP, caller VARCHAR, "
                    "service VARCHAR, route VARCHAR, gap_ms DOUBLE)")
        return 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CALLS} AS SELECT ts >= $ws AND ts < $we AS in_window, * "
                f"FROM ({source})", sides)
    return con.execute(f"SELECT count(*) FROM {CALLS}").fetchone()[0]


def gap_source() -> str:
    """Rows (service, route, in_window, x) of the network gaps in front of each callee, by its route, for
    `window_signals._shift`."""
    return f"SELECT service, route, in_window, gap_ms AS x FROM {CALLS}"


def both_ends_gap_source() -> str:
    """The same gaps as each service's at both ends of its calls — the calls to it, by its route, and its calls
    out, by the service and route called: a delay in one service's own network (a pod's interface slowed) lengthens
    all of them, while the service it calls sees it only on the calls from it, and the services calling it only on
    their calls to it, each mixed with calls that did not slow."""
    return f"""SELECT service, 'in ' || route AS route, in_window, gap_ms AS x FROM {CALLS}
               UNION ALL
               SELECT caller, 'out ' || service || ' ' || route, in_window, gap_ms FROM {CALLS}"""


def edges(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """The window's call graph: (caller, callee) → calls."""
    rows = con.execute(f"SELECT caller, service, count(*) FROM {CALLS} WHERE in_window GROUP BY ALL").fetchall()
    return {(caller, callee): n for caller, callee, n in rows}


def drop_calls(con: duckdb.DuckDBPyConnection, prepared_too: bool = False) -> None:
    con.execute(f"DROP TABLE IF EXISTS {CALLS}")
    if prepared_too:
        con.execute(f"DROP TABLE IF EXISTS {PREPARED_CALLS}")
