"""The verdict on each claim of a text about the warehouse: names exist (the scope's catalogue), numbers match
the fact sheet of the text's scope, windows match when the errors happened (`agreement`'s rule). The
catalogues and fact sheets come from `batch.verify_texts`."""
from __future__ import annotations

import re
from datetime import timedelta

from logintel.trust.agreement import REL_TOL, WINDOW_SLACK, agrees, window_agrees
from logintel.trust.catalogue import Catalogue
from logintel.trust.claims import NUMBER_KINDS, Claim, sentences
from logintel.trust.fact_sheet import Fact, FactSheet
from logintel.trust.grounding_report import ClaimVerdict, GroundingReport, format_value
from logintel.trust.labels import change_subject
from logintel.trust.scope import GroundingScope

_DURATION_LABELS = {"p50", "p90", "p95", "p99", "p999", "max", "avg", "length"}


def named_ids(claims: list[Claim], kind: str) -> list[str]:
    return [c.value for c in claims if c.kind == kind]


def named_attributes(claims: list[Claim]) -> tuple[tuple[str, str], ...]:
    return tuple(c.value for c in claims if c.kind == "attribute")


def needs_facts(claims: list[Claim]) -> bool:
    """Whether any claim is checked against a fact sheet (a number, a window, a field=value)."""
    return any(c.kind in NUMBER_KINDS or c.kind == "attribute" for c in claims)


def judge_claims(text: str, scope: GroundingScope, claims: list[Claim], catalogue: Catalogue,
                 sheet: FactSheet | None, rel_tol: float = REL_TOL) -> GroundingReport:
    """The verdict on each of `claims` (extracted from `text`) against what the warehouse holds."""
    verdicts, skipped, entities_seen = [], [], set()
    for claim in claims:
        if claim.kind == "count" and claim.label == "threshold":
            skipped.append(claim)  # configuration, not something the data shows
        elif claim.kind in NUMBER_KINDS:
            verdicts.append(_judge_window(claim, sheet) if claim.kind == "time_window"
                            else _judge_number(claim, sheet, text, rel_tol))
        elif claim.kind == "attribute":
            if (claim.kind, claim.value) not in entities_seen:
                entities_seen.add((claim.kind, claim.value))
                verdicts.append(_judge_attribute(claim, sheet))
        elif (claim.kind, claim.value, claim.label) not in entities_seen:
            # one verdict per entity: naming a service twice is not two facts
            entities_seen.add((claim.kind, claim.value, claim.label))
            verdicts.append(_judge_entity(claim, catalogue, scope))

    checked = {c.sentence for c in claims if not (c.kind == "count" and c.label == "threshold")}
    unverifiable = [s for i, s in enumerate(sentences(text, catalogue.known))
                    if i not in checked and re.search(r"\w", s)]
    grounded = sum(v.grounded for v in verdicts)
    return GroundingReport(claims=verdicts, grounded=grounded, ungrounded=len(verdicts) - grounded,
                           unverifiable_sentences=unverifiable, skipped=skipped,
                           facts=sheet.to_dict() if sheet else {})


def _judge_attribute(claim: Claim, sheet: FactSheet) -> ClaimVerdict:
    attribute, value = claim.value
    facts = sheet.attributes.get((attribute, value))
    if facts is None or not facts.seen_anywhere:
        return ClaimVerdict(claim, False, f"no event carries {attribute}={value}", "invented", invented=True)
    if not facts.carried_in_scope:
        return ClaimVerdict(claim, False, f"none of the failing requests of {sheet.scope.describe()} carry it",
                            "not carried by the failures")
    return ClaimVerdict(claim, True, f"carried by {facts.share_failing:.1f}% of the failing requests",
                        "carried by the failures")


