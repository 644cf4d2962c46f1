"""The labelled scenarios, their true causes, and where each one sits in the simulated span.

Placement rule: each scenario owns a fixed slot, a fraction of the span (start + f0*span to
start + f1*span). It starts 10% into its slot and lasts its nominal duration, capped at 80%
of the slot, so scenarios never overlap and all fit in any span (24 h or 3 h alike). Times are
rounded to whole minutes when the slot is at least 10 minutes long. For 24 h from 00:00 UTC:

    credential_stuffing       02:06-02:26   (slot 0.08-0.15, nominal 20 min)
    slow_degradation          04:10-08:10   (slot 0.15-0.38, nominal 4 h)
    db_bottleneck             09:25-09:55   (slot 0.38-0.50, nominal 30 min)
    deploy_regression         12:18-12:48   (slot 0.50-0.62, nominal 30 min)
    payment_provider_latency  15:12-15:37   (slot 0.62-0.75, nominal 25 min)

and for 3 h from 00:00 they sit at 00:16, 00:32-01:05, 01:11, 01:33 and 01:54 (10-18 min each).
The last quarter of any span is left quiet, so recovery after the last incident is visible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from logintel.simulate import injected_incidents
from logintel.simulate.injection import Injection, ScenarioWindow
from logintel.simulate.table import EventTable


@dataclass(frozen=True)
class Scenario:
    name: str
    slot: tuple[float, float]
    nominal: timedelta
    cause: str
    cause_component: str
    inject: Callable[[Injection], EventTable]

    def window(self, start: datetime, hours: int) -> ScenarioWindow:
        span_s = hours * 3600.0
        slot_start, slot_len = self.slot[0] * span_s, (self.slot[1] - self.slot[0]) * span_s
        unit = 60 if slot_len >= 600 else 1
        begin = math.ceil((slot_start + 0.1 * slot_len) / unit) * unit
        length = max(unit, math.floor(min(self.nominal.total_seconds(), 0.8 * slot_len) / unit) * unit)
        return ScenarioWindow(start + timedelta(seconds=begin), start + timedelta(seconds=begin + length))


CATALOG: tuple[Scenario, ...] = (
    Scenario("db_bottleneck", (0.38, 0.50), timedelta(minutes=30),
             "orders-db primary connection pool exhausted: orders, inventory and payments (all on orders-db) "
             "time out or lose their database connections",
             "orders-db", injected_incidents.db_bottleneck),
    Scenario("payment_provider_latency", (0.62, 0.75), timedelta(minutes=25),
             "pg-provider (external payment gateway) latency: payments charge calls to pg-provider time out",
             "pg-provider", injected_incidents.payment_provider_latency),
    Scenario("credential_stuffing", (0.08, 0.15), timedelta(minutes=20),
             "credential stuffing attack on auth POST /login: a scripted client (python-requests) tries many "
             "accounts from a handful of hosting-provider IPs",
             "auth", injected_incidents.credential_stuffing),
    Scenario("slow_degradation", (0.15, 0.38), timedelta(hours=4),
             "memory leak in search 1.7.3: the heap grows and GC pauses slowly stretch GET /search tail latency",
             "search", injected_incidents.slow_degradation),
    Scenario("deploy_regression", (0.50, 0.62), timedelta(minutes=30),
             "catalog 2.5.0 deploy regression: TypeError in product pricing until the rollback to 2.4.1",
             "catalog", injected_incidents.deploy_regression),
)

SCENARIOS: tuple[str, ...] = tuple(s.name for s in CATALOG)
SCENARIO_INDEX = {s.name: i for i, s in enumerate(CATALOG)}
