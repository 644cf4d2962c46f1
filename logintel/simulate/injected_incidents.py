"""The six injected incidents: each reshapes the background rows in its window (or adds rows).

Every row an incident touches is tagged with its scenario index, which is what the ground-truth
labels are built from; callers that fail because of a tagged call inherit the tag in `settle`.
"""
from __future__ import annotations

import numpy as np

from logintel.simulate.faults import fail, untouched
from logintel.simulate.injection import Injection
from logintel.simulate.population import AGENT_SCRIPTED, HOSTING_OCTETS, REGIONS
from logintel.simulate.table import EventTable
from logintel.simulate.topology import (PODS_PER_REGION, SEARCH_NODES, SERVICE_INDEX, SERVICES, route_index,
                                        routes_on_db, search_node)

NEW_CATALOG_VERSION = "2.5.0"
PG_TIMEOUT_MS = 8000.0


def db_bottleneck(inj: Injection) -> EventTable:
    """orders-db runs out of primary connections: every service on it slows, then fails its own way."""
    t, rng = inj.table, inj.rng
    rows = inj.rows_on(routes_on_db("orders-db"))
    level = inj.window.intensity(t["ts_us"][rows], rise=0.2, fall=0.2)
    rows, level = rows[level > 0.02], level[level > 0.02]
    # Requests queue for a connection, so the time spent "in the database" balloons first.
    slowdown = 12.0 * level * rng.lognormal(0.0, 0.5, len(rows))
    extra = t["db_ms"][rows] * slowdown
    t["db_ms"][rows] += extra
    t["own_ms"][rows] += extra
    t["scenario"][rows] = inj.tag

    service = inj.service_of(rows)
    for name, kind, peak in (("orders", "db_pool_exhausted", 0.75),
                             ("inventory", "db_statement_timeout", 0.45),
                             ("payments", "db_connection_reset", 0.35)):
        mine = service == SERVICE_INDEX[name]
        candidates, chance = rows[mine], peak * level[mine]
        hit = rng.random(len(candidates)) < chance
        fail(t, untouched(t, candidates[hit]), kind, rng, inj.tag)
    return t


def payment_provider_latency(inj: Injection) -> EventTable:
    """pg-provider slows down sharply; charges and refunds that wait past 8 s time out."""
    t, rng = inj.table, inj.rng
    charge, refund = route_index("payments POST /payments/charge"), route_index("payments POST /payments/refunds")
    rows = inj.rows_on([charge, refund])
    level = inj.window.intensity(t["ts_us"][rows], rise=0.2, fall=0.25)
    rows, level = rows[level > 0.02], level[level > 0.02]
    before = t["upstream_ms"][rows]
    after = before * (1.0 + 28.0 * level) * rng.lognormal(0.0, 0.45, len(rows))
    waited = np.minimum(after, PG_TIMEOUT_MS)
    t["own_ms"][rows] += waited - before
    t["upstream_ms"][rows] = waited
    t["scenario"][rows] = inj.tag

    timed_out = untouched(t, rows[after >= PG_TIMEOUT_MS])
    on_charge = t["route"][timed_out] == charge
    fail(t, timed_out[on_charge], "pg_charge_timeout", rng, inj.tag)
    fail(t, timed_out[~on_charge], "pg_refund_timeout", rng, inj.tag)
    return t


