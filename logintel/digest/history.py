"""One row per written digest in the warehouse (`daily_digests`): grounded share, claims, writer, LLM
tokens, cost and latency, so the UI can plot grounded % and cost per digest over the days. The grounded share
is NULL for a digest with nothing to verify."""
from __future__ import annotations

from datetime import date

import duckdb

TABLE = "daily_digests"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    day DATE PRIMARY KEY, created_at TIMESTAMP NOT NULL, writer VARCHAR NOT NULL, claims INTEGER NOT NULL,
    grounded INTEGER NOT NULL, grounded_ratio DOUBLE, invented INTEGER NOT NULL, issues INTEGER NOT NULL,
    trends INTEGER NOT NULL, recommendations INTEGER NOT NULL, tokens INTEGER NOT NULL, cost_usd DOUBLE NOT NULL,
    latency_ms DOUBLE NOT NULL, hours_covered INTEGER NOT NULL, hours_missing INTEGER NOT NULL
)"""


def record_digest(con: duckdb.DuckDBPyConnection, document: dict) -> None:
    """Replace the day's row with the digest just written."""
    con.execute(DDL)
    g, llm = document["grounding"], document["llm"]
    if g["ratio"] is None:  # nothing to verify; a table made before the ratio could be NULL still forbids it
        con.execute(f"ALTER TABLE {TABLE} ALTER COLUMN grounded_ratio DROP NOT NULL")
    con.execute(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, CAST(? AS TIMESTAMPTZ), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        date.fromisoformat(document["date"]), document["created_at"], document["writer"], g["claims"], g["grounded"],
        g["ratio"], len(g["invented"]), len(document["top_issues"]), len(document["trends"]),
        len(document["recommendations"]), llm["tokens"], llm["cost_usd"], llm["latency_ms"],
        len(document["hours_covered"]), len(document["hours_missing"])])


def digest_history(con: duckdb.DuckDBPyConnection, days: int = 30) -> list[tuple[date, float | None, float]]:
    """(day, grounded ratio or None, cost in USD) of the last `days` digests, oldest first."""
    con.execute(DDL)
    return con.execute(f"""SELECT day, grounded_ratio, cost_usd FROM
        (SELECT * FROM {TABLE} ORDER BY day DESC LIMIT ?) ORDER BY day""", [days]).fetchall()
