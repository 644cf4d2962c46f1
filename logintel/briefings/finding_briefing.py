"""A situation briefing for one high or critical finding (an attack the hourly security pass saw): what,
since when, who is affected, what to do — from the finding's own figures, grounded like every sentence, and
written in the incidents' briefing format so the same files, UI and delivery carry it."""
from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from logintel.agents.finding import Finding
from logintel.digest.compose import public_item, settle_items
from logintel.digest.prompt import items_request
from logintel.llm.gateway import LLMGateway
from logintel.store.findings import finding_documents
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts, attribute_lookup, summarize

BRIEFED_SEVERITIES = ("critical", "high")


class FindingGone(ValueError):
    """The finding a briefing was asked for is no longer stored (a later run of its scope dropped it)."""


def finding_candidates(findings: list[Finding]) -> list[dict]:
    """The findings a briefing is owed for: id, day and severity."""
    return [{"finding_id": f.finding_id, "day": f.day, "severity": f.severity} for f in findings
            if f.severity in BRIEFED_SEVERITIES]


def compose_finding_briefing(con: duckdb.DuckDBPyConnection, finding_id: str, day: str, gateway: LLMGateway) -> dict:
    document = next((d for d in finding_documents(con, day) if d["finding_id"] == finding_id), None)
    if document is None:
        raise FindingGone(f"no finding {finding_id!r} on {day} in the warehouse")
    finding = Finding.from_dict(document)
    items = _items(finding)
    start, end = finding.window or (datetime.fromisoformat(day), datetime.fromisoformat(day))
    writer, reason, record = settle_items(con, items, gateway, items_request("situation_briefing", None, items),
                                          start.date(), attribute_lookup(con, start, end))
    return {"incident_id": finding_id, "finding_id": finding_id, "agent": finding.agent, "kind": finding.kind,
            "title": f"{finding.severity} · {finding.title}", "severity": finding.severity, "writer": writer,
            "fallback_reason": reason, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "llm": {"tokens": record.prompt_tokens + record.completion_tokens, "cost_usd": record.cost_usd,
                    "latency_ms": round(record.latency_ms, 1)},
            "sections": [public_item(i) for i in items], "grounding": summarize(items)}


def _items(finding: Finding) -> list[dict]:
    evidence, entities = finding.evidence, finding.entities
    addresses = entities.get("client_ips") or []
    accounts = evidence.get("accounts_targeted") or len(entities.get("accounts") or [])
    compromised = entities.get("compromised_accounts") or []
    rows = [("What", finding.text, finding.facts)]
    if finding.window:
        start, end = finding.window
        minutes = (end - start).total_seconds() / 60
        rows.append(("Since when", f"From {w.clock(start)} to {w.clock(end)} UTC ({minutes:.0f} min).",
                     ItemFacts(durations_ms=[minutes * 60_000], windows=[(start, end)])))
    who = []
    if addresses:
        who.append(f"{w.count(len(addresses))} source address{'es' if len(addresses) != 1 else ''}")
    if accounts:
        who.append(f"{w.count(accounts)} account{'s' if accounts != 1 else ''} targeted")
    if compromised:
        who.append(f"{w.count(len(compromised))} that may be compromised")
    if who:
        rows.append(("Who is affected", ", ".join(who).capitalize() + ".",
                     ItemFacts(counts=[len(addresses), accounts, len(compromised)])))
    if finding.action:
        rows.append(("Look first at", finding.action, ItemFacts(counts=[len(addresses), len(compromised), accounts])))
    return [{"key": f"briefing:{finding.finding_id}:{heading}", "heading": heading, "text": text,
             "source": f"finding:{finding.finding_id}", "facts": facts} for heading, text, facts in rows]
