"""Grounding the digest's sentences: each item's text is checked against the facts the code computed for
that item (its source), and every name against the warehouse.

A number must agree with one of the item's facts of the same kind (counts, percents, durations in ms) by
`agreement`'s rule (the one the incidents' texts are held to); a number the claim parser does not classify
(CPU-seconds, dollars, a plain ratio) must equal one of the item's values the same way. A service, route or
error code the warehouse has never seen is invented; a field=value pair must be one the item's facts name, and
is invented when no event of the day carries it. A time window must match one of the item's windows
(`agreement.window_agrees`). Each verdict is a `ClaimVerdict`; a sentence with no checkable claim is "nothing
to verify" (`ClaimShare`), never "grounded"."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

import duckdb

from logintel.trust.agreement import REL_TOL, agrees, window_agrees
from logintel.trust.claim_share import NO_CLAIM, ClaimShare
from logintel.trust.claims import Claim, extract_claims
from logintel.trust.entities import KnownEntities
from logintel.trust.grounding_report import ClaimVerdict
from logintel.trust.text import blank

_CHECKED_NAMES = ("service", "route", "error_code")
_SOURCE = "the figures the code computed for the text"
# Numbers the claim parser leaves out that are still statements: "1,234 CPU-seconds", "$0.0123", "0.77".
_ANY_NUMBER = re.compile(r"(?<![\w.,:/\-])\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<suffix>[kKM]\b)?"
                         r"(?![\w%]|[.,]\d|:\d)")
# What says where to look rather than what was found: dates, clock times, versions, ids, HTTP statuses.
_NOT_NUMBERS = (re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"), re.compile(r"\d{1,2}:\d{2}"),
                re.compile(r"(?<![\w.])v?\d+(?:\.\d+){2,}[\w.+-]*"), re.compile(r"\b[\w-]*\d[\w-]*[A-Za-z][\w-]*\b"),
                re.compile(r"\b[A-Za-z][\w-]*\d[\w-]*\b"), re.compile(r"\b(?:HTTP|status)\s*[1-5]\d\d\b"),
                re.compile(r"\b[1-5]xx\b"), re.compile(r"\b(?:top|#)\s*\d+\b", re.IGNORECASE))


@dataclass
class ItemFacts:
    """What the code computed for one digest item: the only numbers, windows and pairs its text may state."""
    counts: list[float] = field(default_factory=list)
    percents: list[float] = field(default_factory=list)     # 0-100, signed for changes
    durations_ms: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)       # anything else, as written (CPU-seconds, USD, ratios)
    windows: list[tuple[datetime, datetime]] = field(default_factory=list)  # naive, in the digest's zone
    attributes: set[tuple[str, str]] = field(default_factory=set)

    def every_value(self) -> list[float]:
        return self.counts + self.percents + self.durations_ms + self.values

    @classmethod
    def from_dict(cls, data: dict) -> "ItemFacts":
        """The inverse of `to_dict` (a digest's JSON file holds each item's facts so)."""
        return cls(counts=list(data.get("counts") or []), percents=list(data.get("percents") or []),
                   durations_ms=list(data.get("durations_ms") or []), values=list(data.get("values") or []),
                   windows=[(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in data.get("windows") or []],
                   attributes={tuple(p.split("=", 1)) for p in data.get("attributes") or [] if "=" in p})

    def to_dict(self) -> dict:
        return {"counts": self.counts, "percents": self.percents, "durations_ms": self.durations_ms,
                "values": self.values, "windows": [[a.isoformat(), b.isoformat()] for a, b in self.windows],
                "attributes": sorted(f"{k}={v}" for k, v in self.attributes)}


def day_grounder(con: duckdb.DuckDBPyConnection, day: date) -> Callable[[str, dict], dict]:
    """(text, ItemFacts as a dict) → grounding, against the warehouse's names and the field=value pairs its
    events carry on `day`: how a text written from its own figures (an investigation's) is grounded."""
    known = KnownEntities.from_warehouse(con)
    midnight = datetime(day.year, day.month, day.day)
    exists = attribute_lookup(con, midnight, midnight + timedelta(days=1))
    return lambda text, facts: ground_text(text, ItemFacts.from_dict(facts), known, day, exists)


def ground_text(text: str, facts: ItemFacts, known: KnownEntities, day: date,
                attribute_exists: Callable[[str, str], bool] = lambda attribute, value: True) -> dict:
    """The grounding of one item's text: {grounded: True | False | None, claims, grounded_claims,
    invented: [...], reason, verdicts: [...]} (None: nothing to verify, and the reason says so)."""
    claims = extract_claims(text, known, day)
    verdicts = [_judge(c, facts, known, attribute_exists) for c in claims if c.kind not in ("user",)]
    verdicts += [_judge_value(number, facts) for number in _loose_numbers(text, claims)]
    verdicts = [v for v in verdicts if v is not None]
    failed = [v for v in verdicts if not v.grounded]
    share = ClaimShare(claims=len(verdicts), grounded=len(verdicts) - len(failed))
    reason = NO_CLAIM if share.nothing_to_verify else "; ".join(f"{v.claim.text}: {v.reason}" for v in failed[:3])
    return {"grounded": share.state, "claims": share.claims, "grounded_claims": share.grounded,
            "invented": [v.claim.text for v in verdicts if v.invented], "reason": reason,
            "verdicts": [v.to_dict() for v in verdicts]}


def _judge(claim: Claim, facts: ItemFacts, known: KnownEntities, attribute_exists) -> ClaimVerdict | None:
    if claim.kind in _CHECKED_NAMES:
        names = {"service": known.services, "route": known.routes, "error_code": known.error_codes}[claim.kind]
        if claim.value in names:
            return ClaimVerdict(claim, True, "the warehouse's catalogue", "exists in the warehouse")
        return ClaimVerdict(claim, False, "the warehouse's catalogue", f"no {claim.kind} {claim.value!r} in the "
                            "warehouse", invented=True)
    if claim.kind == "attribute":
        attribute, value = claim.value
        if (attribute, value) in facts.attributes:
            return ClaimVerdict(claim, True, _SOURCE, "named by the source's facts")
        if not attribute_exists(attribute, value):
            return ClaimVerdict(claim, False, "the day's events", f"no event carries {attribute}={value}",
                                invented=True)
        return ClaimVerdict(claim, False, _SOURCE, "not among the source's facts")
    if claim.kind == "time_window":
        if any(window_agrees(claim.value, window) for window in facts.windows):
            return ClaimVerdict(claim, True, _SOURCE, "matches the source's window")
        return ClaimVerdict(claim, False, _SOURCE, "no such window in the source")
    pool = {"count": facts.counts + facts.values, "percent": facts.percents,
            "duration": facts.durations_ms}.get(claim.kind)
    if pool is None:
        return None  # trace and request ids are not stated by the digest's writers
    value = float(claim.value)
    if claim.kind == "percent" and claim.label == "change":
        pool = pool + [-p for p in pool]  # "down 40%" is written unsigned as often as signed
    if any(agrees(value, fact, claim.text, claim.kind, claim.qualifier) for fact in pool):
        return ClaimVerdict(claim, True, _SOURCE, "matches the source's figures")
    return ClaimVerdict(claim, False, _SOURCE, f"no {claim.kind} of the source within {REL_TOL:.0%}")


def _loose_numbers(text: str, claims: list[Claim]) -> list[Claim]:
    """Numbers the claim parser did not take, as claims of kind "number" (their written form and value)."""
    rest = text
    for claim in claims:
        if claim.offset >= 0:
            rest = blank(rest, claim.offset, claim.offset + len(claim.text))
    for pattern in _NOT_NUMBERS:
        for m in list(pattern.finditer(rest)):
            rest = blank(rest, m.start(), m.end())
    found = []
    for m in _ANY_NUMBER.finditer(rest):
        scale = {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group("suffix") or "", 1)
        found.append(Claim(kind="number", text=m.group(0), value=float(m.group("num").replace(",", "")) * scale,
                           label=None, sentence=0, offset=m.start()))
    return found


def _judge_value(number: Claim, facts: ItemFacts) -> ClaimVerdict:
    if any(agrees(number.value, fact, number.text.lstrip("$"), "number") for fact in facts.every_value()):
        return ClaimVerdict(number, True, _SOURCE, "matches the source's figures")
    return ClaimVerdict(number, False, _SOURCE, f"no figure of the source within {REL_TOL:.0%}")


def attribute_lookup(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime):
    """Whether any event in [start, end) carries field=value (a key of `attributes`, dotted or nested)."""
    def exists(attribute: str, value: str) -> bool:
        path_dotted, path_nested = f'$."{attribute}"', "$." + ".".join(f'"{p}"' for p in attribute.split("."))
        return bool(con.execute("""
            SELECT count(*) FROM raw_events WHERE ts >= ? AND ts < ?
              AND (json_extract_string(attributes, ?) = ? OR json_extract_string(attributes, ?) = ?)""",
                                [start, end, path_dotted, value, path_nested, value]).fetchone()[0])
    return exists


def summarize(items: list[dict]) -> dict:
    """The digest's grounding: claims and grounded claims over every item, the share (None, with its reason,
    when no item held a claim), the sentences not grounded and those with nothing to verify, the model's
    sentences replaced by their drafts, the invented names (each an ERROR for the asset check)."""
    share = ClaimShare(claims=sum(i["grounding"]["claims"] for i in items),
                       grounded=sum(i["grounding"]["grounded_claims"] for i in items))
    ungrounded = [i["text"] for i in items if i["grounding"]["grounded"] is False]
    unchecked = [i["text"] for i in items if i["grounding"]["grounded"] is None]
    invented = sorted({name for i in items for name in i["grounding"]["invented"]})
    return {"claims": share.claims, "grounded": share.grounded, **share.fields(), "sentences": len(items),
            "ungrounded": ungrounded, "unchecked": unchecked, "invented": invented,
            "replaced": sum(1 for i in items if i.get("reworded_rejected"))}
