"""A payments PG_TIMEOUT spike in one fixed hour, and the hallucinating model the fake LLM server plays
when asked to summarise it: what the narration tests and the Dagster trust-check test share."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.factories import burst, steady
from tests.support.prompts import facts_of

HOUR = datetime(2026, 11, 23, 10)


def hallucinating_model(request: dict) -> dict:
    """A model that invents another service and an error count the data does not have."""
    f = facts_of(request)
    return {"summary": f"{f['service']} {f['route']} returned {f['errors']} {f['error_code']} errors because the "
                       f"billing-api service returned {f['errors'] * 3 + 41} errors in the same minutes."}


def spike(messages=("upstream pg-provider timed out",)):
    """Healthy traffic for HOUR plus one PG_TIMEOUT burst per message, each from its own user and IP."""
    events = steady(HOUR, 1, 10)
    for i, message in enumerate(messages):
        events += burst(HOUR + timedelta(minutes=10 + i), 15, 60, error_code="PG_TIMEOUT", message=message,
                        client_ip=f"203.0.113.{i + 7}", user_id=f"u-{4242 + i}")
    return events
