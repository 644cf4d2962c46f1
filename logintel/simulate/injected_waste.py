"""Injected waste: structural inefficiencies that make no errors, for the efficiency analyst to find."""
from __future__ import annotations

import numpy as np

from logintel.simulate.injection import Injection
from logintel.simulate.table import EventTable
from logintel.simulate.topology import route_index

N_PLUS_ONE_ROUTE = "orders GET /orders"
N_PLUS_ONE_QUERIES = (20, 60)  # per request, inclusive
QUERY_MS = 0.9                 # median time of one per-item query


def n_plus_one(inj: Injection) -> EventTable:
    """orders GET /orders lists a user's orders, then loads each one's items with a query of its own: 20-60
    queries a request, whose round trips make the database most of the route's time."""
    t, rng = inj.table, inj.rng
    rows = inj.rows_on([route_index(N_PLUS_ONE_ROUTE)])
    queries = rng.integers(N_PLUS_ONE_QUERIES[0], N_PLUS_ONE_QUERIES[1] + 1, len(rows))
    extra = queries * rng.lognormal(np.log(QUERY_MS), 0.35, len(rows))
    t["db_queries"][rows] = queries
    t["db_ms"][rows] += extra
    t["own_ms"][rows] += extra
    # It runs all day, so an incident's rows on the route keep that incident's tag (and its label).
    t["scenario"][rows[t["scenario"][rows] < 0]] = inj.tag
    return t
