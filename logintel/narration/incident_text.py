"""Writing each incident's one-line summary through the LLM gateway, then grounding it.

Facts go out redacted and fenced; an answer that is not about the incident (it does not name the
service or the error count: the signature of an obeyed injection) is replaced by the offline
writer's, and so is one with a part that has nothing to verify where the offline writer's states
claims (a reassurance in place of the figures); every kept text is checked claim by claim against the
warehouse. A latency incident's text is grounded in parts, each against the period it speaks of: its
slowest route during it, the same route before its onset, and the whole incident.
"""
from __future__ import annotations

import logging
from datetime import datetime

import duckdb

from logintel.analysis.incidents.change_incidents import KIND as CHANGE
from logintel.analysis.incidents.latency_windows import KIND as LATENCY
from logintel.llm.hour_facts import hour_incident_facts
from logintel.narration.change_text import write_change_texts
from logintel.llm.prompt_facts import MAX_EXAMPLES, cluster_facts, latency_facts, root_cause_facts
from logintel.llm.gateway import LLMGateway
from logintel.llm.offline import OFFLINE_WRITER, root_cause
from logintel.llm.redaction import Redactor
from logintel.narration.latency_prompt import latency_answer_problem, latency_summary_request
from logintel.llm.tasks import (cluster_analysis_request, cluster_answer_problem, incident_summary_request,
                                missing_required_facts)
from logintel.trust import GroundingScope
from logintel.trust.batch import verify_texts
from logintel.trust.claim_share import NOTHING_TO_VERIFY
from logintel.trust.grounding_report import GroundingReport

log = logging.getLogger("logintel.llm")
MAX_LISTED_UNGROUNDED = 10


def grounding_scope(incident) -> GroundingScope:
    # The incident's own window: the verifier compares changes against the equal period before it, and
    # a root cause's shares and latencies against the baselines the analysis used.
    baselines = tuple((a, b) for a, b in (incident.root_cause or {}).get("baselines", []))
    return GroundingScope(start=incident.start_time, end=incident.end_time,
                          services=tuple(incident.services), routes=tuple(incident.routes),
                          error_codes=tuple(incident.error_codes), baselines=baselines)


def grounding_summary(report) -> dict:
    """What the incidents table keeps of a grounding report."""
    data = report.to_dict()
    ungrounded = [v for v in data.get("claims", []) if not v.get("grounded")]
    return {
        **report.share.fields(digits=4),  # ratio None (with its reason) when there is nothing to verify
        "claims": report.grounded + report.ungrounded,
        "grounded": report.grounded,
        "ungrounded": ungrounded[:MAX_LISTED_UNGROUNDED],
        "invented": [v.claim.text for v in report.invented_entities],
        "unverifiable_sentences": report.unverifiable_sentences,
        "summary": report.summary(),
    }


def write_summaries(con: duckdb.DuckDBPyConnection, incidents: list, gateway: LLMGateway, redactor: Redactor,
                    max_examples: int = MAX_EXAMPLES) -> None:
    """Fill `summary`, `writer` and `grounding` of each incident in place. A Redactor built with the
    configured secret keeps pseudonyms (user-…, ip-…) stable across runs and processes. The rule incidents'
    facts come from the warehouse in one batch, and every text is grounded in one batch after writing."""
    write_change_texts(con, [i for i in incidents if i.kind == CHANGE])
    incidents = [i for i in incidents if i.kind != CHANGE]
    rules = [i for i in incidents if i.kind == "threshold"]
    facts_of = dict(zip((id(i) for i in rules), hour_incident_facts(con, rules, redactor, max_examples=max_examples)))
    parts = []  # (incident index, part, text, scope): what is grounded, and against which period
    offline = {}  # incident index -> the offline writer's answer, for the incidents a model worded
    for k, incident in enumerate(incidents):
        request, check, facts = _request(incident, facts_of, redactor)
        data, writer = _answer(gateway, request, check, facts, incident)
        incident.summary, incident.root_cause_analysis, worded = _texts(incident, data, writer)
        incident.writer = writer
        parts += [(k, part, text, scope) for part, text, scope in worded]
        if not writer.startswith(OFFLINE_WRITER):
            offline[k] = request.offline
    reports = verify_texts(con, [(text, scope) for _, _, text, scope in parts])
    by_part: dict[int, dict[str, GroundingReport]] = {k: {} for k in range(len(incidents))}
    for (k, part, _, _), report in zip(parts, reports):
        by_part[k][part] = report
    _keep_offline_where_the_model_says_nothing(con, incidents, offline, by_part)
    for k, incident in enumerate(incidents):
        incident.grounding = grounding_summary(merged_report(list(by_part[k].values())))


def _request(incident, facts_of: dict, redactor: Redactor):
    """(request, the check of its answer, the facts) for one incident."""
    if incident.kind == LATENCY:
        facts = latency_facts(incident)
        return latency_summary_request(facts), latency_answer_problem, facts
    if incident.kind != "threshold":  # several groups, one cause
        facts = cluster_facts(incident, redactor)
        return cluster_analysis_request(facts), cluster_answer_problem, facts
    facts = facts_of[id(incident)]
    return incident_summary_request(facts), missing_required_facts, facts


