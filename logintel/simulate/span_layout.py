"""Where each span of a simulated request sits in time, on the timeline `calltree.settle` gave it.

A request's own time (`own_ms`) is split around its calls to other services: `BEFORE_CALLS` of it before the
first call, the rest after the last. Its database queries and its call to an external upstream (the waits)
sit inside that own time, after the service calls when they fit there, so its self time is what is left:
own time less the waits (CPU contention stretches it). A call to another service begins `wire_ms` before the
callee starts (a network fault's delay is in it) and ends when the callee ends.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logintel.simulate.calltree import BEFORE_CALLS, wire_ms
from logintel.simulate.materialize import query_counts
from logintel.simulate.table import EventTable

NS_PER_MS = 1_000_000
# Below this (in ms) a request's duration past its own time is rounding, not a call: a call's wire alone is 0.3 ms.
_NO_CALLS_MS = 0.1


@dataclass(frozen=True)
class Waits:
    """The database queries and upstream calls of the events, one entry per span, by event and start."""
    event: np.ndarray     # index into the events
    upstream: np.ndarray  # the call to the route's external upstream (else a database query)
    last: np.ndarray      # its event's last query, or the upstream call: where a timeout was spent
    start_ns: np.ndarray
    end_ns: np.ndarray


@dataclass(frozen=True)
class SpanLayout:
    """Per event (in the events' order) its SERVER span, its caller and its CLIENT span there; and the waits."""
    rows: np.ndarray           # each event's workload row
    start_ns: np.ndarray
    end_ns: np.ndarray
    caller: np.ndarray         # the event that called it (-1: a client's request)
    call_start_ns: np.ndarray  # when the caller's CLIENT span for it began (it ends with the callee)
    waits: Waits


def lay_out(table: EventTable, rows: np.ndarray) -> SpanLayout:
    """The spans of the events made from `rows` (`materialize.event_rows`)."""
    start_ns = table["ts_us"][rows] * 1000
    duration = np.round(table["duration_ms"][rows], 3)  # as the events report it
    end_ns = start_ns + _ns(duration)
    event_of_row = np.full(len(table), -1, dtype=np.int64)
    event_of_row[rows] = np.arange(len(rows))
    parent = table["parent"][rows]
    return SpanLayout(rows=rows, start_ns=start_ns, end_ns=end_ns,
                      caller=np.where(parent >= 0, event_of_row[np.maximum(parent, 0)], -1),
                      call_start_ns=start_ns - _ns(wire_ms(table)[rows]),
                      waits=_waits(table, rows, start_ns, end_ns, duration))


def _waits(table: EventTable, rows: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray,
           duration: np.ndarray) -> Waits:
    own = table["own_ms"][rows]
    # Waits are part of own time. Where a failure's wait left no room for the rest (a request that timed out
    # on its connection pool still reports its upstream's time), the database keeps its time, as its event says.
    db = np.minimum(np.nan_to_num(table["db_ms"][rows]), own)
    upstream = np.minimum(np.nan_to_num(table["upstream_ms"][rows]), own - db)
    waiting = db + upstream
    calls = np.maximum(duration - own, 0.0)
    has_calls = calls > _NO_CALLS_MS
    before = BEFORE_CALLS * own
    # Centred in the own time after the calls when they fit there, else in the whole own time (a wait then
    # overlapping the calls runs beside them, as an asynchronous query would).
    first = np.where(has_calls & (waiting <= own - before), before + (own - before - waiting) / 2,
                     (own - waiting) / 2)

    queries = np.where(db > 0, np.maximum(np.nan_to_num(query_counts(table, rows)), 1), 0).astype(np.int64)
    query_event = np.repeat(np.arange(len(rows)), queries)
    number = np.arange(len(query_event)) - np.repeat(np.cumsum(queries) - queries, queries)
    query_ms = db[query_event] / queries[query_event]
    upstream_event = np.flatnonzero(upstream > 0)

    event = np.concatenate([query_event, upstream_event])
    at = np.concatenate([first[query_event] + number * query_ms, first[upstream_event] + db[upstream_event]])
    length = np.concatenate([query_ms, upstream[upstream_event]])
    # Own time from the first call on is later by the calls' time.
    at = at + np.where(has_calls[event] & (at >= before[event]), calls[event], 0.0)
    wait_start = np.minimum(start_ns[event] + _ns(at), end_ns[event])
    wait_end = np.minimum(wait_start + _ns(length), end_ns[event])
    is_upstream = np.r_[np.zeros(len(query_event), dtype=bool), np.ones(len(upstream_event), dtype=bool)]
    last = np.r_[number == queries[query_event] - 1, np.ones(len(upstream_event), dtype=bool)]
    order = np.lexsort((wait_start, event))
    return Waits(event=event[order], upstream=is_upstream[order], last=last[order], start_ns=wait_start[order],
                 end_ns=wait_end[order])


def _ns(ms: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(ms) * NS_PER_MS).astype(np.int64)
