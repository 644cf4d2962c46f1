"""The offline writer rounds a figure once, as it writes it: 1.498% is "1%", 7.481 ms is "7 ms" — rounded to a
decimal first, they read "2%" and "8 ms", which the checker rightly refuses (found on the 1M-event hour)."""
from __future__ import annotations

from datetime import datetime, timedelta

from logintel.analysis.incidents.incident import Incident
from logintel.llm.offline import incident_summary
from logintel.llm.prompt_facts import rule_facts
from logintel.llm.redaction import Redactor

START = datetime(2026, 12, 6, 12, 54)


def _incident(errors: int, requests: int, p99_ms: float) -> Incident:
    return Incident(incident_id="inc-1", partition_hour=START.replace(minute=0), service="auth", route="/logout",
                    error_code="UNAUTHORIZED", start_time=START, end_time=START + timedelta(minutes=6),
                    first_seen=START, breached_windows=2, threshold=10, peak_errors=12, errors=errors,
                    requests=requests, error_rate=errors / requests, p99_ms=p99_ms)


def test_a_rate_and_a_p99_just_under_a_half_are_rounded_down():
    facts = rule_facts(_incident(12, 801, 7.481), previous=8, messages=[], examples=[], redactor=Redactor("t"))
    text = incident_summary(facts)["summary"]
    assert "; 1% of 801 requests" in text and "p99 7 ms" in text
    assert "(+50% on the previous 6 min)" in text


def test_a_rate_under_one_percent_keeps_its_decimal():
    facts = rule_facts(_incident(12, 1667, 7.52), previous=6, messages=[], examples=[], redactor=Redactor("t"))
    text = incident_summary(facts)["summary"]
    assert "0.7% of 1667 requests" in text and "p99 8 ms" in text
