"""One compose() for both subjects of a situation briefing, on real DuckDB warehouses — an incident (a
payments PG_TIMEOUT spike through the real hourly stages) and a finding (a brute force the security analyst
found) — each gone once a later run of its scope drops it, and the typed Briefing as the renderer's document."""
import dataclasses
import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import Finding, Scope
from logintel.agents.run import run_analyst
from logintel.agents.saved_findings import replace_findings
from logintel.analysis.incidents.incident import replace_incidents
from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import compute_windows
from logintel.briefings.briefing import Briefing, compose, subject_for
from logintel.briefings.finding_briefing import FindingSubject, finding_candidates
from logintel.briefings.incident_briefing import IncidentSubject, incident_candidates
from logintel.briefings.subject import SubjectGone
from logintel.config import LLMConfig, load_settings
from logintel.daily.days import DigestDay
from logintel.digest.render import briefing_markdown, write_briefing
from logintel.llm.gateway import LLMGateway
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from tests.support.factories import burst, event, steady
from tests.support.incident_spike import HOUR, spike

DAY = DigestDay(date(2026, 11, 23))
ATTACKER = "185.220.101.7"
OFFLINE = LLMGateway(LLMConfig())
INCIDENT_HEADINGS = ["What", "Since when", "Who is affected", "Cause", "What changed", "Look first at"]


def _load(con, events) -> None:
    load_hour(con, HourBatch(hour=HOUR, lines=[e.to_json() for e in events],
                             sources=[str(i) for i in range(len(events))]))


@pytest.fixture
def incident(con):
    """The warehouse holds one high incident; returns its id."""
    _load(con, spike())
    compute_windows(con, HOUR)
    found = detect_incidents(con, HOUR, Thresholds())
    for detected in found:
        detected.severity = "high"
    replace_incidents(con, HOUR, found)
    assert len(found) == 1
    return found[0].incident_id


@pytest.fixture
def finding(con, home) -> Finding:
    """The warehouse holds the hourly security pass's one finding: 60 failed passwords for admin from one
    address, then one that works."""
    def logins(events):
        return [dataclasses.replace(e, method="POST") for e in events]
    attack = logins(burst(HOUR + timedelta(minutes=30), 4, 60, service="auth", route="/login", status=401,
                          level="warn", error_code="INVALID_CREDENTIALS", user_id="admin", client_ip=ATTACKER))
    attack += logins([event(HOUR + timedelta(minutes=34, seconds=30), service="auth", route="/login",
                            user_id="admin", client_ip=ATTACKER)])
    _load(con, steady(HOUR, 1, 5) + logins(steady(HOUR, 1, 2, service="auth", route="/login")) + attack)
    report = run_analyst(con, "security", Scope.hour(DAY, HOUR), load_settings())
    replace_findings(con, report)
    assert [f.kind for f in report.findings] == ["brute_force"]
    return report.findings[0]


def test_an_incident_briefing_is_drafted_from_its_figures_and_grounded(con, incident):
    briefing = compose(con, IncidentSubject(incident), OFFLINE)
    assert (briefing.subject_kind, briefing.subject_id, briefing.about) == ("incident", incident, {})
    assert briefing.title == "high · payments" and briefing.severity == "high" and briefing.writer == "offline/v1"
    assert [s["heading"] for s in briefing.sections] == INCIDENT_HEADINGS
    assert {s["source"] for s in briefing.sections} == {f"incident:{incident}"}
    assert "PG_TIMEOUT" in briefing.sections[0]["text"] and briefing.grounding["ratio"] == 1.0


def test_a_finding_briefing_is_composed_the_same_way_from_the_finding(con, finding):
    briefing = compose(con, FindingSubject(finding.finding_id, finding.day), OFFLINE)
    assert (briefing.subject_kind, briefing.subject_id) == ("finding", finding.finding_id)
    assert briefing.about == {"agent": "security", "finding_kind": "brute_force"}
    assert briefing.title == f"critical · {finding.title}" and briefing.severity == "critical"
    assert [s["heading"] for s in briefing.sections] == ["What", "Since when", "Who is affected", "Look first at"]
    assert {s["source"] for s in briefing.sections} == {f"finding:{finding.finding_id}"}
    assert ATTACKER in briefing.sections[0]["text"] and briefing.grounding["ratio"] == 1.0


def test_an_incident_is_gone_once_its_hour_is_materialized_again(con, incident):
    replace_incidents(con, HOUR, [])  # a replay filled the hour: what it became has an id of its own
    with pytest.raises(SubjectGone, match=f"no incident '{incident}' in the warehouse"):
        compose(con, IncidentSubject(incident), OFFLINE)