def _texts(incident, data: dict, writer: str) -> tuple[str, str, list[tuple[str, str, GroundingScope]]]:
    """(summary, root-cause text, the parts grounded with the period each speaks of) of an answer. A latency
    incident's parts are its summary (its slowest route during it), its baseline (before its onset) and its
    root-cause text; another incident's text is one part."""
    if incident.kind == LATENCY:
        summary = " ".join(t for t in (data["summary"], data.get("baseline", "")) if t.strip())
        cause = data.get("root_cause_analysis", "")
        lead, before = latency_scopes(incident)
        parts = [("summary", data["summary"], lead), ("baseline", data.get("baseline", ""), before),
                 ("root_cause_analysis", cause, grounding_scope(incident))]
        return summary, cause, [(part, text, scope) for part, text, scope in parts if text.strip()]
    # The verdict as computed, in the offline writer's words, unless a model worded it: written here,
    # from the values themselves (a redacted one would not be the value the failures carry).
    model_words = data.get("root_cause_analysis") if not writer.startswith(OFFLINE_WRITER) else None
    cause = model_words or root_cause(root_cause_facts(incident, None))
    return data["summary"], cause, [("text", _joined(data["summary"], cause), grounding_scope(incident))]


def _keep_offline_where_the_model_says_nothing(con: duckdb.DuckDBPyConnection, incidents: list, offline: dict,
                                               by_part: dict[int, dict[str, GroundingReport]]) -> None:
    """A part of a model's text with nothing to verify (or left out) stands only where the offline writer's
    same part has nothing to verify either; otherwise the incident keeps the offline writer's text, grounded,
    and its writer says why. The offline texts are grounded only for the incidents in question."""
    candidates = []  # (incident index, the offline answer, its parts, the model's parts with nothing to verify)
    for k, answer in offline.items():
        data = answer()
        parts = _texts(incidents[k], data, OFFLINE_WRITER)[2]
        silent = [part for part, _, _ in parts if part not in by_part[k] or not by_part[k][part].has_claims]
        if silent:
            candidates.append((k, data, parts, silent))
    if not candidates:
        return
    reports = iter(verify_texts(con, [(text, scope) for _, _, parts, _ in candidates for _, text, scope in parts]))
    for k, data, parts, silent in candidates:
        grounded = {part: next(reports) for part, _, _ in parts}
        stated = [part for part in silent if grounded[part].has_claims]
        if not stated:
            continue  # the offline writer has nothing to verify there either
        incident, model = incidents[k], incidents[k].writer
        problem = (f"{NOTHING_TO_VERIFY} in its {stated[0].replace('_', ' ')}, where the offline text states "
                   f"{len(grounded[stated[0]].claims)} claim(s)")
        log.warning("the text from %s rejected for %s: %s; using the offline writer", model, incident.incident_id,
                    problem)
        incident.summary, incident.root_cause_analysis, _ = _texts(incident, data, OFFLINE_WRITER)
        incident.writer = f"{OFFLINE_WRITER} (rejected {model}: {problem})"
        by_part[k] = grounded


def _answer(gateway: LLMGateway, request, check, facts: dict, incident) -> tuple[dict, str]:
    """The gateway's answer and its writer; the offline writer's when a model's answer fails `check`."""
    result = gateway.complete(request)
    data, writer = result.data, result.writer
    if writer != OFFLINE_WRITER:
        problem = check(data, facts)
        if problem:
            log.warning("%s from %s rejected for %s: %s; using the offline writer",
                        request.prompt_name, writer, incident.incident_id, problem)
            data, writer = request.offline(), f"{OFFLINE_WRITER} (rejected {writer}: {problem})"
    return data, writer


def latency_scopes(incident) -> tuple[GroundingScope, GroundingScope]:
    """The periods a latency incident's summary speaks of: its slowest route during its own segment, and the
    same route over the hours before the incident's onset."""
    evidence = incident.evidence
    lead = evidence.get("lead") or {"service": incident.service, "route": incident.route,
                                     "start": incident.start_time, "end": incident.end_time}
    unit = {"services": (lead["service"],), "routes": (lead["route"],)}
    before = evidence["before"]
    return (GroundingScope(start=lead["start"], end=lead["end"], **unit),
            GroundingScope(start=datetime.fromisoformat(before["start"]), end=datetime.fromisoformat(before["end"]),
                           **unit))


def merged_report(reports: list[GroundingReport]) -> GroundingReport:
    """One report of a text grounded in parts (each against its own period)."""
    if len(reports) == 1:
        return reports[0]
    return GroundingReport(claims=[c for r in reports for c in r.claims], grounded=sum(r.grounded for r in reports),
                           ungrounded=sum(r.ungrounded for r in reports),
                           unverifiable_sentences=[s for r in reports for s in r.unverifiable_sentences],
                           skipped=[c for r in reports for c in r.skipped],
                           facts=next((r.facts for r in reports if r.facts), {}),
                           elapsed_ms=sum(r.elapsed_ms for r in reports))


def incident_text(incident) -> str:
    """What is grounded of an incident: its summary and its root-cause text."""
    return _joined(incident.summary, incident.root_cause_analysis)


def _joined(summary: str, cause: str | None) -> str:
    return summary + (" " + cause if cause else "")
