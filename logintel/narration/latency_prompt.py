"""The prompt of a latency incident's text: its system text, the JSON schema of the answer, the offline
writer that answers the same schema, and what an acceptable answer must contain.

The answer has three parts because each is grounded against its own period: `summary` states the
slowest route during the incident (its window, p50, p99, requests, errors), `baseline` the same route in
the hours before the onset, and `root_cause_analysis` the routes that slowed together and the slowest
dependency, over the whole incident.
"""
from __future__ import annotations

from logintel.llm.fencing import DATA_POLICY, FACTS_POLICY, facts_prompt
from logintel.llm.gateway import LLMRequest
from logintel.trust.wording import duration

LATENCY_SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "baseline": {"type": "string"},
                   "root_cause_analysis": {"type": "string"}},
    "required": ["summary", "baseline", "root_cause_analysis"],
    "additionalProperties": False,
}

LATENCY_SUMMARY_SYSTEM = (
    "You are the on-call analyst of logintel. A route got much slower than usual, perhaps without errors. "
    "Write JSON with three fields. `summary`: one line with the service and route, when it began (UTC) and "
    "for how many minutes, its p50 and p99 latency, requests and errors, from FACTS.during. `baseline`: one "
    "line with the same route's p50, p99 and requests in FACTS.before, with when that period began and how many "
    "hours it lasted. `root_cause_analysis`: when FACTS.group is given, the routes that slowed together and "
    "for how many minutes; then FACTS.dependency (its value and attribute, written apart, never as "
    "attribute=value) as the slowest dependency that got slower, or, without one, that the extra time is "
    "FACTS.slowed's own. Use only the numbers in FACTS and the names its references stand for. " + FACTS_POLICY
    + " " + DATA_POLICY + " Answer as JSON matching the schema."
)


def _quantiles(period: dict) -> str:
    return f"p50 {duration(period['p50_ms'])}, p99 {duration(period['p99_ms'])} across {period['requests']} requests"


def latency_summary(facts: dict) -> dict:
    """The offline writer: the facts in a fixed form."""
    during, before, window = facts["during"], facts["before"], facts["window"]
    summary = (f"{facts['service']} {facts['route']}: latency up from {window['start']} UTC for "
               f"{window['minutes']} min — {_quantiles(during)}, {_errors(during['errors'])}.")
    baseline = (f"Before, for {before['hours']} h from {before['start']} UTC: {_quantiles(before)}."
                if before.get("p50_ms") is not None else "")
    return {"summary": summary, "baseline": baseline, "root_cause_analysis": _cause(facts)}


def _errors(count: int) -> str:
    return f"{count} error" if count == 1 else f"{count} errors"


def _cause(facts: dict) -> str:
    group, dependency, slowed = facts.get("group"), facts.get("dependency"), facts["slowed"]
    text = ""
    if group:
        routes = ", ".join(f"{s} {r}" for s, r in group["routes"])
        if group["count"] > len(group["routes"]):
            routes += f" and {group['count'] - len(group['routes'])} more"
        text = (f"{group['count']} routes slowed together from {group['start']} UTC for {group['minutes']} min, "
                f"all slowed by {slowed}: {routes}. ")
    if dependency:
        return text + f"The slowest dependency that got slower: {dependency['value']} ({dependency['attribute']})."
    return text + f"No dependency got slower: the extra time is {slowed}'s own."


def latency_summary_request(facts: dict) -> LLMRequest:
    user = facts_prompt(facts)
    return LLMRequest(prompt_name="latency_summary", prompt_version="2", system=LATENCY_SUMMARY_SYSTEM,
                      user=user, schema=LATENCY_SUMMARY_SCHEMA, schema_name="latency_summary",
                      offline=lambda: latency_summary(facts), max_output_tokens=400)


def latency_answer_problem(answer: dict, facts: dict) -> str | None:
    """Why an answer is unacceptable, or None: a summary must name the service and the request count, and
    the root-cause text the slowed component (a model told "all is well" by its input fails here)."""
    text = answer.get("summary", "")
    if not text.strip():
        return "empty summary"
    if facts["service"].lower() not in text.lower():
        return f"summary does not name the service {facts['service']!r}"
    if str(facts["during"]["requests"]) not in text.replace(",", ""):
        return f"summary does not state the request count {facts['during']['requests']}"
    if facts["slowed"].lower() not in answer.get("root_cause_analysis", "").lower():
        return f"root_cause_analysis does not name {facts['slowed']!r}"
    return None
