"""Latency-only faults: a service gets slower without a single error, so only a latency test can see them.

- network_delay: the network in front of inventory adds delay to every call that reaches it (a degraded
  link, a misbehaving sidecar). Inventory's own times do not change — it does not see the wire — but its
  callers wait longer: their duration and the peer latency they record (`peer.duration_ms` with
  `peer.service=inventory`) rise.
- cpu_contention: a noisy neighbour steals catalog's CPU: its own processing time stretches (its database
  time does not), so its routes slow down, and so do its callers (the gateway's home page, whose
  `peer.service=catalog` latency rises).

Both tag the rows they slow and every caller above them, so the label lists the services that felt it.
"""
from __future__ import annotations

import numpy as np

from logintel.simulate.injection import Injection
from logintel.simulate.table import EventTable

NETWORK_DELAY_SERVICE = "inventory"
NETWORK_DELAY_MS = 150.0   # added on the wire to each call at the fault's height
CPU_CONTENTION_SERVICE = "catalog"
CPU_SLOWDOWN = 6.0         # how many times longer catalog's CPU work takes at the fault's height


def _tag_with_callers(table: EventTable, rows: np.ndarray, tag: int) -> None:
    """Tag `rows` and every caller above them (a slowed call slows the request that waited for it);
    rows another scenario touched keep their tag."""
    parent = table["parent"]
    while len(rows):
        free = rows[table["scenario"][rows] < 0]
        table["scenario"][free] = tag
        rows = np.unique(parent[rows])
        rows = rows[rows >= 0]


def network_delay(inj: Injection) -> EventTable:
    """Calls into inventory wait on the wire; inventory's own events stay as they were."""
    t, rng = inj.table, inj.rng
    rows = inj.rows_of_service(NETWORK_DELAY_SERVICE)
    rows = rows[t["parent"][rows] >= 0]  # a client request's wire time is not in any event
    level = inj.window.intensity(t["ts_us"][rows], rise=0.1, fall=0.1)
    rows, level = rows[level > 0.02], level[level > 0.02]
    # A delay on the wire is steady, with a little jitter (unlike a service's own, log-normal times).
    t["net_ms"][rows] += NETWORK_DELAY_MS * level * rng.lognormal(0.0, 0.2, len(rows))
    _tag_with_callers(t, rows, inj.tag)
    return t


def cpu_contention(inj: Injection) -> EventTable:
    """Catalog's CPU work (its own time less what it waits on its database and upstreams) stretches."""
    t, rng = inj.table, inj.rng
    rows = inj.rows_of_service(CPU_CONTENTION_SERVICE)
    level = inj.window.intensity(t["ts_us"][rows], rise=0.2, fall=0.2)
    rows, level = rows[level > 0.02], level[level > 0.02]
    waiting = np.nan_to_num(t["db_ms"][rows]) + np.nan_to_num(t["upstream_ms"][rows])
    cpu = np.maximum(t["own_ms"][rows] - waiting, 0.0)
    stretch = (CPU_SLOWDOWN - 1.0) * level * rng.lognormal(0.0, 0.2, len(rows))
    t["own_ms"][rows] += cpu * stretch
    _tag_with_callers(t, rows, inj.tag)
    return t

