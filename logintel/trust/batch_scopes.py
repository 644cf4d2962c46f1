"""Many grounding scopes as the tables that batched grounding joins raw_events with: one row per (scope,
service, route) it reads, and the stretches of time its field=value facts read (failing or baseline).

A scope reads the routes of `services × routes` (as `list_contains(services) AND list_contains(routes)`
does) and, in its `hit` set, the error codes it names (every code when it names none)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import duckdb
import pyarrow as pa

from logintel.trust.scope import GroundingScope

_TS = pa.timestamp("us")


def batchable(scope: GroundingScope) -> bool:
    """A scope with no services or no routes means every one: such a text is grounded on its own."""
    return bool(scope.services and scope.routes)


def code_match(table: str, column: str) -> str:
    """SQL: `column` is one of the codes of `table`'s scope (a NULL code is none of them)."""
    return f"({table}.all_codes OR coalesce(list_contains({table}.codes, {column}), false))"


def units(scopes: list[GroundingScope]) -> list[tuple[int, str, str]]:
    """(scope index, service, route) of every route each scope reads; a row's position is its unit id."""
    return [(key, service, route) for key, scope in enumerate(scopes)
            for service in scope.services for route in scope.routes]


def units_table(scopes: list[GroundingScope]) -> pa.Table:
    """(uid, key, service, route, prev, f_start, f_end, all_codes, codes), a row per `units(scopes)`."""
    rows: dict[str, list] = {n: [] for n in ("key", "service", "route", "prev", "f_start", "f_end", "all_codes",
                                             "codes")}
    for key, service, route in units(scopes):
        scope = scopes[key]
        for name, value in zip(rows, (key, service, route, scope.previous_start, scope.start, scope.end,
                                      not scope.error_codes, list(scope.error_codes))):
            rows[name].append(value)
    return pa.table({"uid": pa.array(range(len(rows["key"])), pa.int64()),
                     "key": pa.array(rows["key"], pa.int64()), "service": pa.array(rows["service"], pa.string()),
                     "route": pa.array(rows["route"], pa.string()), "prev": pa.array(rows["prev"], _TS),
                     "f_start": pa.array(rows["f_start"], _TS), "f_end": pa.array(rows["f_end"], _TS),
                     "all_codes": pa.array(rows["all_codes"], pa.bool_()),
                     "codes": pa.array(rows["codes"], pa.list_(pa.string()))})


def scopes_table(scopes: list[GroundingScope]) -> pa.Table:
    """(key, f_start, f_end): each scope's time range."""
    return pa.table({"key": pa.array(range(len(scopes)), pa.int64()),
                     "f_start": pa.array([s.start for s in scopes], _TS),
                     "f_end": pa.array([s.end for s in scopes], _TS)})


def pieces(scope: GroundingScope) -> list[tuple[datetime, datetime, bool, bool]]:
    """The scope's failing range and baseline windows cut at every bound into disjoint pieces, each
    (start, end, inside the failing range, inside a baseline window): an event lies in at most one, so
    an event in both a baseline and the failing range (or in two baselines) is still counted once."""
    windows = scope.baseline_windows
    bounds = sorted({scope.start, scope.end} | {t for w in windows for t in w})
    out: list[tuple[datetime, datetime, bool, bool]] = []
    for a, b in zip(bounds, bounds[1:]):
        failing = scope.start <= a and b <= scope.end
        baseline = any(ws <= a and b <= we for ws, we in windows)
        if not (failing or baseline):
            continue
        if out and out[-1][1] == a and out[-1][2:] == (failing, baseline):
            out[-1] = (out[-1][0], b, failing, baseline)
        else:
            out.append((a, b, failing, baseline))
    return out


def pieces_table(keyed: list[tuple[int, GroundingScope]]) -> pa.Table:
    """(key, service, route, ps, pe, in_failing, in_baseline, all_codes, codes) for each scope's routes."""
    rows: dict[str, list] = {n: [] for n in ("key", "service", "route", "ps", "pe", "in_failing", "in_baseline",
                                             "all_codes", "codes")}
    for key, scope in keyed:
        cut = pieces(scope)
        for service in scope.services:
            for route in scope.routes:
                for ps, pe, failing, baseline in cut:
                    for name, value in zip(rows, (key, service, route, ps, pe, failing, baseline,
                                                  not scope.error_codes, list(scope.error_codes))):
                        rows[name].append(value)
    return pa.table({"key": pa.array(rows["key"], pa.int64()), "service": pa.array(rows["service"], pa.string()),
                     "route": pa.array(rows["route"], pa.string()), "ps": pa.array(rows["ps"], _TS),
                     "pe": pa.array(rows["pe"], _TS), "in_failing": pa.array(rows["in_failing"], pa.bool_()),
                     "in_baseline": pa.array(rows["in_baseline"], pa.bool_()),
                     "all_codes": pa.array(rows["all_codes"], pa.bool_()),
                     "codes": pa.array(rows["codes"], pa.list_(pa.string()))})


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, **tables: pa.Table) -> Iterator[None]:
    """`tables` visible to `con` by name for the block."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)
