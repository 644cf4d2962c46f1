"""The grounding verdict on one partition's incident texts: the share of verified claims, and every
invented entity (a name the warehouse never held) or ungrounded claim, for the trust check."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import duckdb


@dataclass
class PartitionGrounding:
    texts: int = 0
    claims: int = 0
    grounded: int = 0
    min_ratio: float = 0.9
    invented: list[dict] = field(default_factory=list)    # {incident, writer, entity}
    ungrounded: list[dict] = field(default_factory=list)  # {incident, writer, claim, evidence}

    @property
    def ratio(self) -> float:
        return self.grounded / self.claims if self.claims else 1.0

    @property
    def passed(self) -> bool:
        return self.ratio >= self.min_ratio and not self.invented

    def description(self) -> str:
        if self.invented:
            names = ", ".join(sorted({i["entity"] for i in self.invented}))
            return f"{len(self.invented)} invented entities: {names}"
        if not self.passed:
            return f"only {self.ratio:.0%} of {self.claims} claims grounded (minimum {self.min_ratio:.0%})"
        return f"{self.grounded}/{self.claims} claims grounded" if self.claims else "no incidents, nothing to check"


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
    return verdict
