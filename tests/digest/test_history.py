"""The `daily_digests` history on a real DuckDB: a digest with nothing to verify is kept with a NULL grounded
share (never 1.0), also in a table made when the share could not be NULL."""
from logintel.digest.history import TABLE, digest_history, record_digest


def _digest(day: str, claims: int, grounded: int, ratio: float | None) -> dict:
    return {"date": day, "created_at": f"{day}T23:30:00+00:00", "writer": "offline/v1",
            "grounding": {"claims": claims, "grounded": grounded, "ratio": ratio, "invented": []},
            "top_issues": [], "trends": [], "recommendations": [], "hours_covered": [], "hours_missing": [],
            "llm": {"tokens": 0, "cost_usd": 0.0, "latency_ms": 0.0}}


def test_a_digest_with_nothing_to_verify_has_no_grounded_share(con):
    con.execute(f"""CREATE TABLE {TABLE} (
        day DATE PRIMARY KEY, created_at TIMESTAMP NOT NULL, writer VARCHAR NOT NULL, claims INTEGER NOT NULL,
        grounded INTEGER NOT NULL, grounded_ratio DOUBLE NOT NULL, invented INTEGER NOT NULL,
        issues INTEGER NOT NULL, trends INTEGER NOT NULL, recommendations INTEGER NOT NULL, tokens INTEGER NOT NULL,
        cost_usd DOUBLE NOT NULL, latency_ms DOUBLE NOT NULL, hours_covered INTEGER NOT NULL,
        hours_missing INTEGER NOT NULL)""")  # as an earlier version made it
    record_digest(con, _digest("2026-03-01", 10, 9, 0.9))
    record_digest(con, _digest("2026-03-02", 0, 0, None))
    assert [(d.isoformat(), ratio) for d, ratio, _ in digest_history(con)] == [("2026-03-01", 0.9),
                                                                              ("2026-03-02", None)]
