"""The incident table a terminal shows (and the Dagster run's table): each incident's cause, and where to look
first — its ranked candidates."""
from __future__ import annotations

from logintel.views.incident_table import candidates_label, format_incident_table

CANDIDATES = [
    {"rank": 1, "service": "acme-psp", "kind": "dependency", "score": 0.97, "source": "call path"},
    {"rank": 2, "service": "payments", "kind": "network_gap", "score": 8.0, "changed": True, "source": "investigation"},
    {"rank": 3, "service": "orders", "kind": "errors", "score": 2.4, "changed": False, "source": "investigation"},
    {"rank": 4, "service": "storefront", "kind": "log_pattern", "score": 2.1, "changed": False},
]


def test_where_to_look_names_the_first_three_with_their_kind_and_strength():
    label = candidates_label({"kind": "dependency", "candidates": CANDIDATES})
    assert label == ("acme-psp (dependency, confidence 0.97) · payments (network gap, z 8.0) · "
                     "orders (errors, z 2.4, hint)")
    assert candidates_label({"kind": "attribute"}) == "" and candidates_label(None) == ""
    over = candidates_label({"candidates": CANDIDATES[2:3],
                             "candidates_window": ["2026-12-06T10:20:00", "2026-12-06T10:25:00"]})
    assert over == "orders (errors, z 2.4, hint) — over 10:20–10:25"  # the minutes they were ranked over
    assert candidates_label({"candidates": [], "candidates_window": ["2026-12-06T10:20:00", "2026-12-06T10:25:00"]}) == ""


def test_the_terminal_table_shows_where_to_look_under_a_standing_incident_only():
    row = {"severity": "high", "kind": "cluster", "start_time": "2026-12-06T10:00:00", "end_time": "2026-12-06T10:15:00",
           "incident_id": "inc-1", "related_traces_total": 3, "grounding": {"grounded": 5, "claims": 5},
           "summary": "checkout fails", "writer": "offline/v1", "root_cause_analysis": "acme-psp got slower",
           "root_cause": {"kind": "dependency", "attribute": "peer.service", "value": "acme-psp", "confidence": 0.97,
                          "candidates": CANDIDATES}}
    merged = {**row, "incident_id": "inc-2", "merged_into": "inc-1"}
    text = format_incident_table([row, merged])
    assert text.count("where to look: acme-psp (dependency, confidence 0.97) · payments") == 1
