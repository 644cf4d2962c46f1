"""Writing each incident's one-line summary through the LLM gateway, then grounding it.

Facts go out redacted and fenced; an answer that is not about the incident (it does not name the
service or the error count: the signature of an obeyed injection) is replaced by the offline
writer's; every kept text is checked claim by claim against the warehouse.
"""
from __future__ import annotations

import logging

import duckdb

from logintel.llm.hour_facts import hour_incident_facts
from logintel.llm.prompt_facts import MAX_EXAMPLES, cluster_facts, root_cause_facts
from logintel.llm.gateway import LLMGateway
from logintel.llm.offline import OFFLINE_WRITER, root_cause
from logintel.llm.redaction import Redactor
from logintel.llm.tasks import (cluster_analysis_request, cluster_answer_problem, incident_summary_request,
                                missing_required_facts)
from logintel.trust import GroundingScope
from logintel.trust.batch import verify_texts

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
        "ratio": round(report.ratio, 4),
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
    rules = [i for i in incidents if i.kind == "threshold"]
    facts_of = dict(zip((id(i) for i in rules), hour_incident_facts(con, rules, redactor, max_examples=max_examples)))
    for incident in incidents:
        if incident.kind != "threshold":  # several groups, one cause
            facts = cluster_facts(incident, redactor)
            request, check = cluster_analysis_request(facts), cluster_answer_problem
        else:
            facts = facts_of[id(incident)]
            request, check = incident_summary_request(facts), missing_required_facts
        result = gateway.complete(request)
        data, writer = result.data, result.writer
        if writer != OFFLINE_WRITER:
            problem = check(data, facts)
            if problem:
                log.warning("%s from %s rejected for %s: %s; using the offline writer",
                            request.prompt_name, writer, incident.incident_id, problem)
                data, writer = request.offline(), f"{OFFLINE_WRITER} (rejected {writer}: {problem})"
        incident.summary, incident.writer = data["summary"], writer
        # The verdict as computed, in the offline writer's words, unless a model worded it: written here,
        # from the values themselves (a redacted one would not be the value the failures carry).
        model_words = data.get("root_cause_analysis") if not writer.startswith(OFFLINE_WRITER) else None
        incident.root_cause_analysis = model_words or root_cause(root_cause_facts(incident, None))
    reports = verify_texts(con, [(incident_text(i), grounding_scope(i)) for i in incidents])
    for incident, report in zip(incidents, reports):
        incident.grounding = grounding_summary(report)


def incident_text(incident) -> str:
    """What is grounded of an incident: its summary and its root-cause text."""
    return incident.summary + (" " + incident.root_cause_analysis if incident.root_cause_analysis else "")