def test_a_finding_is_gone_once_a_later_run_of_its_scope_drops_it(con, finding):
    with pytest.raises(SubjectGone, match="on 2026-11-22"):  # another day holds no such finding
        compose(con, FindingSubject(finding.finding_id, "2026-11-22"), OFFLINE)
    replace_findings(con, AnalystReport("security", Scope.hour(DAY, HOUR)))
    with pytest.raises(SubjectGone, match=f"no finding '{finding.finding_id}' on 2026-11-23"):
        compose(con, FindingSubject(finding.finding_id, finding.day), OFFLINE)


def test_a_briefing_is_the_document_the_renderer_writes_and_reads(con, finding, tmp_path):
    briefing = compose(con, FindingSubject(finding.finding_id, finding.day), OFFLINE)
    document = briefing.to_dict()
    assert document["subject"] == {"kind": "finding", "id": finding.finding_id, "agent": "security",
                                   "finding_kind": "brute_force"}
    assert "incident_id" not in document and "finding_id" not in document
    path = write_briefing(document, tmp_path / "briefings")
    assert path == tmp_path / "briefings" / f"{finding.finding_id}.md"
    # plain data throughout: the file holds exactly the document, nothing lost or turned into text
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) == {**document, "markdown_path": str(path)}
    markdown = path.read_text(encoding="utf-8")
    assert markdown == briefing_markdown(document)
    assert markdown.startswith(f"# Situation briefing · {finding.finding_id}: critical · ")
    assert ATTACKER in markdown.split("## What\n", 1)[1].split("## Since when", 1)[0]


def test_candidates_name_the_subjects_a_run_is_asked_for():
    incidents = [SimpleNamespace(incident_id="inc-1", severity="critical", merged_into=None),
                 SimpleNamespace(incident_id="inc-2", severity="high", merged_into="inc-1"),  # folded: briefed as inc-1
                 SimpleNamespace(incident_id="inc-3", severity="medium", merged_into=None)]
    findings = [Finding("security", kind, kind, "t", "t", severity, 0.9, day="2026-11-23")
                for kind, severity in (("brute_force", "high"), ("failure_rate_anomaly", "low"))]
    owed = incident_candidates(incidents) + finding_candidates(findings)
    assert owed == [{"incident_id": "inc-1", "severity": "critical"},
                    {"finding_id": findings[0].finding_id, "day": "2026-11-23", "severity": "high"}]
    assert [subject_for(c) for c in owed] == [IncidentSubject("inc-1"), FindingSubject(findings[0].finding_id,
                                                                                          "2026-11-23")]
    # the job's config carries both keys, the one left empty
    assert subject_for({"incident_id": "", "finding_id": "sec-1", "day": "2026-11-23"}).kind == "finding"
    with pytest.raises(ValueError, match="needs an incident_id or a finding_id"):
        subject_for({"incident_id": "", "finding_id": "", "day": ""})


def test_every_field_of_a_briefing_reaches_its_document():
    """A field added to Briefing but left out of to_dict would silently vanish from the files."""
    briefing = Briefing("finding", "sec-1", "critical · Brute force", "critical", "openai:gpt-4o-mini", "timeout",
                        "2026-11-23T10:40:00+00:00", {"tokens": 12, "cost_usd": 0.001, "latency_ms": 80.0},
                        [{"heading": "What", "text": "x"}], {"claims": 1, "ratio": 1.0}, about={"agent": "security"})
    document = briefing.to_dict()
    assert document.pop("subject") == {"kind": "finding", "id": "sec-1", "agent": "security"}
    assert document == {f.name: getattr(briefing, f.name) for f in dataclasses.fields(Briefing)
                        if f.name not in ("subject_kind", "subject_id", "about")}


def test_what_changed_in_the_first_hour_of_data_compares_with_nothing_and_says_so():
    from logintel.briefings.incident_briefing import _what_changed
    empty = {"evidence": [{"attribute": "version", "value": "2.5.0", "share_failing": 0.9, "share_baseline": 0.0,
                           "lift": 0.9}]}
    _, text, facts = _what_changed(empty)
    assert "90% of the failing requests" in text and "served nothing before" in text and "lift" not in text
    assert facts.percents == [90.0]
    held = {"evidence": [{"attribute": "version", "value": "2.5.0", "share_failing": 0.9, "share_baseline": 0.0,
                          "lift": 45.0}]}  # a baseline with events: the share floored at half an event
    assert "before (lift 45.0)" in _what_changed(held)[1] and "served nothing" not in _what_changed(held)[1]
