"""Deciding one incident's root cause from its contrasts.

Rules, in order:
1. A dependency that got slower: a `<ns>.duration_ms` whose median among the failing events is at
   least MIN_SLOWDOWN times (and MIN_EXTRA_MS more than) the baseline's, for one value of an attribute
   of its namespace (db.duration_ms for db.instance=orders-db-primary). In a call chain the deepest
   one wins: a slowed peer that is itself a service of the incident whose own dependency slowed is
   only the messenger (orders → payments → pg-provider names pg-provider).
2. Else a field=value pair the failing events carry far more often than the baseline: share among
   the failing events >= MIN_SHARE_FAILING, lift >= MIN_LIFT, one-sided p <= MAX_P_VALUE, ranked by
   share_failing - share_baseline. A value healthy requests carry as often explains nothing.
In both, among candidates that explain the failures equally (within EQUAL_SHARE), the most specific
attribute wins: the one with more distinct values in the hour (db.instance over db.system); and a
generic value's slowdown that a more specific value of the same metric slowed at least as much
(NARROWER_RATIO) is that value's, even when it covers fewer of the failures.
3. Else `unknown`, with the top contrasts listed as evidence.

confidence = explained share x strength, strength = min(1, log10(ratio or lift) / log10(10)): a cause
carried by every failing request and ten times more frequent (or slower) than before scores 1.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from logintel.analysis.root_cause.kinds import CLIENT, DEPENDENCY, UNKNOWN, kind_of

MIN_SHARE_FAILING = 0.5
MIN_LIFT = 2.0
MAX_P_VALUE = 1e-3
MIN_EXPLAINED = 0.25      # share_failing - share_baseline
MIN_SLOWDOWN = 3.0
MIN_EXTRA_MS = 50.0
MIN_EVENTS = 5            # on each side, for a median to mean anything
EQUAL_SHARE = 0.05
NARROWER_RATIO = 0.8      # a more specific value that slowed at least this much of the generic one's ratio
TOP_CONTRASTS = 3
TOP_CLIENTS = 5


@dataclass
class Contrast:
    attribute: str
    value: str
    share_failing: float
    share_baseline: float
    lift: float
    p_value: float
    failing_n: int
    baseline_n: int
    services: list[str] = field(default_factory=list)
    specificity: int = 1

    @property
    def explained(self) -> float:
        return self.share_failing - self.share_baseline

    def evidence(self) -> dict:
        return {"attribute": self.attribute, "value": self.value, "share_failing": round(self.share_failing, 4),
                "share_baseline": round(self.share_baseline, 4), "lift": round(min(self.lift, 1e6), 2),
                "p_value": float(f"{self.p_value:.3g}")}


@dataclass
class Slowdown:
    metric: str
    by: str
    value: str
    before_ms: float
    after_ms: float
    failing_n: int
    baseline_n: int
    services: list[str] = field(default_factory=list)
    share_failing: float = 0.0   # of the scope's failing events carrying by=value
    specificity: int = 1

    @property
    def ratio(self) -> float:
        return self.after_ms / self.before_ms if self.before_ms > 0 else math.inf

    def evidence(self) -> dict:
        return {"attribute": self.metric, "by": self.by, "value": self.value,
                "before_ms": round(self.before_ms, 3), "after_ms": round(self.after_ms, 3),
                "share_failing": round(self.share_failing, 4)}


@dataclass
class RootCause:
    kind: str
    attribute: str | None = None
    value: str | None = None
    confidence: float = 0.0
    evidence: list[dict] = field(default_factory=list)
    text: str = ""

    @property
    def named(self) -> bool:
        return self.kind != UNKNOWN and self.value is not None

    def to_dict(self) -> dict:
        return asdict(self)



def _strength(ratio: float) -> float:
    return max(0.0, min(1.0, math.log10(max(ratio, 1.0))))


def carrier_bound(cause: RootCause) -> tuple[str | None, float | None]:
    """(metric, least ms) an event must reach to carry a slowdown cause; (None, None) for any other."""
    top = cause.evidence[0] if cause.evidence else {}
    if "after_ms" not in top:
        return None, None
    return top["attribute"], max(top["before_ms"] * MIN_SLOWDOWN, top["before_ms"] + MIN_EXTRA_MS)


def strength(cause: RootCause) -> float:
    """How far the winning evidence departs from the baseline (1: ten times or more)."""
    top = cause.evidence[0] if cause.evidence else {}
    if "after_ms" in top:
        return _strength(top["after_ms"] / top["before_ms"] if top["before_ms"] > 0 else math.inf)
    return _strength(top.get("lift", 1.0))


def _most_specific(candidates: list, explained) -> object:
    """The best explainer; among those within EQUAL_SHARE of it, the most specific attribute."""
    best = max(explained(c) for c in candidates)
    close = [c for c in candidates if explained(c) >= best - EQUAL_SHARE]
    return max(close, key=lambda c: (c.specificity, explained(c)))


def slowed_dependencies(slowdowns: list[Slowdown], services: set[str]) -> list[Slowdown]:
    slow = [s for s in slowdowns if s.failing_n >= MIN_EVENTS and s.baseline_n >= MIN_EVENTS
            and s.ratio >= MIN_SLOWDOWN and s.after_ms - s.before_ms >= MIN_EXTRA_MS]
    # The messenger is not the cause: a slowed peer that is a service whose own dependency slowed.
    return [s for s in slow if not (s.value in services and any(s.value in t.services and t is not s for t in slow))]


def significant(contrasts: list[Contrast]) -> list[Contrast]:
    return [c for c in contrasts if c.share_failing >= MIN_SHARE_FAILING and c.lift >= MIN_LIFT
            and c.p_value <= MAX_P_VALUE and c.explained >= MIN_EXPLAINED]


def _narrowest_slowdown(slow: list[Slowdown]) -> Slowdown:
    """The slowdown that explains the others of its metric: a generic value's slowdown (db.system) that
    only mixes in a specific one's (db.instance=orders-db-primary) is that one's, if the specific one
    slowed at least as much."""
    top = _most_specific(slow, lambda s: s.share_failing)
    narrower = [s for s in slow if s.metric == top.metric and s.specificity > top.specificity
                and s.ratio >= NARROWER_RATIO * top.ratio]
    return max(narrower, key=lambda s: (s.specificity, s.share_failing)) if narrower else top


def decide(contrasts: list[Contrast], slowdowns: list[Slowdown], services: set[str]) -> RootCause:
    slow = slowed_dependencies(slowdowns, services)
    if slow:
        top = _narrowest_slowdown(slow)
        evidence = [top.evidence()] + [s.evidence() for s in slow if s is not top][:TOP_CONTRASTS - 1]
        return RootCause(kind=DEPENDENCY, attribute=top.by, value=top.value,
                         confidence=round(top.share_failing * _strength(top.ratio), 3), evidence=evidence)
    strong = significant(contrasts)
    if strong:
        top = _most_specific(strong, lambda c: c.explained)
        kind = kind_of(top.attribute, new_value=top.share_baseline == 0)
        evidence = [top.evidence()] + [c.evidence() for c in sorted(strong, key=lambda c: -c.explained)
                                       if c is not top][:TOP_CONTRASTS - 1]
        if kind == CLIENT:  # an access pattern: every address and agent that stands out, with its share
            clients = [c for c in sorted(contrasts, key=lambda c: -c.share_failing)
                       if c.attribute in ("client_ip", "user_agent") and c is not top][:TOP_CLIENTS]
            evidence += [c.evidence() for c in clients if c.evidence() not in evidence]
        return RootCause(kind=kind, attribute=top.attribute, value=top.value,
                         confidence=round(top.explained * _strength(top.lift), 3), evidence=evidence)
    ranked = sorted(contrasts, key=lambda c: (-c.explained, -c.share_failing))[:TOP_CONTRASTS]
    return RootCause(kind=UNKNOWN, evidence=[c.evidence() for c in ranked])
