"""Rule incidents: thresholds, merging of consecutive windows, stable ids across hours and re-runs."""
from datetime import datetime, timedelta

import pytest

from logintel.analysis.incidents.incident import list_incidents, replace_incidents, severity
from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.support.factories import burst, steady

H = datetime(2026, 11, 23, 10)


def materialize(con, hour, events, thresholds=Thresholds()):
    load_hour(con, HourBatch(hour=hour, lines=[e.to_json() for e in events],
                             sources=[str(i) for i in range(len(events))]))
    compute_windows(con, hour)
    found = detect_incidents(con, hour, thresholds)
    write_summaries(con, found, LLMGateway(LLMConfig(base_url=None, api_key=None)), Redactor())
    replace_incidents(con, hour, found)
    return found


def test_a_spike_over_threshold_is_one_incident_not_one_per_window(con):
    events = steady(H, 1, 20) + burst(H + timedelta(minutes=10), 20, 200, error_code="PG_TIMEOUT",
                                      message="upstream pg-provider timed out")
    found = materialize(con, H, events)
    assert len(found) == 1
    incident = found[0]
    assert (incident.service, incident.route, incident.error_code) == ("payments", "/payments/charge", "PG_TIMEOUT")
    assert incident.breached_windows > 10
    assert incident.errors == 200 and incident.related_traces_total == 200
    # the error rate is against all of the route's traffic in the incident, not only the failures
    minutes = (incident.end_time - incident.start_time).total_seconds() / 60
    assert incident.requests == pytest.approx(200 + 20 * minutes, abs=25)
    assert 0 < incident.error_rate < 1
    assert len(incident.related_traces) == 25
    assert incident.start_time <= H + timedelta(minutes=10) and incident.end_time >= H + timedelta(minutes=30)
    assert "PG_TIMEOUT 200 errors" in incident.summary and incident.writer == "offline/v1"
    assert "pg-provider" in incident.summary


def test_below_threshold_is_no_incident(con):
    # 10 errors in any 5 minutes is not more than the default threshold of 10
    events = steady(H, 1, 20) + burst(H + timedelta(minutes=10), 5, 10, error_code="PG_TIMEOUT")
    assert materialize(con, H, events) == []


def test_per_group_override_and_wildcards():
    t = Thresholds(default=10, overrides={("payments", "*", "*"): 50, ("payments", "/payments/charge", "PG_TIMEOUT"): 5})
    assert t.for_group("payments", "/payments/charge", "PG_TIMEOUT") == 5
    assert t.for_group("payments", "/refund", "X") == 50
    assert t.for_group("orders", "/orders", None) == 10


def test_override_raises_the_bar(con):
    events = burst(H + timedelta(minutes=10), 5, 40, error_code="PG_TIMEOUT")
    assert materialize(con, H, events, Thresholds(overrides={("payments", "*", "PG_TIMEOUT"): 100})) == []


def test_incident_spanning_an_hour_keeps_its_id(con):
    first_hour = H - timedelta(hours=1)
    a = materialize(con, first_hour, burst(first_hour + timedelta(minutes=40), 20, 200, error_code="E"))
    b = materialize(con, H, burst(H, 15, 150, error_code="E"))
    assert len(a) == len(b) == 1
    assert a[0].incident_id == b[0].incident_id
    merged = list_incidents(con)
    assert len(merged) == 1 and merged[0]["errors"] == 350
    assert merged[0]["partitions"] == ["2026-11-23-09:00", "2026-11-23-10:00"]


def test_rerun_reproduces_the_same_incidents(con):
    events = burst(H + timedelta(minutes=5), 10, 100, error_code="E")
    first = materialize(con, H, events)
    again = detect_incidents(con, H, Thresholds())
    replace_incidents(con, H, again)
    assert [i.incident_id for i in first] == [i.incident_id for i in again]
    assert len(list_incidents(con)) == 1


def test_separate_spikes_are_separate_incidents(con):
    events = burst(H + timedelta(minutes=2), 5, 60, error_code="E") + burst(H + timedelta(minutes=40), 5, 60, error_code="E")
    found = materialize(con, H, events)
    assert len(found) == 2 and found[0].incident_id != found[1].incident_id


def test_a_rate_hovering_at_the_threshold_is_one_incident(con):
    # Three bursts of one group 11 minutes apart: the windows between them dip under the threshold.
    events = [e for minute in (5, 16, 27) for e in burst(H + timedelta(minutes=minute), 2, 14, error_code="E")]
    found = materialize(con, H, events)
    assert len(found) == 1 and found[0].start_time <= H + timedelta(minutes=7)
    assert found[0].end_time >= H + timedelta(minutes=29)


def test_severity_follows_impact():
    assert severity(12, 10, 1, 5, 0.05) == "low"
    assert severity(500, 10, 300, 90, 0.9) == "critical"
    assert severity(40, 10, 30, 10, 0.2) in ("medium", "high")
