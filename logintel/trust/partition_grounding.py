"""The grounding verdict on one partition's incident texts: the share of verified claims (none: nothing to
verify), and every invented entity (a name the warehouse never held) or ungrounded claim, for the trust check."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from logintel.trust.claim_share import ClaimShare


@dataclass
class PartitionGrounding:
    texts: int = 0
    claims: int = 0
    grounded: int = 0
    min_ratio: float = 0.9
    invented: list[dict] = field(default_factory=list)    # {incident, writer, entity}
    ungrounded: list[dict] = field(default_factory=list)  # {incident, writer, claim, evidence}
    # A model's sentences over the texts: offered, accepted, replaced by their drafts (`draft_binding`)
    rewording: dict = field(default_factory=lambda: {"offered": 0, "accepted": 0, "replaced": 0})

    @property
    def share(self) -> ClaimShare:
        return ClaimShare(claims=self.claims, grounded=self.grounded)

    @property
    def ratio(self) -> float | None:
        """None when the texts held no claim: nothing to verify, never 1.0."""
        return self.share.ratio

    @property
    def passed(self) -> bool:
        # No incidents: nothing to check. Incident texts that state nothing checkable are not grounded ones.
        meets = self.share.meets(self.min_ratio)
        return not self.invented and (meets if meets is not None else self.texts == 0)

    def description(self) -> str:
        if self.invented:
            names = ", ".join(sorted({i["entity"] for i in self.invented}))
            return f"{len(self.invented)} invented entities: {names}"
        if not self.texts:
            return "no incidents, nothing to check"
        if self.share.nothing_to_verify:
            return f"{self.share.describe()} ({self.texts} incident texts)"
        if not self.passed:
            return f"only {self.ratio:.0%} of {self.claims} claims grounded (minimum {self.min_ratio:.0%})"
        return f"{self.grounded}/{self.claims} claims grounded"


def incident_grounding(con: duckdb.DuckDBPyConnection, hour: datetime, min_ratio: float) -> PartitionGrounding:
    rows = con.execute("SELECT incident_id, writer, grounding FROM incidents WHERE partition_hour = $h",
                       {"h": hour.replace(tzinfo=None)}).fetchall()
    verdict = PartitionGrounding(texts=len(rows), min_ratio=min_ratio)
    for incident_id, writer, grounding in rows:
        g = json.loads(grounding) if grounding else {}
        verdict.claims += g.get("claims", 0)
        verdict.grounded += g.get("grounded", 0)
        verdict.invented += [{"incident": incident_id, "writer": writer, "entity": e} for e in g.get("invented", [])]
        verdict.ungrounded += [{"incident": incident_id, "writer": writer, "claim": u.get("claim", {}).get("text"),
                                "evidence": u.get("evidence")} for u in g.get("ungrounded", [])]
        for key in verdict.rewording:
            verdict.rewording[key] += (g.get("rewording") or {}).get(key, 0)
    return verdict
