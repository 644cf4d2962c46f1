"""The `daily_digests` history in the state store (a real SQLite file): a digest with nothing to verify is kept with
a NULL grounded share (never 1.0), a day written again replaces its row, and the times of the document are read
as UTC."""
from datetime import date

from logintel.digest.history import digest_history, record_digest
from logintel.store.state_store import StateStore


def _digest(day: str, claims: int, grounded: int, ratio: float | None, cost: float = 0.0) -> dict:
    return {"date": day, "created_at": f"{day}T23:30:00+00:00", "writer": "offline/v1",
            "grounding": {"claims": claims, "grounded": grounded, "ratio": ratio, "invented": []},
            "top_issues": [], "trends": [], "recommendations": [], "hours_covered": [], "hours_missing": [],
            "llm": {"tokens": 0, "cost_usd": cost, "latency_ms": 0.0}}


def test_a_digest_with_nothing_to_verify_has_no_grounded_share(tmp_path):
    store = StateStore(path=tmp_path / "state.db")
    record_digest(store, _digest("2026-03-01", 10, 8, 0.8))
    record_digest(store, _digest("2026-03-01", 10, 9, 0.9, cost=0.02))  # the day written again
    record_digest(store, _digest("2026-03-02", 0, 0, None))
    assert digest_history(store) == [(date(2026, 3, 1), 0.9, 0.02), (date(2026, 3, 2), None, 0.0)]
