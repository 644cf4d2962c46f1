"""The prompts logintel sends, one per task: system text, the JSON schema of the answer, the
offline writer that answers the same schema, and what an acceptable answer must contain.

The user message is FACTS (numbers, ids, references) and, fenced, the names they refer to and the log text
(`logintel.llm.fencing.facts_prompt`); the offline writer and the checks read the facts as computed."""
from __future__ import annotations

from logintel.llm import offline
from logintel.llm.fencing import DATA_POLICY, FACTS_POLICY, facts_prompt
from logintel.llm.gateway import LLMRequest

INCIDENT_SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}

INCIDENT_SUMMARY_SYSTEM = (
    "You are the on-call analyst of logintel. Write ONE line (at most 300 characters) that an "
    "operator can act on: service and route, error code, how many errors in which UTC time window, "
    "the error rate and users affected, and the change against the previous period when given. "
    "Use only the numbers in FACTS and the names its references stand for; do not invent causes, services or ids. "
    + FACTS_POLICY + " " + DATA_POLICY + " Answer as JSON matching the schema."
)


def _facts_without_log_text(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if k not in ("top_messages", "examples")}


def incident_summary_request(facts: dict) -> LLMRequest:
    log_text = {"top_messages": facts.get("top_messages", []), "examples": facts.get("examples", [])}
    user = facts_prompt(_facts_without_log_text(facts), log_text, "names the FACTS refer to, log excerpts")
    return LLMRequest(prompt_name="incident_summary", prompt_version="2", system=INCIDENT_SUMMARY_SYSTEM,
                      user=user, schema=INCIDENT_SUMMARY_SCHEMA, schema_name="incident_summary",
                      offline=lambda: offline.incident_summary(facts), max_output_tokens=200)


def missing_required_facts(answer: dict, facts: dict) -> str | None:
    """Why an answer is unacceptable, or None. A summary that does not name the service and the
    error count is not about this incident (an injected "all systems healthy" fails here)."""
    text = answer.get("summary", "")
    if not text.strip():
        return "empty summary"
    if facts["service"].lower() not in text.lower():
        return f"summary does not name the service {facts['service']!r}"
    if str(facts["errors"]) not in text:
        return f"summary does not state the error count {facts['errors']}"
    return None


CLUSTER_ANALYSIS_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "root_cause_analysis": {"type": "string"}},
    "required": ["summary", "root_cause_analysis"],
    "additionalProperties": False,
}

CLUSTER_ANALYSIS_SYSTEM = (
    "You are the on-call analyst of logintel. Several routes failed together from one cause. Write a one-line "
    "`summary` (services, error codes, how many errors in which UTC window, users affected) and a "
    "`root_cause_analysis` of one to three sentences that states FACTS.root_cause: the names its attribute and "
    "value refer to, written exactly as attribute=value, and the numbers of its first evidence item; when its "
    "kind is unknown, say that no single cause stands out. Name no other cause and no number that is not in "
    "FACTS; then say what to check first. " + FACTS_POLICY + " " + DATA_POLICY + " Answer as JSON matching the "
    "schema."
)


def cluster_analysis_request(facts: dict) -> LLMRequest:
    data = {"templates": facts.get("templates", [])}
    rest = {k: v for k, v in facts.items() if k != "templates"}
    user = facts_prompt(rest, data, "names the FACTS refer to, message templates")
    return LLMRequest(prompt_name="cluster_analysis", prompt_version="3", system=CLUSTER_ANALYSIS_SYSTEM,
                      user=user, schema=CLUSTER_ANALYSIS_SCHEMA, schema_name="cluster_analysis",
                      offline=lambda: offline.cluster_analysis(facts), max_output_tokens=400)


def cluster_answer_problem(answer: dict, facts: dict) -> str | None:
    """A cluster answer must name at least two of the services, the error count and the computed cause."""
    text = answer.get("summary", "") + " " + answer.get("root_cause_analysis", "")
    named = [s for s in facts["services"] if s.lower() in text.lower()]
    if len(named) < min(2, len(facts["services"])):
        return "answer does not name the services that failed together"
    if str(facts["errors"]) not in text:
        return f"answer does not state the error count {facts['errors']}"
    cause = facts.get("root_cause") or {}
    if cause.get("kind") not in (None, "unknown") and cause.get("value") and \
            cause["value"] not in answer.get("root_cause_analysis", ""):
        return f"root_cause_analysis does not name the computed cause {cause['attribute']}={cause['value']}"
    return None
