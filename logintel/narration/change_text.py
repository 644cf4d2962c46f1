"""A change incident's text: the investigation's own (written offline from the numbers it measured), grounded
against those numbers as a digest item is, and kept in the shape every incident's grounding has."""
from __future__ import annotations

import duckdb

from logintel.llm.offline import OFFLINE_WRITER
from logintel.trust.claim_share import ClaimShare
from logintel.trust.item_grounding import day_grounder

MAX_LISTED_UNGROUNDED = 10


def write_change_texts(con: duckdb.DuckDBPyConnection, incidents: list) -> None:
    """Fill `summary`, `writer` and `grounding` of each change incident in place (no model: the text states
    the investigation's figures and nothing else)."""
    if not incidents:
        return
    grounders = {}  # one a day: its names and field=value pairs read once
    for incident in incidents:
        day = incident.start_time.date()
        if day not in grounders:
            grounders[day] = day_grounder(con, day)
        text = incident.evidence.get("text", "")
        verdict = grounders[day](text, incident.evidence.get("facts") or {})
        share = ClaimShare(claims=verdict["claims"], grounded=verdict["grounded_claims"])
        incident.summary, incident.root_cause_analysis, incident.writer = text, "", OFFLINE_WRITER
        incident.grounding = {
            **share.fields(digits=4),
            "claims": verdict["claims"], "grounded": verdict["grounded_claims"],
            "ungrounded": [v for v in verdict["verdicts"] if not v.get("grounded")][:MAX_LISTED_UNGROUNDED],
            "invented": verdict["invented"], "unverifiable_sentences": [], "summary": share.describe()}
