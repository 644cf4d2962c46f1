"""One analyst's run over a scope: its findings (grounded), what it examined, and — when it found nothing —
the sentence that says so instead of a guess."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from logintel.agents.finding import Finding, Scope, ranked
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import attribute_lookup, ground_text, summarize


@dataclass
class AnalystReport:
    agent: str
    scope: Scope
    findings: list[Finding] = field(default_factory=list)
    examined: dict = field(default_factory=dict)   # what was looked at: {"routes": 41, "login_attempts": 9120, ...}
    notes: list[str] = field(default_factory=list)  # problems met on the way (a missing table, a bad rules file)

    @property
    def abstained(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        """One line: the findings by severity, or that nothing stands out and what was checked."""
        looked = ", ".join(f"{v:,} {k.replace('_', ' ')}" if isinstance(v, int) else f"{k.replace('_', ' ')} {v}"
                           for k, v in self.examined.items())
        if self.abstained:
            return f"The {self.agent} analyst found nothing that stands out" + (f" ({looked} checked)." if looked else ".")
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        shown = ", ".join(f"{n} {severity}" for severity, n in counts.items())
        return f"The {self.agent} analyst has {len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} ({shown})."

    def grounding(self) -> dict:
        return summarize([{"text": f.text, "grounding": f.grounding} for f in self.findings if f.grounding])

    def to_dict(self) -> dict:
        return {"agent": self.agent, "scope": self.scope.key, "day": self.scope.day.key,
                "summary": self.summary(), "abstained": self.abstained, "examined": self.examined,
                "notes": self.notes, "grounding": self.grounding(),
                "findings": [f.to_dict() for f in self.findings]}


def ground_findings(con: duckdb.DuckDBPyConnection, report: AnalystReport,
                    known: KnownEntities | None = None) -> AnalystReport:
    """Ground every finding's text against its own facts and the warehouse's names (in place), and rank
    them; the day and the scope's events are what a field=value must exist in."""
    known = known or KnownEntities.from_warehouse(con)
    exists = attribute_lookup(con, report.scope.start, report.scope.end)
    for finding in report.findings:
        finding.day = finding.day or report.scope.day.key
        finding.grounding = ground_text(finding.text, finding.facts, known, report.scope.day.day, exists)
    report.findings = ranked(report.findings)
    return report