def credential_stuffing(inj: Injection) -> EventTable:
    """A scripted client tries leaked passwords for many accounts from a few hosting-provider IPs."""
    rng, window, population = inj.rng, inj.window, inj.population
    minutes = max(1, int(np.ceil((window.end_us - window.start_us) / 60e6)))
    minute_mid = window.start_us + (np.arange(minutes) + 0.5) * 60e6
    counts = rng.poisson(75.0 * window.intensity(minute_mid.astype(np.int64), rise=0.08, fall=0.1))
    n = int(counts.sum())
    ts = np.repeat(window.start_us + np.arange(minutes, dtype=np.int64) * 60_000_000, counts)
    ts = np.minimum(ts + rng.integers(0, 60_000_000, n), window.end_us - 1)

    block = (int(rng.choice(HOSTING_OCTETS)) << 24) | (int(rng.integers(0, 1 << 16)) << 8)
    hosts = rng.choice(np.arange(2, 254), 6, replace=False)
    ips = (block | hosts).astype(np.uint32)
    # A combo list: mostly distinct accounts, dormant ones included.
    accounts = rng.choice(len(population.user_ids), n, replace=n > len(population.user_ids))
    region = REGIONS.index("eu-west-1")
    login = route_index("auth POST /login")
    rows = EventTable.new(
        n, ts_us=ts, route=login, user=accounts.astype(np.int32),
        ip=ips[rng.choice(len(ips), n, p=[0.3, 0.25, 0.15, 0.12, 0.1, 0.08])], agent=AGENT_SCRIPTED,
        region=region, version=SERVICES[SERVICE_INDEX["auth"]].version, scenario=inj.tag)
    rows.stamp_ids(rng)
    rows["host"][:] = region * PODS_PER_REGION + rng.integers(0, PODS_PER_REGION, n)
    own = rng.lognormal(np.log(180.0), 0.25, n)
    rows["own_ms"][:] = own
    rows["db_ms"][:] = own * 0.15 * rng.uniform(0.7, 1.0, n)

    # A few stolen passwords work; once the per-IP limiter notices, some attempts are throttled.
    throttled = (window.progress(ts) > 0.4) & (rng.random(n) < 0.3)
    succeeded = ~throttled & (rng.random(n) < 0.006)
    fail(rows, np.flatnonzero(throttled), "login_throttled", rng, inj.tag)
    fail(rows, np.flatnonzero(~throttled & ~succeeded), "bad_credentials", rng, inj.tag)
    return EventTable.concat([inj.table, rows])


def slow_degradation(inj: Injection) -> EventTable:
    """A memory leak in search: the heap creeps up for hours and GC pauses stretch GET /search's tail."""
    t, rng = inj.table, inj.rng
    search = inj.rows_of_service("search")
    leaked = 1150.0 * inj.window.progress(t["ts_us"][search])
    t["heap_mb"][search] = np.round(t["heap_mb"][search] + leaked, 1)

    rows = inj.rows_on([route_index("search GET /search")])
    progress = inj.window.progress(t["ts_us"][rows])
    # Enough requests pause from the start that the p99 tracks the pauses, so it creeps for hours (as a
    # leak's does) instead of jumping when the paused share first passes 1%.
    paused = rng.random(len(rows)) < 0.015 + 0.03 * progress
    rows, progress = rows[paused], progress[paused]
    pause = rng.lognormal(np.log(150.0 + 900.0 * progress), 0.35)
    t["own_ms"][rows] += pause
    t["gc_pause_ms"][rows] = np.round(pause, 1)
    t["scenario"][rows] = inj.tag
    return t


def deploy_regression(inj: Injection) -> EventTable:
    """catalog 2.5.0 rolls out pod by pod, breaks product pricing, and is rolled back to 2.4.1."""
    t, rng, window = inj.table, inj.rng, inj.window
    rows = inj.rows_of_service("catalog")
    pods = len(REGIONS) * PODS_PER_REGION
    step_us = min(20_000_000, (window.end_us - window.start_us) // (4 * pods))
    pod = t["host"][rows].astype(np.int64)
    upgraded = (t["ts_us"][rows] >= window.start_us + pod * step_us) & (
        t["ts_us"][rows] < window.end_us - (pods - 1 - pod) * step_us)
    rows = rows[upgraded]
    t["version"][rows] = NEW_CATALOG_VERSION
    t["scenario"][rows] = inj.tag

    route = t["route"][rows]
    for key, kind, chance in (("catalog GET /products/{id}", "catalog_pricing_bug", 0.3),
                              ("catalog GET /categories/{slug}/products", "catalog_listing_bug", 0.2),
                              ("catalog GET /catalog/featured", "catalog_pricing_bug", 0.08)):
        on_route = rows[route == route_index(key)]
        fail(t, untouched(t, on_route[rng.random(len(on_route)) < chance]), kind, rng, inj.tag)
    return t


def search_index_outage(inj: Injection) -> EventTable:
    """opensearch-data-2 loses its shard copies: searches it serves fail at once, in the same minutes as
    (but unrelated to) the database bottleneck, which is what makes it a test of one incident per cause."""
    t, rng = inj.table, inj.rng
    rows = inj.rows_on([route_index("search GET /search"), route_index("search GET /search/suggest")])
    rows = rows[search_node(t["request_bits"][rows]) == SEARCH_NODES.index("opensearch-data-2")]
    level = inj.window.intensity(t["ts_us"][rows], rise=0.1, fall=0.1)
    rows, level = rows[level > 0.02], level[level > 0.02]
    t["scenario"][rows] = inj.tag
    hit = rng.random(len(rows)) < 0.9 * level
    fail(t, untouched(t, rows[hit]), "search_shards_unavailable", rng, inj.tag)
    return t
