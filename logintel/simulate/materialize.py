"""Turn the settled workload table into WideEvents in time order, with deterministic ids.

event_id is a UUIDv7 built from the event time and per-row random bits drawn from the seed, so
ids sort by time and the same seed gives the same ids.
"""
from __future__ import annotations

import gc
from datetime import datetime, timedelta, timezone

import numpy as np

from logintel.events import WideEvent
from logintel.simulate.errors import KINDS
from logintel.simulate.population import AGENTS, REGIONS, Population, ipv4
from logintel.simulate.table import EventTable
from logintel.simulate.topology import (DB_INSTANCES, PODS_PER_REGION, ROUTE_COLUMNS, ROUTES, SEARCH_NODES, SERVICES,
                                        pod_names, route_index, search_node)
from logintel.simulate.traffic import typical_db_queries

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HEALTH = route_index("gateway GET /health")
_LEVEL_BY_CLASS = {1: "info", 2: "info", 3: "info", 4: "warn", 5: "error"}


def hex_ids(*words: np.ndarray) -> list[str]:
    """Each row's 64-bit words as one lowercase hex string (16 characters per word)."""
    width = 16 * len(words)
    big_endian = np.empty((len(words[0]), len(words)), dtype=">u8")
    for j, word in enumerate(words):
        big_endian[:, j] = word
    text = big_endian.tobytes().hex()
    return [text[i:i + width] for i in range(0, len(text), width)]


