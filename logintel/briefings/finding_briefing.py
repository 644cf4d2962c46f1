"""The finding subject of a situation briefing (a high or critical attack the hourly security pass saw):
what, since when, who is affected, what to do — each item drafted from the finding's own figures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import duckdb

from logintel.agents.finding import Finding
from logintel.briefings.subject import Situation, SubjectGone, candidates
from logintel.store.findings import finding_documents
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts


@dataclass(frozen=True)
class FindingSubject:
    """A finding, by id and the day it is stored under; gone once a later run of its scope dropped it."""
    finding_id: str
    day: str
    kind: ClassVar[str] = "finding"

    @property
    def id(self) -> str:
        return self.finding_id

    def fields(self) -> dict[str, str]:
        return {"finding_id": self.finding_id, "day": self.day}

    def read(self, con: duckdb.DuckDBPyConnection) -> Situation:
        document = next((d for d in finding_documents(con, self.day) if d["finding_id"] == self.finding_id), None)
        if document is None:
            raise SubjectGone(f"no finding {self.finding_id!r} on {self.day} in the warehouse")
        finding = Finding.from_dict(document)
        # no window of its own: an empty lookup window, so no field=value it names can be confirmed
        start, end = finding.window or (datetime.fromisoformat(self.day),) * 2
        return Situation(title=f"{finding.severity} · {finding.title}", severity=finding.severity,
                         items=_items(finding), day=start.date(), lookup=(start, end),
                         about={"agent": finding.agent, "finding_kind": finding.kind})


def finding_candidates(findings: list[Finding]) -> list[dict]:
    """The findings a briefing is owed for: id, day and severity."""
    return candidates((FindingSubject(f.finding_id, f.day), f.severity) for f in findings)


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
