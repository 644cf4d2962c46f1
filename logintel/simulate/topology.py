"""The simulated shop: services, their routes with latency profiles, and who calls whom.

orders, payments and inventory share one PostgreSQL cluster ("orders-db"); that shared
dependency is why one database bottleneck surfaces as different errors in three services.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from logintel.simulate.errors import KIND_INDEX


@dataclass(frozen=True)
class Service:
    name: str
    version: str
    runtime: str


@dataclass(frozen=True)
class Latency:
    """Own time of a request (excluding the calls it makes): a log-normal body and a Pareto tail."""
    median_ms: float
    sigma: float = 0.45
    tail_share: float = 0.012
    tail_alpha: float = 1.7


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    latency: Latency
    # Share of client-initiated requests (0: only ever called by another service).
    weight: float = 0.0
    # Who sends it: "user" (signed in), "browse" (users or anonymous visitors),
    # "lb" (load-balancer health checks), "webhook" (the payment provider), "worker" (internal jobs).
    audience: str = "user"
    status: int = 200
    db: str | None = None
    db_share: float = 0.0
    upstream: str | None = None
    upstream_share: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.service} {self.method} {self.path}"


@dataclass(frozen=True)
class Call:
    """`caller` calls `callee` with `probability`; calls of one caller run in the order listed."""
    caller: str
    callee: str
    probability: float = 1.0
    # The error the caller reports when the callee fails with a 5xx (None: the caller degrades).
    on_failure: str | None = None
    # The caller passes the callee's 4xx through unchanged (a proxy).
    mirrors_client_errors: bool = False


SERVICES: tuple[Service, ...] = (
    Service("gateway", "1.19.3", "go"),
    Service("auth", "3.2.0", "go"),
    Service("orders", "2.8.4", "java"),
    Service("payments", "4.1.2", "python"),
    Service("inventory", "1.12.0", "python"),
    Service("catalog", "2.4.1", "node"),
    Service("search", "1.7.3", "java"),
    Service("notifications", "0.9.8", "python"),
)

DB_INSTANCES = {
    "orders-db": "orders-db-primary",
    "catalog-db": "catalog-db-primary",
    "auth-db": "auth-db-primary",
    "notifications-db": "notifications-db-primary",
}

ROUTES: tuple[Route, ...] = (
    Route("gateway", "GET", "/health", Latency(1.2, 0.3, 0.002), audience="lb"),
    Route("gateway", "GET", "/config", Latency(8, 0.4), weight=4, audience="browse"),
    Route("gateway", "GET", "/api/v1/home", Latency(12, 0.4), weight=6, audience="browse", upstream="catalog"),
    Route("gateway", "POST", "/checkout", Latency(15, 0.4), weight=2.5, upstream="orders"),
    Route("auth", "POST", "/login", Latency(180, 0.25, 0.01), weight=3, db="auth-db", db_share=0.15),
    Route("auth", "POST", "/logout", Latency(15, 0.4), weight=1, db="auth-db", db_share=0.5),
    Route("auth", "POST", "/token/refresh", Latency(25, 0.4), weight=5, db="auth-db", db_share=0.5),
    Route("auth", "GET", "/me", Latency(12, 0.45), weight=6, db="auth-db", db_share=0.6),
    Route("auth", "POST", "/password/reset", Latency(120, 0.4), weight=0.3, audience="browse", status=202,
          db="auth-db", db_share=0.3),
    Route("orders", "POST", "/orders", Latency(40, 0.45), status=201, db="orders-db", db_share=0.6),
    Route("orders", "GET", "/orders/{id}", Latency(18, 0.5), weight=5, db="orders-db", db_share=0.65),
    Route("orders", "GET", "/orders", Latency(35, 0.5), weight=4, db="orders-db", db_share=0.7),
    Route("orders", "POST", "/orders/{id}/cancel", Latency(30, 0.45), weight=0.3, db="orders-db", db_share=0.6),
    Route("orders", "GET", "/orders/{id}/tracking", Latency(60, 0.5), weight=3, db="orders-db", db_share=0.15,
          upstream="carrier-api", upstream_share=0.7),
    Route("payments", "POST", "/payments/charge", Latency(450, 0.45, 0.02), db="orders-db", db_share=0.05,
          upstream="pg-provider", upstream_share=0.85),
    Route("payments", "POST", "/payments/refunds", Latency(500, 0.45, 0.02), db="orders-db", db_share=0.05,
          upstream="pg-provider", upstream_share=0.85),
    Route("payments", "GET", "/payments/{id}", Latency(15, 0.45), weight=1, db="orders-db", db_share=0.6),
    Route("payments", "GET", "/payments/methods", Latency(20, 0.45), weight=2, db="orders-db", db_share=0.6),
    Route("payments", "POST", "/payments/webhook", Latency(25, 0.45), weight=1.5, audience="webhook",
          db="orders-db", db_share=0.6),
    Route("inventory", "GET", "/inventory/{sku}", Latency(6, 0.45), db="orders-db", db_share=0.7),
    Route("inventory", "POST", "/inventory/reservations", Latency(20, 0.45), status=201, db="orders-db",
          db_share=0.7),
    Route("inventory", "DELETE", "/inventory/reservations/{id}", Latency(12, 0.45), status=204,
          db="orders-db", db_share=0.7),
    Route("inventory", "GET", "/inventory/availability", Latency(25, 0.5), weight=2, audience="browse",
          db="orders-db", db_share=0.7),
    Route("catalog", "GET", "/products/{id}", Latency(22, 0.45), weight=14, audience="browse",
          db="catalog-db", db_share=0.5),
    Route("catalog", "GET", "/products", Latency(45, 0.5), weight=6, audience="browse", db="catalog-db",
          db_share=0.6),
    Route("catalog", "GET", "/categories", Latency(8, 0.4), weight=3, audience="browse", db="catalog-db",
          db_share=0.4),
    Route("catalog", "GET", "/categories/{slug}/products", Latency(55, 0.5), weight=5, audience="browse",
          db="catalog-db", db_share=0.6),
    Route("catalog", "GET", "/catalog/featured", Latency(30, 0.45), db="catalog-db", db_share=0.5),
    Route("search", "GET", "/search", Latency(45, 0.5, 0.01), weight=12, audience="browse",
          upstream="opensearch", upstream_share=0.6),
    Route("search", "GET", "/search/suggest", Latency(12, 0.45), weight=8, audience="browse",
          upstream="opensearch", upstream_share=0.5),
    Route("notifications", "POST", "/notifications/email", Latency(80, 0.5), status=202,
          upstream="smtp-relay", upstream_share=0.7),
    Route("notifications", "POST", "/notifications/push", Latency(60, 0.5), weight=1, audience="worker",
          status=202, upstream="fcm", upstream_share=0.7),
    Route("notifications", "GET", "/notifications", Latency(20, 0.45), weight=4, db="notifications-db",
          db_share=0.6),
)

CALLS: tuple[Call, ...] = (
    Call("gateway GET /api/v1/home", "catalog GET /catalog/featured", 1.0, "home_upstream_failed", True),
    Call("gateway POST /checkout", "orders POST /orders", 1.0, "checkout_upstream_failed", True),
    Call("auth POST /password/reset", "notifications POST /notifications/email", 1.0),
    Call("orders POST /orders", "inventory POST /inventory/reservations", 1.0, "inventory_unavailable"),
    Call("orders POST /orders", "payments POST /payments/charge", 1.0, "payment_unavailable"),
    Call("orders POST /orders", "notifications POST /notifications/email", 0.9),
    Call("orders POST /orders/{id}/cancel", "inventory DELETE /inventory/reservations/{id}", 1.0,
         "inventory_unavailable"),
    Call("orders POST /orders/{id}/cancel", "payments POST /payments/refunds", 0.8, "refund_failed"),
    # A product page shows stock when inventory answers and degrades quietly when it does not.
    Call("catalog GET /products/{id}", "inventory GET /inventory/{sku}", 0.7),
)

# The search cluster's data nodes; a request's node follows from its id, so injections agree with the events.
SEARCH_NODES = ("opensearch-data-0", "opensearch-data-1", "opensearch-data-2")


def search_node(request_bits: np.ndarray) -> np.ndarray:
    """The index into SEARCH_NODES of the node that serves each request."""
    return (request_bits % np.uint64(len(SEARCH_NODES))).astype(np.int64)


SERVICE_INDEX = {s.name: i for i, s in enumerate(SERVICES)}
ROUTE_INDEX = {r.key: i for i, r in enumerate(ROUTES)}
PODS_PER_REGION = 2


def route_index(key: str) -> int:
    return ROUTE_INDEX[key]


def routes_on_db(db: str) -> list[int]:
    return [i for i, r in enumerate(ROUTES) if r.db == db]


def pod_names(service: str, count: int) -> tuple[str, ...]:
    """Kubernetes-style pod names, stable per service whatever the seed."""
    rng = np.random.default_rng(zlib.crc32(service.encode()))
    alphabet = np.array(list("bcdfghjklmnpqrstvwxz2456789"))
    replica_set = "".join(rng.choice(alphabet, 9))
    return tuple(f"{service}-{replica_set}-{''.join(rng.choice(alphabet, 5))}" for _ in range(count))


class RouteColumns:
    """The route catalog as arrays indexed by route number, for vectorised sampling."""

    def __init__(self) -> None:
        self.service = np.array([SERVICE_INDEX[r.service] for r in ROUTES], dtype=np.int16)
        self.median = np.array([r.latency.median_ms for r in ROUTES])
        self.sigma = np.array([r.latency.sigma for r in ROUTES])
        self.tail_share = np.array([r.latency.tail_share for r in ROUTES])
        self.tail_alpha = np.array([r.latency.tail_alpha for r in ROUTES])
        self.weight = np.array([r.weight for r in ROUTES])
        self.status = np.array([r.status for r in ROUTES], dtype=np.int16)
        self.db_share = np.array([r.db_share if r.db else 0.0 for r in ROUTES])
        self.upstream_share = np.array([r.upstream_share if r.upstream else 0.0 for r in ROUTES])
        self.call_caller = np.array([ROUTE_INDEX[c.caller] for c in CALLS], dtype=np.int16)
        self.call_callee = np.array([ROUTE_INDEX[c.callee] for c in CALLS], dtype=np.int16)
        self.call_on_failure = np.array([KIND_INDEX[c.on_failure] if c.on_failure else -1 for c in CALLS],
                                        dtype=np.int16)
        self.call_mirrors = np.array([c.mirrors_client_errors for c in CALLS], dtype=bool)

    def events_per_request(self) -> np.ndarray:
        """Expected events one request to each route produces, itself and all its calls included."""
        expected = np.ones(len(ROUTES))
        # The call graph is shallow and acyclic; iterating to its depth settles every route.
        for _ in range(len(CALLS) + 1):
            fanout = np.ones(len(ROUTES))
            for c, call in enumerate(CALLS):
                fanout[self.call_caller[c]] += call.probability * expected[self.call_callee[c]]
            expected = fanout
        return expected


ROUTE_COLUMNS = RouteColumns()
