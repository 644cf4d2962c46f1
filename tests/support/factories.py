"""Builders of wide events for tests: explicit, small, and deterministic."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from logintel.events import WideEvent

_ids = itertools.count()


def event(ts: datetime, service="payments", route="/payments/charge", error_code=None, level=None,
          status=None, duration_ms=20.0, user_id="u-1", client_ip="10.0.0.1", sample_rate=1, trace_id=None,
          message=None, **attributes) -> WideEvent:
    n = next(_ids)
    if level is None:
        level = "error" if error_code else "info"
    if status is None:
        status = 504 if error_code else 200
    return WideEvent(event_id=f"evt-{n:08d}", timestamp=ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc),
                     service=service, route=route, duration_ms=duration_ms, level=level, status=status,
                     error_code=error_code, error_message=message, user_id=user_id, client_ip=client_ip,
                     sample_rate=sample_rate, trace_id=trace_id or f"{n:032x}", request_id=f"req-{n}",
                     attributes=attributes)


def burst(start: datetime, minutes: float, count: int, **kwargs) -> list[WideEvent]:
    """`count` events spread evenly over `minutes` from `start`."""
    step = timedelta(minutes=minutes) / max(count, 1)
    return [event(start + step * i, **kwargs) for i in range(count)]


def steady(start: datetime, hours: float, per_minute: int, **kwargs) -> list[WideEvent]:
    """Healthy background traffic: `per_minute` successful requests every minute."""
    minutes = int(hours * 60)
    return burst(start, minutes, minutes * per_minute, **kwargs)
