"""How one client request fans out into calls between services, and how failures travel back up.

`expand_calls` adds a row per downstream call (same trace, user and client IP); `settle` then
decides which calls really ran, which callers failed because a callee did, and the final
durations and start times (a caller's duration covers its calls, made one after another).
"""
from __future__ import annotations

import numpy as np

from logintel.simulate.errors import KIND_EARLY, KIND_STATUS, KIND_SURFACES
from logintel.simulate.population import AGENT_FIRST_SERVICE
from logintel.simulate.table import EventTable
from logintel.simulate.topology import CALLS, PODS_PER_REGION, ROUTE_COLUMNS

# Share of a caller's own time spent before its first call (parsing, auth, reading state).
BEFORE_CALLS = 0.3
_NO_CUT = np.iinfo(np.int16).max


def expand_calls(table: EventTable, rng: np.random.Generator) -> EventTable:
    frontier = np.arange(len(table))
    while len(frontier):
        children = []
        for c, call in enumerate(CALLS):
            rows = frontier[table["route"][frontier] == ROUTE_COLUMNS.call_caller[c]]
            rows = rows[rng.random(len(rows)) < call.probability]
            if not len(rows):
                continue
            caller_service = ROUTE_COLUMNS.service[ROUTE_COLUMNS.call_caller[c]]
            child = EventTable.new(
                len(rows), ts_us=table["ts_us"][rows], route=ROUTE_COLUMNS.call_callee[c], parent=rows, call=c,
                depth=table["depth"][rows] + 1, user=table["user"][rows], ip=table["ip"][rows],
                region=table["region"][rows], trace_hi=table["trace_hi"][rows], trace_lo=table["trace_lo"][rows],
                agent=AGENT_FIRST_SERVICE + caller_service)
            child.stamp_ids(rng, traces=False)
            child["host"][:] = child["region"] * PODS_PER_REGION + rng.integers(0, PODS_PER_REGION, len(rows))
            children.append(child)
        if not children:
            break
        first_new = len(table)
        table = EventTable.concat([table, *children])
        frontier = np.arange(first_new, len(table))
    return table


def wire_ms(table: EventTable) -> np.ndarray:
    """Each call's time on the network before the callee starts, derived from the request id so it needs no
    extra draws; a network fault adds its delay (net_ms) to the calls it slows."""
    return 0.3 + (table["request_bits"] % np.uint64(1200)).astype(np.float64) / 1000.0 + table["net_ms"]


def settle(table: EventTable) -> None:
    """Resolve who ran and who failed, then durations and start times, in place."""
    depth, parent, call = table["depth"], table["parent"], table["call"]
    alive, kind, status = table["alive"], table["kind"], table["status"]
    levels = [np.flatnonzero(depth == d) for d in range(int(depth.max(initial=0)) + 1)]

    # A request that failed early never made its calls.
    failed_early = (kind >= 0) & KIND_EARLY[np.maximum(kind, 0)]
    for rows in levels[1:]:
        alive[rows] &= alive[parent[rows]] & ~failed_early[parent[rows]]

    # Deepest first, so a failure can climb several levels: callee -> caller -> gateway.
    cut_after = np.full(len(table), _NO_CUT, dtype=np.int16)
    for rows in reversed(levels[1:]):
        rows = rows[alive[rows] & (kind[rows] >= 0)]
        if not len(rows):
            continue
        own_kind, edge = kind[rows], call[rows]
        target = np.where(KIND_SURFACES[own_kind] >= 0, KIND_SURFACES[own_kind],
                          np.where(status[rows] >= 500, ROUTE_COLUMNS.call_on_failure[edge],
                                   np.where(ROUTE_COLUMNS.call_mirrors[edge], own_kind, -1)))
        keep = target >= 0
        rows, target, edge = rows[keep], target[keep], edge[keep]
        # The caller sees the first of its calls that failed.
        order = np.lexsort((edge, parent[rows]))
        rows, target, edge = rows[order], target[order], edge[order]
        _, first = np.unique(parent[rows], return_index=True)
        rows, target, edge = rows[first], target[first], edge[first]
        callers = parent[rows]
        free = kind[callers] == -1
        rows, target, edge, callers = rows[free], target[free], edge[free], callers[free]
        kind[callers] = target
        status[callers] = KIND_STATUS[target]
        cut_after[callers] = edge
        caused = table["failed_by"][rows] >= 0
        table["failed_by"][callers[caused]] = table["failed_by"][rows[caused]]
        table["scenario"][callers[caused]] = table["failed_by"][rows[caused]]

    # Calls after the failing one were never made.
    for rows in levels[1:]:
        alive[rows] &= alive[parent[rows]] & (call[rows] <= cut_after[parent[rows]])

    gap_ms = wire_ms(table)
    duration = np.where(alive, table["own_ms"], 0.0)
    for rows in reversed(levels[1:]):
        rows = rows[alive[rows]]
        duration += np.bincount(parent[rows], weights=duration[rows] + gap_ms[rows], minlength=len(table))
    table["duration_ms"][:] = np.round(duration, 3)

    ts = table["ts_us"]
    cursor_us = table["own_ms"] * BEFORE_CALLS * 1000.0
    for rows in levels[1:]:
        rows = rows[alive[rows]]
        for edge in np.unique(call[rows]):
            # One call edge reaches each caller at most once, so this fancy indexing has no repeats.
            these = rows[call[rows] == edge]
            callers = parent[these]
            ts[these] = ts[callers] + (cursor_us[callers] + gap_ms[these] * 1000.0).astype(np.int64)
            cursor_us[callers] += (duration[these] + gap_ms[these]) * 1000.0