def uuid7_ids(ts_us: np.ndarray, bits: np.ndarray) -> list[str]:
    """UUIDv7 strings: 48-bit millisecond time, version 7, variant 10, the rest from `bits`."""
    ms = (ts_us // 1000).astype(np.uint64)
    high = (ms << np.uint64(16)) | np.uint64(0x7000) | (bits >> np.uint64(52))
    low = np.uint64(1 << 63) | (bits & np.uint64((1 << 62) - 1))
    digits = np.frombuffer("".join(hex_ids(high, low)).encode("ascii"), dtype=np.uint8).reshape(-1, 32)
    dashed = np.full((len(digits), 36), ord("-"), dtype=np.uint8)
    for source, target in ((slice(0, 8), slice(0, 8)), (slice(8, 12), slice(9, 13)), (slice(12, 16), slice(14, 18)),
                           (slice(16, 20), slice(19, 23)), (slice(20, 32), slice(24, 36))):
        dashed[:, target] = digits[:, source]
    text = dashed.tobytes().decode("ascii")
    return [text[i:i + 36] for i in range(0, len(text), 36)]


def _nan_to_none(values: np.ndarray, decimals: int) -> list:
    rounded = np.round(values, decimals).astype(object)
    rounded[np.isnan(values)] = None
    return rounded.tolist()


def event_rows(table: EventTable) -> np.ndarray:
    """The rows that became events, in the events' order (by start time, ties in row order)."""
    alive = np.flatnonzero(table["alive"])
    return alive[np.argsort(table["ts_us"][alive], kind="stable")]


def query_counts(table: EventTable, rows: np.ndarray) -> np.ndarray:
    """The database queries of each of `rows` (NaN: it uses no database). Every database request reports its
    queries; rows no scenario set (injected ones too) get the typical count."""
    queries = table["db_queries"][rows].copy()
    typical = np.isnan(queries) & ~np.isnan(table["db_ms"][rows])
    queries[typical] = typical_db_queries(table["request_bits"][rows][typical])
    return queries


def slowest_calls(table: EventTable) -> np.ndarray:
    """Per row, the row of the slowest call it made that ran (-1: none): the peer on its critical path."""
    children = np.flatnonzero(table["alive"] & (table["parent"] >= 0))
    # As the caller sees them: a network fault's delay makes a call slower from its side.
    observed = table["duration_ms"][children] + table["net_ms"][children]
    children = children[np.lexsort((observed, table["parent"][children]))]
    parents = table["parent"][children]
    last = np.r_[parents[1:] != parents[:-1], True] if len(parents) else np.zeros(0, dtype=bool)
    slowest = np.full(len(table), -1, dtype=np.int64)
    slowest[parents[last]] = children[last]
    return slowest


def materialize(table: EventTable, population: Population) -> tuple[list[WideEvent], list[int], list[int]]:
    """The alive rows as WideEvents sorted by timestamp, with per event the scenario that touched it
    and the scenario that made it fail (-1: none)."""
    rows = event_rows(table)
    ts_us = table["ts_us"][rows]
    route = table["route"][rows]
    kind = table["kind"][rows]
    status = np.where(kind >= 0, table["status"][rows], ROUTE_COLUMNS.status[route])
    parents = table["parent"][rows]
    has_parent = parents >= 0
    caller_route = np.where(has_parent, table["route"][np.maximum(parents, 0)], -1)
    caller_service = [ROUTES[r].service if r >= 0 else None for r in caller_route.tolist()]
    caller_request = hex_ids(table["request_bits"][np.maximum(parents, 0)])

    event_ids = uuid7_ids(ts_us, table["event_bits"][rows])
    trace_ids = hex_ids(table["trace_hi"][rows], table["trace_lo"][rows])
    request_ids = hex_ids(table["request_bits"][rows])
    db_ms = _nan_to_none(table["db_ms"][rows], 3)
    db_queries = np.nan_to_num(query_counts(table, rows), nan=-1).astype(np.int64).tolist()
    upstream_ms = _nan_to_none(table["upstream_ms"][rows], 3)
    heap_mb = _nan_to_none(table["heap_mb"][rows], 1)
    gc_pause = _nan_to_none(table["gc_pause_ms"][rows], 1)
    durations = np.round(table["duration_ms"][rows], 3).tolist()
    # What a caller's wide event says about its slowest call: which service, and how long it took.
    peer_rows = slowest_calls(table)[rows]
    peer_service = [ROUTES[r].service if p >= 0 else None
                    for p, r in zip(peer_rows.tolist(), table["route"][np.maximum(peer_rows, 0)].tolist())]
    # The caller times the call from its side: a network fault's delay on the wire is in it.
    peer = np.maximum(peer_rows, 0)
    peer_ms = np.round(table["duration_ms"][peer] + table["net_ms"][peer], 3).tolist()
    nodes = search_node(table["request_bits"][rows]).tolist()

    pods = {s.name: pod_names(s.name, len(REGIONS) * PODS_PER_REGION) for s in SERVICES}
    route_db = [DB_INSTANCES.get(r.db) if r.db else None for r in ROUTES]
    ips = table["ip"][rows]
    ip_text = {int(ip): ipv4(int(ip)) for ip in np.unique(ips) if ip}
    user_ids = population.user_ids

    events = []
    was_enabled = gc.isenabled()
    # Hundreds of thousands of new containers would trigger repeated full collections that find
    # nothing to free (events hold no cycles); pausing the collector halves the run time.
    gc.disable()
    try:
        for i, (r, k, st, ts, user, ip, agent, region, host, version, detail, parent_service) in enumerate(zip(
                route.tolist(), kind.tolist(), status.tolist(), ts_us.tolist(), table["user"][rows].tolist(),
                ips.tolist(), table["agent"][rows].tolist(), table["region"][rows].tolist(),
                table["host"][rows].tolist(), table["version"][rows].tolist(), table["detail"][rows].tolist(),
                caller_service)):
            spec = ROUTES[r]
            attributes = {"region": REGIONS[region], "version": version, "host": pods[spec.service][host]}
            if db_ms[i] is not None:
                attributes["db.system"] = "postgresql"
                attributes["db.instance"] = route_db[r]
                attributes["db.duration_ms"] = db_ms[i]
                if db_queries[i] >= 0:
                    attributes["db.query_count"] = db_queries[i]
            if spec.upstream:
                attributes["upstream"] = spec.upstream
                if upstream_ms[i] is not None:
                    attributes["upstream.duration_ms"] = upstream_ms[i]
                if spec.upstream == "opensearch":
                    attributes["server.address"] = SEARCH_NODES[nodes[i]]
            if peer_service[i] is not None:
                attributes["peer.service"] = peer_service[i]
                attributes["peer.duration_ms"] = peer_ms[i]
            if parent_service is not None:
                attributes["caller"] = parent_service
                attributes["parent_request_id"] = caller_request[i]
            if heap_mb[i] is not None:
                attributes["runtime.heap_used_mb"] = heap_mb[i]
            if gc_pause[i] is not None:
                attributes["runtime.gc_pause_ms"] = gc_pause[i]
            error = KINDS[k] if k >= 0 else None
            events.append(WideEvent(
                event_id=event_ids[i],
                timestamp=_EPOCH + timedelta(microseconds=ts),
                service=spec.service, route=spec.path, method=spec.method, status=st,
                duration_ms=durations[i],
                level="debug" if r == _HEALTH and st < 400 else _LEVEL_BY_CLASS[st // 100],
                error_code=error.code if error else None,
                error_type=error.type if error else None,
                error_message=error.message(detail) if error else None,
                trace_id=trace_ids[i], request_id=request_ids[i],
                user_id=user_ids[user] if user >= 0 else None,
                client_ip=ip_text[ip] if ip else None,
                user_agent=AGENTS[agent] if agent >= 0 else None,
                sample_rate=1,
                attributes=attributes,
            ))
    finally:
        if was_enabled:
            gc.enable()
    return events, table["scenario"][rows].tolist(), table["failed_by"][rows].tolist()
