"""The prompts logintel sends for incident texts, one per kind of incident: system text, and the request that
asks a model to reword the offline writer's drafts (the answer schema, and the offline answer in it).

The user message is FACTS (numbers, ids, references) and, fenced, the names they refer to, the log text and the
drafts: the offline writer's text split into sentences, each with an id (`summary-1`, `root_cause_analysis-2`, …).
The model answers with sentences, each naming the draft it rewords; `logintel.trust.draft_binding` (called by
`logintel.narration.incident_text`) keeps a sentence only where it states exactly its draft's claims."""
from __future__ import annotations

from logintel.llm.fencing import DATA_POLICY, FACTS_POLICY, facts_prompt
from logintel.llm.gateway import LLMRequest

REWORD_SCHEMA = {
    "type": "object",
    "properties": {"sentences": {"type": "array", "items": {
        "type": "object", "properties": {"draft_id": {"type": "string"}, "text": {"type": "string"}},
        "required": ["draft_id", "text"], "additionalProperties": False}}},
    "required": ["sentences"],
    "additionalProperties": False,
}

REWORD_RULES = (
    "DATA.drafts holds the sentences logintel's own writer drafted from FACTS, each under its id. Answer with "
    "`sentences`: for each draft, one sentence under its `draft_id` saying the same thing more readably, with "
    "every number, name, time window, id and field=value exactly as the draft writes it, none added and none "
    "dropped, and no sentence of your own. A sentence that states anything else, leaves anything out or names an "
    "id it was not given is replaced by its draft."
)

INCIDENT_SUMMARY_SYSTEM = (
    "You are the on-call analyst of logintel. Reword an incident's text (a summary an operator can act on: "
    "service and route, error code, how many errors in which UTC time window, the error rate and users affected, "
    "the change against the previous period; then its root cause) so it reads well. " + REWORD_RULES + " "
    + FACTS_POLICY + " " + DATA_POLICY + " Answer as JSON matching the schema."
)

CLUSTER_ANALYSIS_SYSTEM = (
    "You are the on-call analyst of logintel. Several routes failed together from one cause. Reword the "
    "incident's summary (services, error codes, how many errors in which UTC window, users affected) and its root "
    "cause analysis so they read well; name no other cause. " + REWORD_RULES + " " + FACTS_POLICY + " "
    + DATA_POLICY + " Answer as JSON matching the schema."
)


def reword_request(prompt_name: str, prompt_version: str, system: str, facts: dict, data: dict, label: str,
                   drafts: dict[str, str], max_output_tokens: int) -> LLMRequest:
    """The request to reword `drafts` (the offline writer's sentences by id): FACTS, and fenced, `data` and the
    drafts; its offline answer is every draft as written."""
    user = facts_prompt(facts, {**data, "drafts": dict(drafts)}, f"{label}, drafts")
    offline = {"sentences": [{"draft_id": key, "text": text} for key, text in drafts.items()]}
    return LLMRequest(prompt_name=prompt_name, prompt_version=prompt_version, system=system, user=user,
                      schema=REWORD_SCHEMA, schema_name=prompt_name, offline=lambda: offline,
                      max_output_tokens=max_output_tokens)


def _facts_without_log_text(facts: dict) -> dict:
    return {k: v for k, v in facts.items() if k not in ("top_messages", "examples")}


def incident_summary_request(facts: dict, drafts: dict[str, str]) -> LLMRequest:
    """A rule incident's text (`drafts`: the sentences of its summary and root cause as the offline writer wrote
    them, by id)."""
    log_text = {"top_messages": facts.get("top_messages", []), "examples": facts.get("examples", [])}
    # 3: the model rewords the offline writer's sentences, each bound to its draft (was: one free-form summary)
    return reword_request("incident_summary", "3", INCIDENT_SUMMARY_SYSTEM, _facts_without_log_text(facts),
                          log_text, "names the FACTS refer to, log excerpts", drafts, max_output_tokens=500)


def cluster_analysis_request(facts: dict, drafts: dict[str, str]) -> LLMRequest:
    data = {"templates": facts.get("templates", [])}
    rest = {k: v for k, v in facts.items() if k != "templates"}
    # 4: the model rewords the offline writer's sentences, each bound to its draft
    return reword_request("cluster_analysis", "4", CLUSTER_ANALYSIS_SYSTEM, rest, data,
                          "names the FACTS refer to, message templates", drafts, max_output_tokens=600)
