"""The digest document: the day's facts worded (by a model when one is configured, else by the offline
writer), every sentence grounded against its own source's facts, the result ready to render.

Numbers never come from the model: it only rewords drafts the code wrote. Each of its sentences names the
item it rewords and stands only where it states exactly that draft's claims (`logintel.trust.draft_binding`)
and grounds as well as the draft; any other gives way to its draft (the item keeps `reworded_rejected`) or,
naming no item, is dropped. `grounding.rewording` counts the sentences offered, accepted and replaced; with
none accepted the writer is the offline one."""
from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb

from logintel.digest.facts import DigestFacts
from logintel.digest.prompt import from_prompt_keys, items_request
from logintel.llm.call_log import CallRecord
from logintel.llm.gateway import LLMGateway, LLMRequest
from logintel.llm.offline import OFFLINE_WRITER
from logintel.trust.draft_binding import Binding, Draft, bind, unworded
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, attribute_lookup, ground_text, summarize


def compose_digest(con: duckdb.DuckDBPyConnection, facts: DigestFacts, gateway: LLMGateway) -> dict:
    """The digest document (`render.write_digest` writes it): sections, grounding, writer, LLM usage."""
    day = facts.day
    headline = headline_item(facts)
    items = [headline, *facts.items()]
    request = items_request("daily_digest", headline, items[1:])
    writer, reason, record, rewording = settle_items(con, items, gateway, request, day.day,
                                                     attribute_lookup(con, day.start, day.end))
    return {
        "date": day.key, "timezone": day.timezone,
        "hours_covered": [h.isoformat() for h in facts.covered], "hours_missing": [h.isoformat() for h in facts.missing],
        "headline": headline["text"], "headline_item": public_item(headline),
        "writer": writer, "fallback_reason": reason,
        "llm": {"calls": 1, "tokens": record.prompt_tokens + record.completion_tokens, "cost_usd": record.cost_usd,
                "latency_ms": round(record.latency_ms, 1), "prompt_chars": len(request.user)},
        "top_issues": [public_item(i) for i in facts.issues],
        "trends": [public_item(i) for i in facts.trends],
        "recommendations": [public_item(i) for i in facts.recommendations],
        "pipeline": public_item(facts.pipeline) if facts.pipeline else None,
        "slo": facts.slo,
        "grounding": {**summarize(items), "rewording": rewording},
        "charts": facts.charts,
        "notes": facts.notes,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def settle_items(con: duckdb.DuckDBPyConnection, items: list[dict], gateway: LLMGateway, request: LLMRequest,
                 day: date, exists) -> tuple[str, str | None, CallRecord, dict]:
    """Word `items` through the gateway and ground each sentence (in place); (writer, fallback reason, call,
    the rewording's counts: offered, accepted, replaced, unworded)."""
    result = gateway.complete(request)
    writer, reason = result.writer, result.fallback_reason
    known = KnownEntities.from_warehouse(con)
    drafts = [Draft(i["key"], i["text"]) for i in items]
    if writer == OFFLINE_WRITER:
        binding = unworded(drafts)
    else:
        answer = from_prompt_keys(result.data, items)  # the model knew each item by its short key
        binding = bind(drafts, [(s.get("key"), s.get("text")) for s in answer.get("sentences") or []
                                if isinstance(s, dict)], known, day)
    for item in items:
        _settle(item, binding, writer, known, day, exists)
    if writer != OFFLINE_WRITER and not binding.accepted:
        reason = (f"none of the model's {binding.offered} sentence(s) accepted: {binding.first_problem()}"
                  if binding.offered else "the model's answer has no sentence")
        writer = OFFLINE_WRITER
    return writer, reason, result.record, binding.counts()


def headline_item(facts: DigestFacts) -> dict:
    """The offline headline: how many issues (the worst named), trends and recommendations, and coverage."""
    hours = len(facts.covered) + len(facts.missing)
    issues, trends, recs = len(facts.issues), len(facts.trends), len(facts.recommendations)
    worst = f" — the worst: {facts.issues[0]['text'].split(':')[0]}" if facts.issues else ""
    text = (f"{issues} top issue{'s' if issues != 1 else ''} today{worst}; {trends} anomaly trend"
            f"{'s' if trends != 1 else ''} and {recs} efficiency recommendation{'s' if recs != 1 else ''}; "
            f"{len(facts.covered)} of {hours} hours covered.")
    return {"key": f"headline:{facts.day.key}", "kind": "headline", "text": text, "source": f"digest:{facts.day.key}",
            "facts": ItemFacts(values=[issues, trends, recs, len(facts.covered), hours],
                               durations_ms=[hours * 3_600_000])}


def _settle(item: dict, binding: Binding, writer: str, known: KnownEntities, day, exists) -> None:
    """Ground the item's text: the model's sentence where the binding accepted it and it grounds where the draft
    does, else the draft (the item says why the model's gave way)."""
    rewording = binding.of(item["key"])
    draft = ground_text(item["text"], item["facts"], known, day, exists)
    text, grounding = item["text"], draft
    if rewording.accepted:
        worded = ground_text(rewording.offered, item["facts"], known, day, exists)
        if worded["grounded"] is False and draft["grounded"] is not False:
            binding.reject(item["key"], worded["reason"] or "the model's sentence failed grounding")
        else:
            text, grounding = rewording.offered, worded
    if rewording.offered is not None and not rewording.accepted:
        item["reworded_rejected"] = rewording.problem
    item["writer"] = writer if rewording.accepted else OFFLINE_WRITER
    item["text"] = text
    item["grounding"] = grounding
    item["grounded"] = grounding["grounded"]
    item["grounding_reason"] = grounding["reason"]


def public_item(item: dict) -> dict:
    """The item as a document (digest or briefing) keeps it: facts as plain data, the chart series left to
    `charts`."""
    shown = {k: v for k, v in item.items() if k not in ("facts", "chart")}
    shown["facts"] = item["facts"].to_dict() if isinstance(item.get("facts"), ItemFacts) else item.get("facts")
    return shown

