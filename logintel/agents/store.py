"""The `findings` table: each analyst run's findings for its scope (a day, or an hour for the hourly security
pass), replaced whole on a re-run so a finding's id keeps pointing at its latest version."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from logintel.agents.finding import Finding, ranked
from logintel.agents.report import AnalystReport

TABLE = "findings"
DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    finding_id VARCHAR NOT NULL, agent VARCHAR NOT NULL, scope VARCHAR NOT NULL, day DATE NOT NULL,
    kind VARCHAR NOT NULL, severity VARCHAR NOT NULL, confidence DOUBLE NOT NULL, title VARCHAR NOT NULL,
    text VARCHAR NOT NULL, grounded BOOLEAN, document JSON NOT NULL, created_at TIMESTAMP NOT NULL
)"""
RUNS_TABLE = "analyst_runs"
RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    agent VARCHAR NOT NULL, scope VARCHAR NOT NULL, day DATE NOT NULL, findings INTEGER NOT NULL,
    summary VARCHAR NOT NULL, report JSON NOT NULL, created_at TIMESTAMP NOT NULL
)"""


def ensure_findings_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    con.execute(RUNS_DDL)


def replace_findings(con: duckdb.DuckDBPyConnection, report: AnalystReport) -> int:
    """Keep `report` as the agent's result for its scope (whatever an earlier run of it said is dropped)."""
    ensure_findings_tables(con)
    scope, day, now = report.scope.key, report.scope.day.day, datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute(f"DELETE FROM {TABLE} WHERE agent = ? AND scope = ?", [report.agent, scope])
    con.execute(f"DELETE FROM {RUNS_TABLE} WHERE agent = ? AND scope = ?", [report.agent, scope])
    rows = [(f.finding_id, f.agent, scope, day, f.kind, f.severity, f.confidence, f.title, f.text,
             (f.grounding or {}).get("grounded"), json.dumps(f.to_dict(), default=str), now)
            for f in report.findings]
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    document = report.to_dict()
    document.pop("findings")
    con.execute(f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                [report.agent, scope, day, len(report.findings), report.summary(), json.dumps(document, default=str), now])
    return len(rows)


def read_findings(con: duckdb.DuckDBPyConnection, day: str, agent: str | None = None) -> list[Finding]:
    """The day's findings, most severe first. A daily run's findings stand for its agent's day; hourly ones
    (the security pass) count only for agents with no daily run yet, each finding once (its latest hour)."""
    if not _has(con, TABLE):
        return []
    rows = con.execute(f"""
        SELECT agent, scope, document FROM {TABLE}
        WHERE day = ?::DATE AND (? IS NULL OR agent = ?) ORDER BY scope""", [day, agent, agent]).fetchall()
    daily = {a for a, scope, _ in rows if scope == day}
    chosen: dict[str, Finding] = {}
    for a, scope, document in rows:
        if a in daily and scope != day:
            continue
        finding = Finding.from_dict(json.loads(document))
        chosen[finding.finding_id] = finding  # a later hour's version of the same finding wins
    return ranked(list(chosen.values()))


def analyst_runs(con: duckdb.DuckDBPyConnection, day: str) -> dict[str, dict]:
    """agent -> its latest run's summary document for the day (daily scope preferred)."""
    if not _has(con, RUNS_TABLE):
        return {}
    runs: dict[str, dict] = {}
    for agent, scope, report in con.execute(f"""
            SELECT agent, scope, report FROM {RUNS_TABLE} WHERE day = ?::DATE
            ORDER BY (scope = ?), scope""", [day, day]).fetchall():
        runs[agent] = json.loads(report)
    return runs


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).fetchone()[0])
