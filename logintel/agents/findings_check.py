"""The findings' grounding check, on what was stored: every finding of a scope grounded again against the
facts stored beside it and the warehouse's names. An invented name fails it; so does any ungrounded text."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from logintel.daily.days import DigestDay
from logintel.store.findings import finding_documents
from logintel.trust.claim_share import ClaimShare
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, attribute_lookup, ground_text


@dataclass
class FindingsVerdict:
    findings: int = 0
    claims: int = 0
    grounded: int = 0
    invented: list[str] = field(default_factory=list)
    ungrounded: list[dict] = field(default_factory=list)  # {finding, text, why}

    @property
    def share(self) -> ClaimShare:
        return ClaimShare(claims=self.claims, grounded=self.grounded)

    @property
    def ratio(self) -> float | None:
        """None when the findings held no claim (an analyst that found nothing): nothing to verify."""
        return self.share.ratio

    @property
    def passed(self) -> bool:
        return not self.invented and not self.ungrounded

    def description(self) -> str:
        text = f"{self.findings} finding(s): {self.share.describe()}"
        if self.invented:
            text += f"; invented: {', '.join(self.invented[:5])}"
        if self.ungrounded:
            text += f"; {len(self.ungrounded)} finding(s) not grounded"
        return text


def verify_findings(con: duckdb.DuckDBPyConnection, day: DigestDay, agent: str, scope: str) -> FindingsVerdict:
    documents = finding_documents(con, day.key, agent, scope)
    known = KnownEntities.from_warehouse(con)
    exists = attribute_lookup(con, day.start, day.end)
    verdict = FindingsVerdict(findings=len(documents))
    for document in documents:
        result = ground_text(document["text"], ItemFacts.from_dict(document.get("facts") or {}), known, day.day, exists)
        verdict.claims += result["claims"]
        verdict.grounded += result["grounded_claims"]
        verdict.invented += result["invented"]
        if result["grounded"] is False:
            verdict.ungrounded.append({"finding": document["finding_id"], "text": document["text"],
                                       "why": result["reason"]})
    return verdict
