"""The digest's grounding check, run on the file as written: every sentence of `YYYY-MM-DD.json`
grounded again against the facts stored beside it and the warehouse's names. An invented name is an
error; a grounded share under the minimum (95%), or nothing to verify at all, is a warning."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from logintel.trust.claim_share import ClaimShare
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts, ground_text

MIN_GROUNDED = 0.95
SECTIONS = ("top_issues", "trends", "recommendations")


@dataclass
class DigestVerdict:
    sentences: int = 0
    claims: int = 0
    grounded: int = 0
    invented: list[str] = field(default_factory=list)
    ungrounded: list[dict] = field(default_factory=list)  # {source, sentence, why}
    problem: str | None = None  # the file could not be checked at all

    @property
    def share(self) -> ClaimShare:
        return ClaimShare(claims=self.claims, grounded=self.grounded)

    @property
    def ratio(self) -> float | None:
        return self.share.ratio

    @property
    def passed(self) -> bool:
        # A digest with nothing to verify is not a grounded one (its headline alone states figures).
        return self.problem is None and not self.invented and bool(self.share.meets(MIN_GROUNDED))

    def description(self) -> str:
        if self.problem:
            return self.problem
        text = f"{self.share.describe()} in {self.sentences} sentences"
        if self.invented:
            text += f"; invented: {', '.join(self.invented[:5])}"
        return text


def digest_items(document: dict) -> list[dict]:
    items = [document["headline_item"]] if document.get("headline_item") else []
    for section in SECTIONS:
        items += document.get(section) or []
    return items + ([document["pipeline"]] if document.get("pipeline") else [])


def verify_digest_file(con: duckdb.DuckDBPyConnection, path: Path) -> DigestVerdict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        day = date.fromisoformat(document["date"])
        items = digest_items(document)
    except (OSError, ValueError, KeyError, TypeError) as problem:
        return DigestVerdict(problem=f"the digest {path} cannot be read: {problem}")
    known = KnownEntities.from_warehouse(con)
    verdict = DigestVerdict(sentences=len(items))
    for item in items:
        grounding = ground_text(item.get("text") or "", ItemFacts.from_dict(item.get("facts") or {}), known, day)
        verdict.claims += grounding["claims"]
        verdict.grounded += grounding["grounded_claims"]
        verdict.invented += grounding["invented"]
        if grounding["grounded"] is False:
            verdict.ungrounded.append({"source": item.get("source", ""), "sentence": item.get("text", ""),
                                       "why": grounding["reason"]})
    verdict.invented = sorted(set(verdict.invented))
    return verdict
