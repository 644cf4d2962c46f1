"""One row per written digest in the state store (`daily_digests`, `store.state_store`): grounded share, claims,
writer, LLM tokens, cost and latency, so the UI can plot grounded % and cost per digest over the days. The
grounded share is NULL for a digest with nothing to verify."""
from __future__ import annotations

from datetime import date, datetime

from logintel.store.state_store import StateStore

TABLE = "daily_digests"


def record_digest(store: StateStore, document: dict) -> None:
    """Replace the day's row with the digest just written."""
    g, llm = document["grounding"], document["llm"]
    store.record_digests([(
        date.fromisoformat(document["date"]), datetime.fromisoformat(document["created_at"]),  # kept as naive UTC
        document["writer"], g["claims"], g["grounded"], g["ratio"], len(g["invented"]), len(document["top_issues"]),
        len(document["trends"]), len(document["recommendations"]), llm["tokens"], llm["cost_usd"], llm["latency_ms"],
        len(document["hours_covered"]), len(document["hours_missing"]))])


def digest_history(store: StateStore, days: int = 30) -> list[tuple[date, float | None, float]]:
    """(day, grounded ratio or None, cost in USD) of the last `days` digests, oldest first."""
    return store.digest_rows(days)
