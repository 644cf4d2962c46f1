"""The digest document: the day's facts worded (by a model when one is configured, else by the offline
writer), every sentence grounded against its own source's facts, the result ready to render.

A model's answer that is malformed or incomplete is replaced whole by the offline writer's; a single
sentence of it that fails grounding where the offline draft passes, or that has nothing to verify where the
draft states claims, is replaced by the draft, and the item says so (`grounding.replaced` counts them).
Numbers never come from the model: it only rewords drafts the code wrote."""
from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb

from logintel.digest.facts import DigestFacts
from logintel.digest.prompt import answer_problem, from_prompt_keys, items_request, offline_answer
from logintel.llm.call_log import CallRecord
from logintel.llm.gateway import LLMGateway, LLMRequest
from logintel.llm.offline import OFFLINE_WRITER
from logintel.trust.claim_share import NOTHING_TO_VERIFY
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, attribute_lookup, ground_text, summarize


def compose_digest(con: duckdb.DuckDBPyConnection, facts: DigestFacts, gateway: LLMGateway) -> dict:
    """The digest document (`render.write_digest` writes it): sections, grounding, writer, LLM usage."""
    day = facts.day
    headline = headline_item(facts)
    items = [headline, *facts.items()]
    request = items_request("daily_digest", headline, items[1:])
    writer, reason, record = settle_items(con, items, gateway, request, day.day,
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
        "grounding": summarize(items),
        "charts": facts.charts,
        "notes": facts.notes,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def settle_items(con: duckdb.DuckDBPyConnection, items: list[dict], gateway: LLMGateway, request: LLMRequest,
                 day: date, exists) -> tuple[str, str | None, CallRecord]:
    """Word `items` through the gateway and ground each sentence (in place); (writer, fallback reason, call)."""
    result = gateway.complete(request)
    answer, writer, reason = result.data, result.writer, result.fallback_reason
    if writer != OFFLINE_WRITER:
        answer = from_prompt_keys(answer, items)  # the model knew each item by its short key
    problem = answer_problem(answer, items) if writer != OFFLINE_WRITER else None
    if problem:
        answer, writer, reason = offline_answer(items), OFFLINE_WRITER, f"unusable answer: {problem}"
    worded = {s["key"]: s["text"] for s in answer["sentences"]}
    known = KnownEntities.from_warehouse(con)
    for item in items:
        _settle(item, worded.get(item["key"], item["text"]), writer, known, day, exists)
    return writer, reason, result.record


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


def _settle(item: dict, text: str, writer: str, known: KnownEntities, day, exists) -> None:
    """Ground the worded sentence; keep the draft instead when the wording fails where the draft holds, or
    states nothing checkable where the draft states something (a reassurance in place of the figures)."""
    grounding = ground_text(text, item["facts"], known, day, exists)
    item["writer"] = writer
    if writer != OFFLINE_WRITER and grounding["grounded"] is not True:
        draft = ground_text(item["text"], item["facts"], known, day, exists)
        rejected = rewording_problem(grounding, draft)
        if rejected:
            text, grounding = item["text"], draft
            item["writer"] = OFFLINE_WRITER
            item["reworded_rejected"] = rejected
    item["text"] = text
    item["grounding"] = grounding
    item["grounded"] = grounding["grounded"]
    item["grounding_reason"] = grounding["reason"]


def rewording_problem(worded: dict, draft: dict) -> str | None:
    """Why a model's sentence gives way to its draft (both as `ground_text` grounds them), or None: it fails
    grounding where the draft holds, or it has nothing to verify while the draft states claims."""
    if worded["grounded"] is False and draft["grounded"] is not False:
        return worded["reason"] or "the model's sentence failed grounding"
    if worded["grounded"] is None and draft["claims"]:
        return f"{NOTHING_TO_VERIFY} in the model's sentence, while its draft states {draft['claims']} claim(s)"
    return None


def public_item(item: dict) -> dict:
    """The item as a document (digest or briefing) keeps it: facts as plain data, the chart series left to
    `charts`."""
    shown = {k: v for k, v in item.items() if k not in ("facts", "chart")}
    shown["facts"] = item["facts"].to_dict() if isinstance(item.get("facts"), ItemFacts) else item.get("facts")
    return shown

