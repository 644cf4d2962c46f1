"""The prompt of a latency incident's text: its system text, the offline writer's three parts, and the request
that asks a model to reword their sentences (`logintel.llm.tasks.reword_request`).

The text has three parts because each is grounded against its own period: `summary` states the slowest route
during the incident (its window, p50, p99, requests, errors), `baseline` the same route in the hours before the
onset, and `root_cause_analysis` the routes that slowed together and the slowest dependency, over the whole
incident. The model rewords each sentence of them under its id (`summary-1`, `baseline-1`, …).
"""
from __future__ import annotations

from logintel.llm.fencing import DATA_POLICY, FACTS_POLICY
from logintel.llm.gateway import LLMRequest
from logintel.llm.tasks import REWORD_RULES, reword_request
from logintel.trust.wording import duration

LATENCY_SUMMARY_SYSTEM = (
    "You are the on-call analyst of logintel. A route got much slower than usual, perhaps without errors. Reword "
    "the incident's text so it reads well: its summary (the service and route, when it began (UTC) and for how "
    "many minutes, its p50 and p99 latency, requests and errors), its baseline (the same route before, with when "
    "that period began and how many hours it lasted) and its root cause (the routes that slowed together, the "
    "slowest dependency that got slower, its value and attribute written apart, never as attribute=value). "
    + REWORD_RULES + " " + FACTS_POLICY + " " + DATA_POLICY + " Answer as JSON matching the schema."
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


def latency_summary_request(facts: dict, drafts: dict[str, str]) -> LLMRequest:
    """`drafts`: the sentences of `latency_summary(facts)`, by id."""
    # 3: the model rewords the offline writer's sentences, each bound to its draft (was: three free-form parts)
    return reword_request("latency_summary", "3", LATENCY_SUMMARY_SYSTEM, facts, {}, "names the FACTS refer to",
                          drafts, max_output_tokens=600)
