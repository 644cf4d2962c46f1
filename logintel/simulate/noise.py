"""Background errors: the steady trickle of 4xx/5xx every healthy shop produces.

Rates are per request and chosen so that, at the default 200 events/minute and the daily peak,
each (service, route, error code) expects at most about two errors per 5 minutes: background
alone stays well under the default incident threshold of 10.
"""
from __future__ import annotations

import numpy as np

from logintel.simulate.faults import fail
from logintel.simulate.table import EventTable
from logintel.simulate.topology import ROUTE_INDEX

BACKGROUND: dict[str, tuple[tuple[str, float], ...]] = {
    "gateway GET /config": (("edge_reset", 0.0005),),
    "gateway GET /api/v1/home": (("edge_reset", 0.0005),),
    "gateway POST /checkout": (("edge_reset", 0.001),),
    "auth POST /login": (("bad_credentials", 0.05), ("internal_go", 0.0005)),
    "auth POST /logout": (("token_missing", 0.01),),
    "auth POST /token/refresh": (("refresh_expired", 0.02),),
    "auth GET /me": (("token_missing", 0.015),),
    "auth POST /password/reset": (("email_invalid", 0.03),),
    "orders POST /orders": (("order_invalid", 0.02), ("internal_java", 0.001)),
    "orders GET /orders/{id}": (("order_not_found", 0.01), ("internal_java", 0.0003)),
    "orders GET /orders": (("token_missing", 0.005),),
    "orders POST /orders/{id}/cancel": (("order_not_cancellable", 0.1),),
    "orders GET /orders/{id}/tracking": (("order_not_found", 0.01), ("carrier_timeout", 0.005)),
    "payments POST /payments/charge": (("card_declined", 0.03), ("pg_charge_timeout", 0.001)),
    "payments POST /payments/refunds": (("pg_refund_timeout", 0.002),),
    "payments GET /payments/{id}": (("payment_not_found", 0.02),),
    "payments GET /payments/methods": (("token_missing", 0.005),),
    "payments POST /payments/webhook": (("webhook_signature_invalid", 0.01),),
    "inventory GET /inventory/{sku}": (("sku_not_found", 0.005),),
    "inventory POST /inventory/reservations": (("out_of_stock", 0.02),),
    "inventory GET /inventory/availability": (("internal_python", 0.0005),),
    "catalog GET /products/{id}": (("product_not_found", 0.01), ("internal_node", 0.0002)),
    "catalog GET /products": (("listing_invalid", 0.01),),
    "catalog GET /categories/{slug}/products": (("category_not_found", 0.02),),
    "search GET /search": (("search_query_invalid", 0.008), ("rate_limited", 0.003)),
    "search GET /search/suggest": (("rate_limited", 0.005),),
    "notifications POST /notifications/email": (("smtp_deferred", 0.005),),
    "notifications POST /notifications/push": (("push_token_invalid", 0.03),),
    "notifications GET /notifications": (("token_missing", 0.005),),
}


def add_background_errors(table: EventTable, rng: np.random.Generator) -> None:
    route = table["route"]
    # One uniform draw per row, split into per-kind bands, so a request fails for one reason only.
    draw = rng.random(len(table))
    for key, kinds in BACKGROUND.items():
        rows = np.flatnonzero(route == ROUTE_INDEX[key])
        low = 0.0
        for kind_name, probability in kinds:
            hit = rows[(draw[rows] >= low) & (draw[rows] < low + probability)]
            fail(table, hit, kind_name, rng)
            low += probability
