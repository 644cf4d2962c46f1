"""A situation briefing, composed one way for an incident or a finding: the subject drafts its items, the
gateway words them and every sentence is grounded, like the digest's; `Briefing.to_dict` is the file's document."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

import duckdb

from logintel.briefings.finding_briefing import FindingSubject
from logintel.briefings.incident_briefing import IncidentSubject
from logintel.briefings.subject import Subject
from logintel.digest.compose import public_item, settle_items
from logintel.digest.prompt import items_request
from logintel.llm.call_log import CallRecord
from logintel.llm.gateway import LLMGateway
from logintel.trust.item_grounding import attribute_lookup, summarize


@dataclass(frozen=True)
class Briefing:
    """One situation briefing as composed: its subject, its grounded sections and what the wording cost."""
    subject_kind: str                 # "incident" or "finding"
    subject_id: str                   # also the name of its files under outputs/briefings/
    title: str
    severity: str
    writer: str
    fallback_reason: str | None
    created_at: str                   # ISO, UTC, whole seconds
    llm: dict                         # tokens, cost_usd, latency_ms of the wording call
    sections: list[dict]              # one public item per heading, grounded
    grounding: dict                   # `summarize` over the sections, and `rewording`: the model's sentences
                                      # offered, accepted, replaced (`draft_binding.Binding.counts`)
    about: dict[str, str] = field(default_factory=dict)  # what the subject adds: a finding's agent and kind

    def to_dict(self) -> dict:
        """The document `render.write_briefing` writes and `render.briefing_markdown` reads."""
        return {"subject": {"kind": self.subject_kind, "id": self.subject_id, **self.about},
                "title": self.title, "severity": self.severity, "writer": self.writer,
                "fallback_reason": self.fallback_reason, "created_at": self.created_at, "llm": self.llm,
                "sections": self.sections, "grounding": self.grounding}


def compose(con: duckdb.DuckDBPyConnection, subject: Subject, gateway: LLMGateway) -> Briefing:
    """The grounded briefing of `subject`; SubjectGone when it is no longer stored."""
    situation = subject.read(con)
    items = situation.items
    writer, reason, record, rewording = settle_items(con, items, gateway,
                                                     items_request("situation_briefing", None, items),
                                                     situation.day, attribute_lookup(con, *situation.lookup))
    return Briefing(subject_kind=subject.kind, subject_id=subject.id, title=situation.title,
                    severity=situation.severity, writer=writer, fallback_reason=reason,
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), llm=_spent(record),
                    sections=[public_item(i) for i in items],
                    grounding={**summarize(items), "rewording": rewording}, about=situation.about)


def subject_for(fields: Mapping[str, str]) -> Subject:
    """The subject a run's config or a sensor's candidate names: a finding (on its day) when it names one,
    otherwise an incident; a ValueError when it names neither."""
    if fields.get("finding_id"):
        return FindingSubject(fields["finding_id"], fields.get("day") or "")
    if fields.get("incident_id"):
        return IncidentSubject(fields["incident_id"])
    raise ValueError("a situation briefing needs an incident_id or a finding_id")


def _spent(record: CallRecord) -> dict:
    return {"tokens": record.prompt_tokens + record.completion_tokens, "cost_usd": record.cost_usd,
            "latency_ms": round(record.latency_ms, 1)}
