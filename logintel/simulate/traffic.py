"""Client traffic: a diurnal arrival curve with noise, who sends each request, and how long it takes.

The curve follows UTC clock time (quiet around 02:00, busiest around 14:00) whatever the start.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from logintel.simulate.population import AGENT_FIRST_SERVICE, AGENT_HEALTH, AGENT_WEBHOOK, Population
from logintel.simulate.table import EventTable
from logintel.simulate.topology import PODS_PER_REGION, ROUTE_COLUMNS, ROUTES, SERVICES, route_index

MINUTE_US = 60_000_000
HEALTH_SHARE = 0.03  # of the mean event rate; load balancers probe at a constant pace
ANONYMOUS_SHARE = 0.45  # of browsing requests
TIMEOUT_CAP_MS = 30_000.0  # the gateway gives up on anything slower
_JVM_SERVICES = ("orders", "search")
MAX_TYPICAL_DB_QUERIES = 4


def diurnal_factor(hour_of_day: np.ndarray) -> np.ndarray:
    """Load relative to the daily mean: about 0.4 at 02:00 UTC, 1.6 at 14:00, averaging 1."""
    angle = 2 * np.pi * (hour_of_day - 14.0) / 24.0
    lunch = 2 * np.pi * (hour_of_day - 11.0) / 12.0
    return 1.0 + 0.6 * np.cos(angle) + 0.1 * np.cos(lunch)


def load_per_minute(start: datetime, minutes: int, rng: np.random.Generator) -> np.ndarray:
    """Diurnal factor per minute times slow multiplicative noise (an AR(1) walk in log space)."""
    start_s = start.timestamp()
    clock = ((start_s + 60.0 * (np.arange(minutes) + 0.5)) % 86400.0) / 3600.0
    shocks = rng.normal(0.0, 0.04, minutes)
    walk = np.empty(minutes)
    level = rng.normal(0.0, 0.09)
    for m in range(minutes):
        level = 0.9 * level + shocks[m]
        walk[m] = level
    stationary_var = 0.04 ** 2 / (1 - 0.9 ** 2)
    return diurnal_factor(clock) * np.exp(walk - stationary_var / 2)


def client_requests(start: datetime, hours: int, requests_per_minute: float,
                    population: Population, rng: np.random.Generator) -> tuple[EventTable, np.ndarray]:
    """Client-initiated requests (not yet the calls they fan out to); also returns the load curve."""
    minutes = hours * 60
    start_us = int(round(start.timestamp() * 1_000_000))
    load = load_per_minute(start, minutes, rng)

    weights = ROUTE_COLUMNS.weight / ROUTE_COLUMNS.weight.sum()
    per_request = float(weights @ ROUTE_COLUMNS.events_per_request())
    # The rate counts events, and one client request produces `per_request` of them.
    request_rate = requests_per_minute * (1 - HEALTH_SHARE) / per_request
    counts = rng.poisson(request_rate * load)
    n = int(counts.sum())
    minute = np.repeat(np.arange(minutes), counts)
    ts = start_us + minute * MINUTE_US + rng.integers(0, MINUTE_US, n)
    routes = rng.choice(len(ROUTES), n, p=weights).astype(np.int16)
    table = EventTable.new(n, ts_us=ts, route=routes)
    table.stamp_ids(rng)
    _assign_senders(table, population, rng)

    health = _health_checks(start_us, minutes, requests_per_minute, population, rng)
    return EventTable.concat([table, health]), load


def _health_checks(start_us: int, minutes: int, requests_per_minute: float, population: Population,
                   rng: np.random.Generator) -> EventTable:
    interval_us = MINUTE_US / max(requests_per_minute * HEALTH_SHARE, 1e-9)
    n = int(minutes * MINUTE_US // interval_us)
    ts = start_us + (np.arange(n) * interval_us).astype(np.int64) + rng.integers(0, 200_000, n)
    probe = np.arange(n) % len(population.lb_ips)
    table = EventTable.new(n, ts_us=ts, route=route_index("gateway GET /health"), ip=population.lb_ips[probe],
                           agent=AGENT_HEALTH, region=(probe % 3).astype(np.int8))
    table.stamp_ids(rng)
    table["host"][:] = table["region"] * PODS_PER_REGION + rng.integers(0, PODS_PER_REGION, n)
    return table


def _assign_senders(table: EventTable, population: Population, rng: np.random.Generator) -> None:
    n = len(table)
    audience = np.array([r.audience for r in ROUTES])[table["route"]]
    users = rng.choice(population.active, n, p=population.activity).astype(np.int32)
    on_mobile = rng.random(n) < population.mobile_share[users]
    ip = np.where(on_mobile, population.mobile_ip[users], population.home_ip[users])
    agent = population.agent[users]
    region = population.region[users]

    anonymous = (audience == "browse") & (rng.random(n) < ANONYMOUS_SHARE)
    visitors = rng.choice(len(population.visitor_ip), n, p=population.visitor_activity)
    users = np.where(anonymous, -1, users)
    ip = np.where(anonymous, population.visitor_ip[visitors], ip)
    agent = np.where(anonymous, population.visitor_agent[visitors], agent)
    region = np.where(anonymous, population.visitor_region[visitors], region)

    webhook = audience == "webhook"
    users[webhook] = -1
    ip[webhook] = population.webhook_ips[rng.integers(0, len(population.webhook_ips), webhook.sum())]
    agent[webhook] = AGENT_WEBHOOK
    worker = audience == "worker"
    ip[worker] = population.worker_ips[rng.integers(0, len(population.worker_ips), worker.sum())]
    agent[worker] = AGENT_FIRST_SERVICE + ROUTE_COLUMNS.service[table["route"][worker]]

    table["user"][:] = users
    table["ip"][:] = ip
    table["agent"][:] = agent
    table["region"][:] = region
    table["host"][:] = region * PODS_PER_REGION + rng.integers(0, PODS_PER_REGION, n)


def sample_latency(table: EventTable, load: np.ndarray, start_us: int, rng: np.random.Generator) -> None:
    """Own time per request: log-normal body, Pareto tail, a little slower when the shop is busy."""
    route = table["route"]
    n = len(table)
    minute = np.clip((table["ts_us"] - start_us) // MINUTE_US, 0, len(load) - 1)
    busy = 1.0 + 0.12 * (load[minute] - 1.0)
    body = rng.lognormal(np.log(ROUTE_COLUMNS.median[route]), ROUTE_COLUMNS.sigma[route])
    tail = rng.random(n) < ROUTE_COLUMNS.tail_share[route]
    stretch = np.where(tail, 1.0 + 3.0 * rng.pareto(ROUTE_COLUMNS.tail_alpha[route]), 1.0)
    own = np.minimum(body * busy * stretch, TIMEOUT_CAP_MS)
    table["own_ms"][:] = own

    db_share = ROUTE_COLUMNS.db_share[route]
    table["db_ms"][:] = np.where(db_share > 0, own * db_share * rng.uniform(0.7, 1.0, n), np.nan)
    up_share = ROUTE_COLUMNS.upstream_share[route]
    table["upstream_ms"][:] = np.where(up_share > 0, own * up_share * rng.uniform(0.85, 1.0, n), np.nan)


def typical_db_queries(request_bits: np.ndarray) -> np.ndarray:
    """A request's database queries when nothing is wrong: 1 to 4, from bits of its id."""
    # From the id rather than a draw: the background's random stream stays what it was before counts existed.
    return 1.0 + ((request_bits >> np.uint64(32)) % np.uint64(MAX_TYPICAL_DB_QUERIES)).astype(np.float64)


def stamp_runtime(table: EventTable, rng: np.random.Generator) -> None:
    """Versions per service, and JVM heap use: a sawtooth as the garbage collector runs."""
    service = ROUTE_COLUMNS.service[table["route"]]
    table["version"][:] = np.array([s.version for s in SERVICES], dtype=object)[service]
    jvm = np.isin(service, [i for i, s in enumerate(SERVICES) if s.name in _JVM_SERVICES])
    cycle_s = 420.0
    phase = ((table["ts_us"][jvm] / 1e6 + 37.0 * table["host"][jvm]) % cycle_s) / cycle_s
    table["heap_mb"][jvm] = np.round(640.0 + 260.0 * phase + rng.normal(0, 12.0, int(jvm.sum())), 1)

