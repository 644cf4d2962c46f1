"""The catalog of failures the simulated services can report: code, status, type and message.

Messages carry variable parts (ids, counts) drawn from a per-event random `detail`, so that
template mining downstream sees realistic families of messages rather than one fixed string.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class ErrorKind:
    name: str
    code: str
    status: int
    type: str
    message: Callable[[int], str]
    # Fails before the request calls anything downstream (validation, auth, pool acquisition).
    early: bool = False
    # Own time relative to a normal request: client errors are cheap, most of the work is skipped.
    time_scale: float = 1.0
    # A timeout makes the request last as long as the timeout, whatever its normal latency.
    timeout_ms: float | None = None
    # Which part of the request the timeout was spent in: "db" or "upstream".
    waits_on: str | None = None
    # The kind the caller reports when this error comes back to it (None: the call edge decides).
    surfaces_as: str | None = None


def _sku(d: int) -> str:
    return f"sku-{d % 90000 + 10000}"


def _order(d: int) -> str:
    return f"ord-{d % 9000000 + 1000000}"


_CATEGORY_SLUGS = ("summer-sale", "garden-tools", "kids-shoes", "smart-home", "vinyl", "camping",
                   "kitchenware", "retro-gaming")
_DECLINE_REASONS = ("insufficient_funds", "do_not_honor", "expired_card", "incorrect_cvc")
_ORDER_FIELDS = (("items[0].quantity", "must be a positive integer"),
                 ("shipping_address.postcode", "does not match the country format"),
                 ("items", "must contain at least one item"),
                 ("coupon_code", "has expired"))
_QUERY_TOKENS = '"():'
_LISTING_FIELDS = (("page_size", "must be at most 100"), ("sort", "must be one of price, rating, newest"),
                   ("price_min", "must not exceed price_max"))

_KINDS = (
    # Client errors that every shop sees all day long.
    ErrorKind("product_not_found", "NOT_FOUND", 404, "NotFoundError",
              lambda d: f"product {_sku(d)} not found", early=True, time_scale=0.5),
    ErrorKind("category_not_found", "NOT_FOUND", 404, "NotFoundError",
              lambda d: f"category '{_CATEGORY_SLUGS[d % len(_CATEGORY_SLUGS)]}-{d % 97}' not found",
              early=True, time_scale=0.5),
    ErrorKind("order_not_found", "NOT_FOUND", 404, "OrderNotFoundException",
              lambda d: f"order {_order(d)} not found", early=True, time_scale=0.6),
    ErrorKind("payment_not_found", "NOT_FOUND", 404, "NotFoundError",
              lambda d: f"payment pay_{d:08x} not found", early=True, time_scale=0.6),
    ErrorKind("sku_not_found", "NOT_FOUND", 404, "NotFoundError",
              lambda d: f"no stock record for {_sku(d)}", early=True, time_scale=0.6),
    ErrorKind("order_invalid", "VALIDATION_FAILED", 400, "MethodArgumentNotValidException",
              lambda d: "field '{}' {}".format(*_ORDER_FIELDS[d % len(_ORDER_FIELDS)]),
              early=True, time_scale=0.3),
    ErrorKind("listing_invalid", "VALIDATION_FAILED", 400, "ValidationError",
              lambda d: "query parameter '{}' {}".format(*_LISTING_FIELDS[d % len(_LISTING_FIELDS)]),
              early=True, time_scale=0.3),
    ErrorKind("email_invalid", "VALIDATION_FAILED", 400, "ValidationError",
              lambda d: "field 'email' is not a valid email address", early=True, time_scale=0.2),
    ErrorKind("webhook_signature_invalid", "WEBHOOK_SIGNATURE_INVALID", 400, "SignatureVerificationError",
              lambda d: f"webhook signature mismatch for event evt_{d:08x}", early=True, time_scale=0.3),
    ErrorKind("search_query_invalid", "QUERY_PARSE_ERROR", 400, "QueryParsingException",
              lambda d: f"failed to parse query: unexpected '{_QUERY_TOKENS[d % 4]}' at position {d % 60 + 1}",
              early=True, time_scale=0.4),
    ErrorKind("token_missing", "UNAUTHORIZED", 401, "AuthenticationError",
              lambda d: "missing or expired access token", early=True, time_scale=0.2),
    ErrorKind("bad_credentials", "INVALID_CREDENTIALS", 401, "AuthenticationError",
              lambda d: "invalid username or password", early=True),
    ErrorKind("refresh_expired", "TOKEN_EXPIRED", 401, "TokenExpiredError",
              lambda d: "refresh token expired or revoked", early=True, time_scale=0.5),
    ErrorKind("rate_limited", "RATE_LIMITED", 429, "RateLimitExceeded",
              lambda d: f"rate limit exceeded: {21 + d % 30} requests in 1s (limit 20)",
              early=True, time_scale=0.1),
    ErrorKind("login_throttled", "RATE_LIMITED", 429, "RateLimitExceeded",
              lambda d: "too many login attempts from this address, retry after 60 s",
              early=True, time_scale=0.05),
    ErrorKind("card_declined", "CARD_DECLINED", 402, "CardDeclinedError",
              lambda d: f"card declined by issuer (reason: {_DECLINE_REASONS[d % len(_DECLINE_REASONS)]})",
              surfaces_as="payment_declined"),
    ErrorKind("payment_declined", "PAYMENT_DECLINED", 402, "PaymentDeclinedException",
              lambda d: f"payment for order {_order(d)} was declined"),
    ErrorKind("out_of_stock", "OUT_OF_STOCK", 409, "InsufficientStockError",
              lambda d: f"insufficient stock for {_sku(d)} (requested {2 + d % 3}, available {d % 2})",
              surfaces_as="order_out_of_stock"),
    ErrorKind("order_out_of_stock", "OUT_OF_STOCK", 409, "OutOfStockException",
              lambda d: f"order {_order(d)} rejected: one or more items are out of stock"),
    ErrorKind("order_not_cancellable", "ORDER_NOT_CANCELLABLE", 409, "IllegalStateException",
              lambda d: f"order {_order(d)} cannot be cancelled in state SHIPPED", early=True, time_scale=0.5),
    ErrorKind("push_token_invalid", "PUSH_TOKEN_INVALID", 410, "UnregisteredError",
              lambda d: "registration token is not a valid FCM registration token"),
    # Rare server-side failures: the long tail of bugs and flaky dependencies.
    ErrorKind("internal_java", "INTERNAL_ERROR", 500, "NullPointerException",
              lambda d: 'Cannot invoke "java.math.BigDecimal.add(java.math.BigDecimal)" because "discount" is null'),
    ErrorKind("internal_python", "INTERNAL_ERROR", 500, "KeyError",
              lambda d: "'warehouse_id'"),
    ErrorKind("internal_node", "INTERNAL_ERROR", 500, "TypeError",
              lambda d: "Cannot read properties of undefined (reading 'thumbnailUrl')"),
    ErrorKind("internal_go", "INTERNAL_ERROR", 500, "runtime.Error",
              lambda d: "runtime error: invalid memory address or nil pointer dereference"),
    ErrorKind("edge_reset", "UPSTREAM_RESET", 503, "UpstreamConnectionError",
              lambda d: ("upstream connect error or disconnect/reset before headers. "
                         "reset reason: connection termination"),
              time_scale=0.5),
    ErrorKind("carrier_timeout", "UPSTREAM_TIMEOUT", 504, "UpstreamTimeout",
              lambda d: "carrier-api did not respond within 3000 ms", timeout_ms=3000.0, waits_on="upstream"),
    ErrorKind("smtp_deferred", "SMTP_ERROR", 502, "SMTPServerDisconnected",
              lambda d: "smtp-relay: 421 4.7.0 Try again later, closing connection"),
    ErrorKind("pg_charge_timeout", "PG_TIMEOUT", 504, "UpstreamTimeout",
              lambda d: "pg-provider did not respond within 8000 ms (POST /v1/charges)",
              timeout_ms=8000.0, waits_on="upstream"),
    ErrorKind("pg_refund_timeout", "PG_TIMEOUT", 504, "UpstreamTimeout",
              lambda d: "pg-provider did not respond within 8000 ms (POST /v1/refunds)",
              timeout_ms=8000.0, waits_on="upstream"),
    # What a caller reports when a call it depends on fails.
    ErrorKind("checkout_upstream_failed", "UPSTREAM_UNAVAILABLE", 503, "UpstreamError",
              lambda d: "upstream orders failed: POST /orders returned 5xx"),
    ErrorKind("home_upstream_failed", "UPSTREAM_UNAVAILABLE", 503, "UpstreamError",
              lambda d: "upstream catalog failed: GET /catalog/featured returned 5xx"),
    ErrorKind("inventory_unavailable", "INVENTORY_UNAVAILABLE", 503, "InventoryServiceException",
              lambda d: f"inventory service error while reserving stock for order {_order(d)}"),
    ErrorKind("payment_unavailable", "PAYMENT_UNAVAILABLE", 502, "PaymentServiceException",
              lambda d: f"payment service error while charging order {_order(d)}"),
    ErrorKind("refund_failed", "REFUND_FAILED", 502, "PaymentServiceException",
              lambda d: f"refund for order {_order(d)} failed: payment service error"),
    # Injected incidents (see scenarios.py).
    ErrorKind("db_pool_exhausted", "DB_POOL_EXHAUSTED", 503, "SQLTransientConnectionException",
              lambda d: ("could not acquire connection from pool orders-db-primary within 5000 ms "
                         f"(active=50, idle=0, waiting={12 + d % 60})"),
              early=True, timeout_ms=5000.0, waits_on="db"),
    ErrorKind("db_statement_timeout", "QUERY_TIMEOUT", 500, "QueryCanceled",
              lambda d: "canceling statement due to statement timeout", timeout_ms=3000.0, waits_on="db"),
    ErrorKind("db_connection_reset", "DB_CONN_RESET", 500, "OperationalError",
              lambda d: ("server closed the connection unexpectedly\n\tThis probably means the server "
                         "terminated abnormally\n\tbefore or while processing the request."),
              time_scale=1.5),
    ErrorKind("catalog_pricing_bug", "INTERNAL_ERROR", 500, "TypeError",
              lambda d: "Cannot read properties of undefined (reading 'priceTiers')"),
    ErrorKind("catalog_listing_bug", "INTERNAL_ERROR", 500, "TypeError",
              lambda d: "Cannot read properties of null (reading 'currency')"),
    ErrorKind("search_shards_unavailable", "SEARCH_UNAVAILABLE", 503, "SearchPhaseExecutionException",
              lambda d: f"all shards failed: [products-v7][{d % 3}] no shard copy available on opensearch-data-2",
              time_scale=0.3),
    # Opt-in attacks (see injected_attacks.py); appended so the kinds above keep their numbers.
    ErrorKind("unknown_account", "UNKNOWN_ACCOUNT", 401, "AuthenticationError",
              lambda d: "no account with that username", early=True, time_scale=0.8),
)

KINDS: tuple[ErrorKind, ...] = _KINDS
KIND_INDEX: dict[str, int] = {kind.name: i for i, kind in enumerate(KINDS)}
assert len(KIND_INDEX) == len(KINDS), "error kind names must be unique"

# Column views of the catalog, indexed by kind number, for vectorised use.
KIND_STATUS = np.array([k.status for k in KINDS], dtype=np.int16)
KIND_EARLY = np.array([k.early for k in KINDS], dtype=bool)
KIND_SURFACES = np.array([KIND_INDEX[k.surfaces_as] if k.surfaces_as else -1 for k in KINDS], dtype=np.int16)
