"""The prompt facts of an hour's rule incidents from one batch equal `incident_facts` one incident at a
time: on the simulator's labelled hour and on a group without an error code whose examples share an
instant and whose equal period before had errors too."""
from datetime import datetime, timedelta

from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import compute_windows
from logintel.llm.hour_facts import hour_incident_facts
from logintel.llm.redaction import Redactor
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from tests.support.factories import burst, event, steady
from tests.support.prompt_facts_oracle import incident_facts


def test_the_labelled_hours_rule_incidents_get_the_per_incident_facts(labelled_hour_run):
    rules = [i for i in labelled_hour_run.incidents if i.kind == "threshold"]
    redactor = Redactor("t")
    batched = hour_incident_facts(labelled_hour_run.con, rules, redactor)
    assert batched == [incident_facts(labelled_hour_run.con, i, redactor) for i in rules]
    assert any(f["previous_period_errors"] for f in batched) and all(f["examples"] for f in batched)
    assert hour_incident_facts(labelled_hour_run.con, rules, redactor, max_examples=2, max_messages=1) == [
        incident_facts(labelled_hour_run.con, i, redactor, max_examples=2, max_messages=1) for i in rules]


H = datetime(2026, 11, 23, 10)


def test_a_group_without_code_and_examples_at_one_instant(con):
    at = H + timedelta(minutes=30)
    events = steady(H, 1, 4, service="orders", route="/orders")
    events += burst(H + timedelta(minutes=15), 5, 8, service="orders", route="/orders", status=503, level="error",
                    message="upstream reset")  # under the threshold, in the equal period before the incident
    events += [event(at, service="orders", route="/orders", status=503, level="error", trace_id=f"{t:032x}",
                     message=f"upstream reset by peer {t % 2}") for t in range(40)]
    events += burst(at, 8, 60, service="orders", route="/orders", status=503, level="error", message="upstream reset")
    load_hour(con, HourBatch(hour=H, lines=[e.to_json() for e in events], sources=["t"] * len(events)))
    compute_windows(con, H)
    found = [i for i in detect_incidents(con, H, Thresholds()) if i.error_code is None]
    assert found
    redactor = Redactor("t")
    batched = hour_incident_facts(con, found, redactor)
    assert batched == [incident_facts(con, i, redactor) for i in found]
    [facts] = batched
    assert facts["previous_period_errors"] == 8
    assert [e["time"] for e in facts["examples"]] == ["10:30:00"] * 5  # one instant: the first by event id
