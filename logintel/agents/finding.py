"""A finding: what one analyst concluded, with the figures it rests on, what to do next, and the grounding
of its sentence. Numbers come from the analyst's code; the text may state only what `facts` holds."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from logintel.daily.days import DigestDay
from logintel.trust.item_grounding import ItemFacts

AGENTS = ("sre", "security", "efficiency")
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Scope:
    """What an analyst looks at: [start, end) in naive UTC (the warehouse's clock), inside `day`, whose time
    zone the text's clock times are written in. A daily run's scope is the whole day; an hourly one an hour."""
    day: DigestDay
    start: datetime
    end: datetime

    @classmethod
    def whole_day(cls, day: DigestDay) -> "Scope":
        return cls(day, day.start, day.end)

    @classmethod
    def hour(cls, day: DigestDay, hour_start: datetime) -> "Scope":
        return cls(day, hour_start, hour_start + timedelta(hours=1))

    @property
    def key(self) -> str:
        """The day for a daily scope, the UTC hour (2026-12-01-13:00) otherwise."""
        if (self.start, self.end) == (self.day.start, self.day.end):
            return self.day.key
        return self.start.strftime("%Y-%m-%d-%H:00")


@dataclass
class Finding:
    agent: str                 # sre | security | efficiency
    kind: str                  # e.g. burn_rate_page, latency_forecast, credential_stuffing, n_plus_one
    key: str                   # what makes it this finding within its kind (route, campaign): the stable id's seed
    title: str
    text: str                  # the offline writer's sentence: every number and name in it is in `facts`
    severity: str              # one of SEVERITIES
    confidence: float          # 0..1, computed (a p-value, a margin over the rule), never a model's guess
    entities: dict[str, list[str]] = field(default_factory=dict)  # services, routes, client_ips, accounts, ...
    evidence: dict = field(default_factory=dict)  # the queries' figures, incident ids, trace ids
    action: str = ""
    facts: ItemFacts = field(default_factory=ItemFacts)
    window: tuple[datetime, datetime] | None = None  # naive UTC
    day: str = ""              # the digest day it belongs to (YYYY-MM-DD)
    grounding: dict | None = None
    writer: str = "offline/v1"

    def __post_init__(self) -> None:
        if self.agent not in AGENTS:
            raise ValueError(f"unknown agent {self.agent!r}; known: {', '.join(AGENTS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; known: {', '.join(SEVERITIES)}")
        self.confidence = round(min(max(float(self.confidence), 0.0), 1.0), 3)

    @property
    def finding_id(self) -> str:
        """Stable across re-runs of the same day: the agent, kind, key and day, hashed."""
        seed = f"{self.agent}|{self.kind}|{self.key}|{self.day}"
        return f"{self.agent[:3]}-{hashlib.sha1(seed.encode()).hexdigest()[:12]}"

    @property
    def rank(self) -> tuple:
        return (SEVERITIES.index(self.severity), -self.confidence, self.kind, self.key)

    def to_dict(self) -> dict:
        return {
            "finding_id": self.finding_id, "agent": self.agent, "kind": self.kind, "key": self.key,
            "day": self.day, "title": self.title, "text": self.text, "severity": self.severity,
            "confidence": self.confidence, "entities": self.entities, "evidence": self.evidence,
            "action": self.action,
            "window": [self.window[0].isoformat(), self.window[1].isoformat()] if self.window else None,
            "grounding": self.grounding, "writer": self.writer, "facts": self.facts.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        window = data.get("window")
        return cls(agent=data["agent"], kind=data["kind"], key=data["key"], title=data["title"], text=data["text"],
                   severity=data["severity"], confidence=data["confidence"], entities=data.get("entities") or {},
                   evidence=data.get("evidence") or {}, action=data.get("action") or "",
                   facts=ItemFacts.from_dict(data.get("facts") or {}),
                   window=(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])) if window else None,
                   day=data.get("day") or "", grounding=data.get("grounding"),
                   writer=data.get("writer") or "offline/v1")


def ranked(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: f.rank)
