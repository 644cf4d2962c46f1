"""Analyst reports into the warehouse's findings tables and back as Findings (`logintel.store.findings`)."""
from __future__ import annotations

import duckdb

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import Finding, ranked
from logintel.store.findings import analyst_run_documents, finding_documents, replace_run


def replace_findings(con: duckdb.DuckDBPyConnection, report: AnalystReport) -> int:
    """Keep `report` as its agent's result for its scope (an earlier run's findings for it are dropped)."""
    run = report.to_dict()
    run.pop("findings")
    return replace_run(con, report.agent, report.scope.key, report.scope.day.day,
                       [f.to_dict() for f in report.findings], run)


def read_findings(con: duckdb.DuckDBPyConnection, day: str, agent: str | None = None) -> list[Finding]:
    """The day's findings, most severe first (see `finding_documents` for which run's count)."""
    return ranked([Finding.from_dict(d) for d in finding_documents(con, day, agent)])


def analyst_runs(con: duckdb.DuckDBPyConnection, day: str) -> dict[str, dict]:
    return analyst_run_documents(con, day)
