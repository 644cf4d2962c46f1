"""A payments PG_TIMEOUT spike in one fixed hour, and the hallucinating model the fake LLM server plays
when asked to reword its text: what the narration tests and the Dagster trust-check test share."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.factories import burst, steady
from tests.support.prompts import facts_of, reworded

HOUR = datetime(2026, 11, 23, 10)


def hallucinating_model(request: dict) -> dict:
    """A model that invents another service and an error count the data does not have, in the summary's
    sentence, and keeps the rest as drafted."""
    f = facts_of(request)
    invented = (f"{f['service']} {f['route']} returned {f['errors']} {f['error_code']} errors because the "
                f"billing-api service returned {f['errors'] * 3 + 41} errors in the same minutes.")
    return reworded(request, lambda draft_id, text: invented if draft_id == "summary-1" else text)


def spike(messages=("upstream pg-provider timed out",)):
    """Healthy traffic for HOUR plus one PG_TIMEOUT burst per message, each from its own user and IP."""
    events = steady(HOUR, 1, 10)
    for i, message in enumerate(messages):
        events += burst(HOUR + timedelta(minutes=10 + i), 15, 60, error_code="PG_TIMEOUT", message=message,
                        client_ip=f"203.0.113.{i + 7}", user_id=f"u-{4242 + i}")
    return events
