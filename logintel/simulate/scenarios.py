"""The labelled scenarios, their true causes, and where each one sits in the simulated span.

Placement rule: each scenario owns a fixed slot, a fraction of the span (start + f0*span to
start + f1*span). It starts 10% into its slot and lasts its nominal duration, capped to end by 90%
of the slot, so scenarios never overlap and all fit in any span (24 h or 3 h alike). The one
exception is deliberate: search_index_outage shares db_bottleneck's slot and starts 16% into it,
so an unrelated failure bursts in the same minutes as the database incident. Times are rounded to
whole minutes when the slot is at least 10 minutes long. For 24 h from 00:00 UTC:

    credential_stuffing       02:06-02:26   (slot 0.08-0.15, nominal 20 min)
    slow_degradation          04:10-08:10   (slot 0.15-0.38, nominal 4 h)
    db_bottleneck             09:25-09:55   (slot 0.38-0.50, nominal 30 min)
    search_index_outage       09:35-09:47   (same slot, from 16% of it, nominal 12 min)
    deploy_regression         12:18-12:48   (slot 0.50-0.62, nominal 30 min)
    payment_provider_latency  15:12-15:37   (slot 0.62-0.75, nominal 25 min)

and for 3 h from 00:00 they sit at 00:16, 00:32-01:05, 01:11 (and 01:12), 01:33 and 01:54 (10-18 min each).

The opt-in login attacks (injected_attacks.py) sit in slots of their own kind: password_spraying
05:16-06:16 (slot 0.15-0.38 from 30% of it, nominal 60 min), brute_force 13:36-13:42 (slot 0.50-0.62
from 55%, 6 min) and account_enumeration 16:36-16:51 (slot 0.62-0.75 from 55%, 15 min). The opt-in
latency faults (injected_latency.py), which make no errors, sit after the incidents of their slots:
network_delay 10:43-11:08 (slot 0.38-0.50 from 55%, 25 min) and cpu_contention 15:49-16:19 (slot
0.62-0.75 from 30%, 30 min); they name the slowed service as their callers see it (peer.service).

Each scenario names its true cause as the root-cause analysis should: a kind (dependency, deploy,
client, infrastructure) and the attribute=value its failing events carry and healthy ones do not;
slow_degradation makes no errors, so it names none (no incident should point at it).
The last quarter of any span is left quiet, so recovery after the last incident is visible; the one
scenario that ignores it is the opt-in n_plus_one, structural waste that makes no errors: its slot is the
whole span and it ends with it (`end_by=1.0`), a day at most.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from logintel.simulate import injected_attacks, injected_incidents, injected_latency, injected_waste
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
    # The root cause as attribute=value, and its kind; None where the scenario makes no errors.
    cause_kind: str | None = None
    cause_attribute: str | None = None
    cause_value: str | None = None
    start_at: float = 0.1  # where in its slot the scenario begins
    # In the default day (`simulate(scenarios=None)`, the demo); the others are chosen by name, as the
    # analysts' benchmark does, so adding one never moves the incidents the other benchmarks measure.
    default: bool = True
    # The analyst finding that must name it, as "agent:kind" (None: the incidents' job, not an analyst's).
    finding: str | None = None
    # Where in its slot the scenario must have ended; structural waste (n_plus_one) runs to the slot's end.
    end_by: float = 0.9

    def window(self, start: datetime, hours: int) -> ScenarioWindow:
        span_s = hours * 3600.0
        slot_start, slot_len = self.slot[0] * span_s, (self.slot[1] - self.slot[0]) * span_s
        unit = 60 if slot_len >= 600 else 1
        begin = math.ceil((slot_start + self.start_at * slot_len) / unit) * unit
        cap = (self.end_by - self.start_at) * slot_len
        length = max(unit, math.floor(min(self.nominal.total_seconds(), cap) / unit) * unit)
        return ScenarioWindow(start + timedelta(seconds=begin), start + timedelta(seconds=begin + length))


CATALOG: tuple[Scenario, ...] = (
    Scenario("db_bottleneck", (0.38, 0.50), timedelta(minutes=30),
             "orders-db primary connection pool exhausted: orders, inventory and payments (all on orders-db) "
             "time out or lose their database connections",
             "orders-db", injected_incidents.db_bottleneck, "dependency", "db.instance", "orders-db-primary"),
    Scenario("payment_provider_latency", (0.62, 0.75), timedelta(minutes=25),
             "pg-provider (external payment gateway) latency: payments charge calls to pg-provider time out",
             "pg-provider", injected_incidents.payment_provider_latency, "dependency", "upstream", "pg-provider"),
    Scenario("credential_stuffing", (0.08, 0.15), timedelta(minutes=20),
             "credential stuffing attack on auth POST /login: a scripted client (python-requests) tries many "
             "accounts from a handful of hosting-provider IPs",
             "auth", injected_incidents.credential_stuffing, "client", "user_agent", "python-requests/2.31.0",
             finding="security:credential_stuffing"),
    Scenario("slow_degradation", (0.15, 0.38), timedelta(hours=4),
             "memory leak in search 1.7.3: the heap grows and GC pauses slowly stretch GET /search tail latency",
             "search", injected_incidents.slow_degradation, finding="sre:latency_forecast"),
    Scenario("deploy_regression", (0.50, 0.62), timedelta(minutes=30),
             "catalog 2.5.0 deploy regression: TypeError in product pricing until the rollback to 2.4.1",
             "catalog", injected_incidents.deploy_regression, "deploy", "version", "2.5.0"),
    Scenario("search_index_outage", (0.38, 0.50), timedelta(minutes=12),
             "opensearch-data-2 lost its shard copies: searches it serves fail with SEARCH_UNAVAILABLE, in the "
             "same minutes as (but unrelated to) the orders-db bottleneck",
             "opensearch-data-2", injected_incidents.search_index_outage, "dependency", "server.address",
             "opensearch-data-2", start_at=0.16),
    Scenario("n_plus_one", (0.0, 1.0), timedelta(hours=24),
             "N+1 queries in orders GET /orders: it loads each listed order's items with a query of its own "
             "(20-60 queries a request), so database round trips dominate the route all day",
             "orders", injected_waste.n_plus_one, start_at=0.0, end_by=1.0, default=False,
             finding="efficiency:n_plus_one"),
    Scenario("password_spraying", (0.15, 0.38), timedelta(minutes=60),
             "password spraying on auth POST /login: three hosting-provider addresses each try a dozen real "
             "accounts a few times, slowly, behind a browser user agent",
             "auth", injected_attacks.password_spraying, "client", "client_ip", None, start_at=0.3, default=False,
             finding="security:password_spraying"),
    Scenario("brute_force", (0.50, 0.62), timedelta(minutes=6),
             "brute force on auth POST /login: one address guesses one account's password about 40 times a "
             "minute and gets in at the end",
             "auth", injected_attacks.brute_force, "client", "client_ip", injected_attacks.BRUTE_FORCE_IP,
             start_at=0.55, default=False, finding="security:brute_force"),
    Scenario("account_enumeration", (0.62, 0.75), timedelta(minutes=15),
             "account enumeration on auth POST /login: one address walks a username wordlist, most names "
             "unknown here (UNKNOWN_ACCOUNT)",
             "auth", injected_attacks.account_enumeration, "client", "client_ip", injected_attacks.ENUMERATION_IP,
             start_at=0.55, default=False, finding="security:account_enumeration"),
    # Latency without errors (injected_latency.py): the callers see the slow service as their slowest peer.
    Scenario("network_delay", (0.38, 0.50), timedelta(minutes=25),
             "network delay in front of inventory: every call into it waits ~150 ms more on the wire, so its "
             "callers (catalog product pages, orders) slow down without an error; inventory's own times do not move",
             "inventory", injected_latency.network_delay, "dependency", "peer.service", "inventory", start_at=0.55,
             default=False),
    Scenario("cpu_contention", (0.62, 0.75), timedelta(minutes=30),
             "CPU contention on catalog's nodes (a noisy neighbour): catalog's own processing takes up to 6x "
             "longer, so its routes and the gateway home page that calls it slow down without an error",
             "catalog", injected_latency.cpu_contention, "dependency", "peer.service", "catalog", start_at=0.3,
             default=False),
)

SCENARIOS: tuple[str, ...] = tuple(s.name for s in CATALOG if s.default)
ALL_SCENARIOS: tuple[str, ...] = tuple(s.name for s in CATALOG)
SCENARIO_INDEX = {s.name: i for i, s in enumerate(CATALOG)}
