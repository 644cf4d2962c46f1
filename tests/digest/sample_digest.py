"""A realistic daily digest document, the shape `logintel.digest.render` and `.charts` accept.

`sample_digest()` returns a fresh dict each call, so a test may change it freely. The day is
2026-03-10 in America/New_York (UTC-4 after the 8 March switch): local midnight is 04:00 UTC."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

DAY_START_UTC = datetime(2026, 3, 10, 4, tzinfo=timezone.utc)
HOURS = [DAY_START_UTC + timedelta(hours=h) for h in range(24)]
MISSING = {5, 6}  # local 05:00 and 06:00 (09:00 and 10:00 UTC)
SERVICES = {  # service → (requests per hour, error rate, p99 ms)
    "checkout": (1200, 0.021, 840.0),
    "search": (3400, 0.004, 310.0),
    "auth": (2100, 0.011, 120.0),
    "payments": (600, 0.032, 1450.0),
    "catalog": (900, 0.002, 95.0),
    "emails": (150, 0.0, 60.0),
    "admin": (40, 0.05, 2200.0),
}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _service_points(requests: int, error_rate: float, p99: float) -> list[dict]:
    points = []
    for h, hour in enumerate(HOURS):
        if h in MISSING:
            continue
        # A daytime hump, and an afternoon spike in errors and latency.
        load = 0.5 + 0.5 * (1 - abs(h - 14) / 14)
        spike = 3.0 if h in (15, 16) else 1.0
        points.append({"hour": _iso(hour), "requests": round(requests * load),
                       "error_rate": round(error_rate * spike, 5), "p99_ms": round(p99 * spike, 1)})
    return points


_SAMPLE = {
    "date": "2026-03-10",
    "timezone": "America/New_York",
    "hours_covered": [_iso(h) for i, h in enumerate(HOURS) if i not in MISSING],
    "hours_missing": [_iso(HOURS[i]) for i in sorted(MISSING)],
    "headline": "Checkout errors tripled after the 15:00 deploy; payments p99 crossed its limit.",
    "writer": "openai:gpt-4o-mini",
    "llm": {"tokens": 5821, "cost_usd": 0.00412, "latency_ms": 2310},
    "top_issues": [
        {"rank": 1, "title": "Checkout 5xx after deploy",
         "text": "POST /cart/checkout returned 502 for 6.3% of requests between 15:00 and 17:00.",
         "source": "incidents.inc-3f9a2b7c1d4e5f60", "grounded": True, "grounding_reason": "",
         "impact": {"score": 8.42, "budget_consumed": 0.37, "users": 412, "minutes": 118, "severity": "critical"},
         "cause": {"kind": "deploy", "attribute": "deployment.version", "value": "2026.03.10-2"},
         "incident_ids": ["inc-3f9a2b7c1d4e5f60"]},
        {"rank": 2, "title": "Payments latency",
         "text": "The p99 of POST /payments/charge rose to 4,350 ms.",
         "source": "daily_route_metrics.payments./payments/charge", "grounded": False,
         "grounding_reason": "4,350 ms not in the facts",
         "impact": {"score": 5.1, "budget_consumed": 0.12, "users": 96, "minutes": 64, "severity": "high"},
         "cause": {"kind": "attribute", "attribute": "db.system", "value": "postgresql"},
         "incident_ids": ["inc-0a1b2c3d4e5f6a7b", "inc-9e8d7c6b5a4f3e2d"]},
        {"rank": 3, "title": "Auth token refresh errors",
         "text": "GET /auth/refresh failed with 401 for 1.1% of requests.",
         "source": "incidents.inc-77aa88bb99cc00dd", "grounded": None, "grounding_reason": "",
         "impact": {"score": 1.9, "budget_consumed": None, "users": 31, "minutes": 22, "severity": "medium"},
         "cause": None, "incident_ids": ["inc-77aa88bb99cc00dd"]},
    ],
    "trends": [
        {"key": "payments-p99", "label": "payments /payments/charge p99 (ms)", "kind": "slow_trend",
         "service": "payments", "route": "/payments/charge", "metric": "p99_ms", "change": 0.27,
         "text": "The p99 of payments has risen 27% over seven days.",
         "source": "daily_route_metrics.payments", "grounded": True},
        {"key": "search-drop", "label": "search requests", "kind": "traffic_drop",
         "service": "search", "route": None, "metric": "requests", "change": -0.18,
         "text": "Search traffic is 18% below the same day last week.",
         "source": "daily_route_metrics.search", "grounded": True},
    ],
    "recommendations": [
        {"service": "catalog", "route": "/catalog/items", "saving": {"amount": 5400, "unit": "db_seconds_per_day"},
         "text": "Cache GET /catalog/items: 92% of its database time repeats the same query.",
         "source": "daily_route_metrics.catalog./catalog/items", "grounded": True},
    ],
    "pipeline": {
        "text": "The pipeline kept 1.9 million of 2.4 million events; two dumps were replayed.",
        "source": "pipeline_runs", "grounded": True,
        "events_received": 2412345, "events_sampled_out": 498120,
        "dead_letters": {"schema": 12, "oversize": 3}, "dumps_replayed": 2,
        "drops": {"queue_full": 140, "rate_limited": 7},
        "llm": {"calls": 14, "tokens": 38211, "cost_usd": 0.0271},
    },
    "grounding": {"claims": 18, "grounded": 16, "ratio": 16 / 18,
                  "ungrounded": ["The p99 of POST /payments/charge rose to 4,350 ms."]},
    "charts": {
        "services": {name: _service_points(*figures) for name, figures in SERVICES.items()},
        "trends": [
            {"key": "payments-p99", "label": "payments /payments/charge p99 (ms)", "limit": 1500.0,
             "points": [[_iso(h), 900.0 + 25.0 * i] for i, h in enumerate(HOURS) if i not in MISSING]},
            {"key": "search-drop", "label": "search requests", "limit": None,
             "points": [[_iso(h), 3400 - 30 * i] for i, h in enumerate(HOURS) if i not in MISSING]},
        ],
    },
}


def sample_digest() -> dict:
    """A fresh copy of the sample digest."""
    return copy.deepcopy(_SAMPLE)


_BRIEFING = {
    "subject": {"kind": "incident", "id": "inc-3f9a2b7c1d4e5f60"},
    "title": "Checkout 5xx after deploy",
    "writer": "openai:gpt-4o-mini",
    "created_at": "2026-03-10T19:05:00+00:00",
    # Out of order, "What changed" missing, one heading beyond the six.
    "sections": [
        {"heading": "Cause", "text": "Deployment 2026.03.10-2 of checkout: 94% of the errors carry it.",
         "source": "rca.inc-3f9a2b7c1d4e5f60", "grounded": True},
        {"heading": "What", "text": "POST /cart/checkout returns 502 for 6.3% of requests.",
         "source": "incidents.inc-3f9a2b7c1d4e5f60", "grounded": True},
        {"heading": "Related traces", "text": "Trace 4bf92f3577b34da6 shows the upstream timeout.",
         "source": "raw_events.trace_id", "grounded": None},
        {"heading": "Since when", "text": "Since 15:02 local time.", "source": "incidents.first_seen",
         "grounded": True},
        {"heading": "Who is affected", "text": "412 users, most of them on iOS.", "source": "incidents.users",
         "grounded": False, "grounding_reason": "iOS not in the facts"},
        {"heading": "Look first at", "text": "The payment-gateway client timeout in 2026.03.10-2.",
         "source": "rca.inc-3f9a2b7c1d4e5f60", "grounded": True},
    ],
    "grounding": {"claims": 6, "grounded": 5, "ratio": 5 / 6, "ungrounded": ["412 users, most of them on iOS."]},
}


def sample_briefing() -> dict:
    """A fresh copy of a situation briefing (the shape `render.briefing_markdown` accepts)."""
    return copy.deepcopy(_BRIEFING)