def _judge_entity(claim: Claim, catalogue: Catalogue, scope: GroundingScope) -> ClaimVerdict:
    kind, value = claim.kind, claim.value
    seen = catalogue.lookup(kind, value)
    if seen is None:
        return ClaimVerdict(claim, False, f"no {kind} {value!r} anywhere in the warehouse", "invented", invented=True)
    methods = catalogue.methods.get(value, set()) if kind == "route" else set()
    if claim.label and methods and claim.label.upper() not in methods:
        return ClaimVerdict(claim, False, f"{value} is called with {', '.join(sorted(methods))} only",
                            f"never called with {claim.label}")
    if not seen:
        return ClaimVerdict(claim, False, f"{kind} {value!r} exists but has no events in {scope.describe()}",
                            "outside the scope's time range")
    return ClaimVerdict(claim, True, f"{kind} {value!r} has events in {scope.describe()}", "exists in scope")


def _candidates(claim: Claim, sheet: FactSheet, text: str) -> tuple[list[Fact], str]:
    """The facts a number may be compared with, and what they are called."""
    period = "previous" if claim.qualifier == "previous" else "current"
    label = claim.label
    if claim.kind == "count":
        return sheet.matching("count", {label} if label else None, period), label or "count"
    if claim.kind == "duration":
        if label in _DURATION_LABELS:
            return sheet.matching("duration", {label}), label
        labels = _DURATION_LABELS - {"length"} if label == "latency" else None
        return sheet.matching("duration", labels), label or "duration"
    if label == "change":
        subject = change_subject(text, claim.offset)
        return sheet.matching("change", {subject}), f"change in {subject}"
    return sheet.matching("percent", None, period), "percentage"


def _judge_number(claim: Claim, sheet: FactSheet, text: str, rel_tol: float) -> ClaimVerdict:
    facts, called = _candidates(claim, sheet, text)
    kind = "change" if claim.label == "change" else claim.kind
    if not facts:
        why = ("the previous period had none, so there is no change to state" if kind == "change"
               else f"the warehouse has no {called} for {sheet.scope.describe()}")
        return ClaimVerdict(claim, False, why, f"no {called} to compare")
    matched = [f for f in facts if agrees(float(claim.value), f.value, claim.text, claim.kind, claim.qualifier, rel_tol)]
    best = matched[0] if matched else min(facts, key=lambda f: abs(f.value - float(claim.value)))
    evidence = f"{format_value(best.value, kind)}: {best.about}"
    if matched:
        return ClaimVerdict(claim, True, evidence, f"matches {called}", expected=best.value)
    return ClaimVerdict(claim, False, evidence, f"no {called} within {rel_tol:.0%}", expected=best.value)


def _judge_window(claim: Claim, sheet: FactSheet) -> ClaimVerdict:
    scope = sheet.scope
    start, end = claim.value
    # A time of day is placed on the scope's day; a scope across midnight may mean the next or last day.
    placed = [(start + timedelta(days=d), end + timedelta(days=d)) for d in (0, 1, -1)]
    start, end = max(placed, key=lambda w: (min(w[1], scope.end) - max(w[0], scope.start), -abs(w[0] - scope.start)))
    first, last = sheet.first_error, sheet.last_error
    if min(end, scope.end) <= max(start, scope.start):
        return ClaimVerdict(claim, False, f"the scope is {scope.describe()}", "window outside the scope")
    if first is None:
        return ClaimVerdict(claim, False, f"no errors of {scope.describe()}", "no errors to place in time")
    evidence = f"errors of the scope from {first:%H:%M:%S} to {last:%H:%M:%S} UTC"
    # The errors lie in the window (give or take the slack), and the window is not much wider.
    if window_agrees((start, end), (first, last)):
        return ClaimVerdict(claim, True, evidence, "errors happened in the window")
    inside = start - WINDOW_SLACK <= first and last <= end + WINDOW_SLACK
    return ClaimVerdict(claim, False, evidence, "errors started or ended outside the window" if not inside
                        else "the window is wider than the errors")
