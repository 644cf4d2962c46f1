"""The outcome of grounding a text: a verdict per claim, the share grounded (or nothing to verify), and what
was invented."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from logintel.trust.claim_share import ClaimShare
from logintel.trust.claims import ENTITY_KINDS, Claim


@dataclass
class ClaimVerdict:
    claim: Claim
    grounded: bool
    evidence: str        # what the warehouse says
    reason: str          # why the verdict, in a few words
    invented: bool = False          # an entity that does not exist in the warehouse at all
    expected: float | None = None   # for numbers: the nearest fact of the claim's kind

    def brief(self) -> str:
        c = self.claim
        if self.invented:
            return f"{c.kind} {c.text!r} (invented)"
        shown = f"{c.kind} {c.text!r}" if c.kind in ENTITY_KINDS else (
            f"{c.kind} {c.text}" + (f" {c.label!r}" if c.label else ""))
        if self.expected is not None:
            kind = "change" if c.label == "change" else c.kind
            return f"{shown} (warehouse: {format_value(self.expected, kind)})"
        return f"{shown} ({self.reason})"

    def to_dict(self) -> dict:
        c = self.claim
        value = c.value
        if isinstance(value, tuple):
            value = [v.isoformat() if isinstance(v, datetime) else v for v in value]
        claim = {"kind": c.kind, "text": c.text, "value": value, "label": c.label, "qualifier": c.qualifier,
                 "sentence": c.sentence, "offset": c.offset}
        return {"claim": claim, "grounded": self.grounded, "invented": self.invented, "evidence": self.evidence,
                "reason": self.reason, "expected": self.expected}


@dataclass
class GroundingReport:
    claims: list[ClaimVerdict]
    grounded: int
    ungrounded: int
    unverifiable_sentences: list[str]
    skipped: list[Claim] = field(default_factory=list)   # configuration (thresholds), not claims about data
    facts: dict = field(default_factory=dict)            # the fact sheet the numbers were checked against
    elapsed_ms: float = 0.0

    @property
    def has_claims(self) -> bool:
        return bool(self.claims)

    @property
    def share(self) -> ClaimShare:
        return ClaimShare(claims=self.grounded + self.ungrounded, grounded=self.grounded)

    @property
    def ratio(self) -> float | None:
        """None when the text holds no checkable claim: nothing to verify, never 1.0."""
        return self.share.ratio

    @property
    def invented_entities(self) -> list[ClaimVerdict]:
        return [v for v in self.claims if v.invented]

    def summary(self) -> str:
        if not self.has_claims:
            return f"{self.share.describe()}; {len(self.unverifiable_sentences)} unverifiable sentences"
        total = self.grounded + self.ungrounded
        text = f"{self.grounded}/{total} claims grounded ({self.ratio:.0%})"
        wrong = [v.brief() for v in self.claims if not v.grounded]
        if wrong:
            text += "; ungrounded: " + ", ".join(wrong)
        return text

    def to_dict(self) -> dict:
        return {**self.share.fields(), "has_claims": self.has_claims, "grounded": self.grounded,
                "ungrounded": self.ungrounded, "claims": [v.to_dict() for v in self.claims],
                "invented": [v.claim.text for v in self.invented_entities],
                "unverifiable_sentences": list(self.unverifiable_sentences),
                "skipped": [{"kind": c.kind, "text": c.text, "label": c.label} for c in self.skipped],
                "summary": self.summary(), "elapsed_ms": round(self.elapsed_ms, 2), "facts": self.facts}


def format_value(value: float, kind: str) -> str:
    """A fact's value as a text would state it."""
    if kind == "duration":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    if kind in ("percent", "change"):
        return f"{value:+.1f}%" if kind == "change" else f"{value:.1f}%"
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 or abs(value) >= 100 else f"{value:.3g}"
