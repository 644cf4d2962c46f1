"""The answer to a question from the analysts' reports: the deterministic writer's, and the grounding of any
answer's sentences against the facts of the findings it cites (and the reports' own counts)."""
from __future__ import annotations

import re
from datetime import date
from typing import Callable

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import SEVERITIES, Finding
from logintel.trust.claim_share import ClaimShare
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, ground_text

MAX_SHOWN = 5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])|\n+")


def top_findings(routed: list[str], reports: dict[str, AnalystReport], limit: int = MAX_SHOWN) -> list[Finding]:
    """The routed analysts' findings, most severe first; at equal severity the more relevant analyst's."""
    every = [f for name in routed for f in reports[name].findings]
    return sorted(every, key=lambda f: (SEVERITIES.index(f.severity), routed.index(f.agent), -f.confidence,
                                        f.kind, f.key))[:limit]


def offline_answer(routed: list[str], reports: dict[str, AnalystReport]) -> tuple[str, list[Finding]]:
    """Each routed analyst's one-line summary, then the top findings with their ids and next steps."""
    lines = [reports[name].summary() for name in routed]
    shown = top_findings(routed, reports)
    for finding in shown:
        text = finding.text.strip()
        line = f"- {text}{'' if text.endswith(('.', '!', '?')) else '.'} [{finding.finding_id}]"
        if finding.action:
            line += f" Next: {finding.action.strip()}"
        lines.append(line)
    return "\n".join(lines), shown


def answer_facts(cited: list[Finding], reports: list[AnalystReport]) -> ItemFacts:
    """What an answer may state: the cited findings' facts, and the counts the reports' summaries give."""
    merged = ItemFacts()
    for finding in cited:
        facts = finding.facts
        merged.counts += facts.counts
        merged.percents += facts.percents
        merged.durations_ms += facts.durations_ms
        merged.values += facts.values
        merged.windows += facts.windows
        merged.attributes |= facts.attributes
    for report in reports:
        merged.counts += [float(v) for v in report.examined.values()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)]
        merged.counts.append(float(len(report.findings)))
        merged.counts += [float(sum(f.severity == s for f in report.findings)) for s in SEVERITIES]
    return merged


def known_names(reports: list[AnalystReport], known: KnownEntities | None) -> KnownEntities:
    """The warehouse's names (when given) and those the findings carry, which code took from it."""
    known = known or KnownEntities()
    services, routes, codes = set(known.services), set(known.routes), set(known.error_codes)
    for report in reports:
        for finding in report.findings:
            services |= set(finding.entities.get("services") or [])
            routes |= set(finding.entities.get("routes") or [])
            codes |= set(finding.entities.get("error_codes") or [])
    return KnownEntities(frozenset(services), frozenset(routes), frozenset(codes))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def ground_answer(text: str, facts: ItemFacts, known: KnownEntities, day: date,
                  exists: Callable[[str, str], bool] | None = None) -> dict:
    """{ratio, ratio_reason, claims, grounded, sentences, ungrounded: [sentence], reasons: [...]} over the
    answer's sentences; an answer with no checkable claim has ratio None and says there is nothing to verify."""
    exists = exists or (lambda attribute, value: True)
    claims = grounded = 0
    ungrounded, reasons = [], []
    for sentence in sentences(text):
        verdict = ground_text(sentence, facts, known, day, exists)
        claims += verdict["claims"]
        grounded += verdict["grounded_claims"]
        if verdict["grounded"] is False:
            ungrounded.append(sentence)
            reasons.append(verdict["reason"])
    share = ClaimShare(claims=claims, grounded=grounded)
    return {**share.fields(digits=3), "claims": claims, "grounded": grounded, "sentences": len(sentences(text)),
            "ungrounded": ungrounded, "reasons": reasons}
