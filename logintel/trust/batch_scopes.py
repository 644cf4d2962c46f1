"""Many grounding scopes as the tables that batched grounding joins raw_events with: one row per (scope,
service, route) it reads, and the stretches of time its field=value facts read (failing or baseline).

A scope reads the routes of `services × routes` (every service or route the warehouse holds around it where it
names none) and, in its `hit` set, the error codes it names (every code when it names none)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import duckdb
import pyarrow as pa

from logintel.store.schema import has_table
from logintel.trust.agreement import WINDOW_SLACK
from logintel.trust.scope import GroundingScope

_TS = pa.timestamp("us")


def code_match(table: str, column: str) -> str:
    """SQL: `column` is one of the codes of `table`'s scope (a NULL code is none of them)."""
    return f"({table}.all_codes OR coalesce(list_contains({table}.codes, {column}), false))"


def read_units(con: duckdb.DuckDBPyConnection, scopes: list[GroundingScope]) -> list[tuple[int, str, str]]:
    """(scope index, service, route) of every route each scope reads; a row's position is its unit id. A scope
    that names no service or no route means every one: it reads the pairs the warehouse holds over the ranges it
    is grounded on (its previous period, its baselines, the windows that overlap it) among those it names."""
    units = [(key, service, route) for key, scope in enumerate(scopes) if scope.services and scope.routes
             for service in scope.services for route in scope.routes]
    every = [key for key, scope in enumerate(scopes) if not (scope.services and scope.routes)]
    if every:
        pairs = _pairs(con, min(_reach(scopes[k])[0] for k in every), max(_reach(scopes[k])[1] for k in every))
        for key in every:
            scope = scopes[key]
            units += [(key, service, route) for service, route in pairs
                      if service in (scope.services or (service,)) and route in (scope.routes or (route,))]
    return units


def _reach(scope: GroundingScope) -> tuple[datetime, datetime]:
    """From the earliest to the latest instant a scope's facts read."""
    bounds = [t for window in scope.baseline_windows for t in window]
    return (min([scope.previous_start, scope.start - WINDOW_SLACK] + bounds),
            max([scope.end + WINDOW_SLACK] + bounds))


def _pairs(con: duckdb.DuckDBPyConnection, since: datetime, until: datetime) -> list[tuple[str, str]]:
    """Every (service, route) with events or 5-minute windows in [since, until), in order."""
    queries = ["SELECT DISTINCT service, route FROM raw_events WHERE ts >= $since AND ts < $until"]
    if has_table(con, "windowed_aggregates"):
        queries.append("SELECT DISTINCT service, route FROM windowed_aggregates "
                       "WHERE window_end > $since AND window_start < $until")
    return con.execute(" UNION ".join(queries) + " ORDER BY ALL", {"since": since, "until": until}).fetchall()


def units_table(scopes: list[GroundingScope], units: list[tuple[int, str, str]]) -> pa.Table:
    """(uid, key, service, route, prev, f_start, f_end, all_codes, codes), a row per unit (`read_units`)."""
    rows: dict[str, list] = {n: [] for n in ("key", "service", "route", "prev", "f_start", "f_end", "all_codes",
                                             "codes")}
    for key, service, route in units:
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


def pieces_table(scopes: list[GroundingScope], units: list[tuple[int, str, str]]) -> pa.Table:
    """(key, service, route, ps, pe, in_failing, in_baseline, all_codes, codes) for each of `units`, the
    (scope index, service, route) of the scopes' routes."""
    rows: dict[str, list] = {n: [] for n in ("key", "service", "route", "ps", "pe", "in_failing", "in_baseline",
                                             "all_codes", "codes")}
    cuts: dict[int, list] = {}
    for key, service, route in units:
        scope = scopes[key]
        for ps, pe, failing, baseline in cuts.setdefault(key, pieces(scope)):
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
