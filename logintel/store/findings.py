"""The `findings` and `analyst_runs` tables: each analyst run's findings for its scope (a day, or an hour for
the hourly security pass) as JSON documents, replaced whole on a re-run so a finding's id keeps pointing at
its latest version. The analysts write them; the digest and the CLI read them."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import duckdb

from logintel.store.schema import TABLES, has_table

TABLE = "findings"
RUNS_TABLE = "analyst_runs"
DDL, RUNS_DDL = TABLES[TABLE], TABLES[RUNS_TABLE]


def scope_partition(scope: str, day: date) -> datetime:
    """The partition a run's rows are kept in (`partition_hour`, as every hourly table's; the lake's partition): an
    hourly scope's UTC hour (`2026-12-01-13:00`), a daily scope's date at 00:00."""
    if len(scope) > 10:
        return datetime.strptime(scope, "%Y-%m-%d-%H:%M")
    return datetime(day.year, day.month, day.day)


# scope_partition in SQL, for rows stored before the column (a warehouse's own, or one `logintel migrate` reads).
PARTITION_SQL = "CASE WHEN length(scope) > 10 THEN strptime(scope, '%Y-%m-%d-%H:%M') ELSE CAST(day AS TIMESTAMP) END"


def ensure_findings_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)
    con.execute(RUNS_DDL)
    for table in (TABLE, RUNS_TABLE):  # warehouses from before the column
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS partition_hour TIMESTAMP")
        con.execute(f"UPDATE {table} SET partition_hour = {PARTITION_SQL} WHERE partition_hour IS NULL")


def replace_run(con: duckdb.DuckDBPyConnection, agent: str, scope: str, day: date, findings: list[dict],
                run: dict) -> int:
    """Keep `findings` (documents with finding_id, kind, severity, …) and the run's summary `run` as the
    agent's result for `scope`: whatever an earlier run of it said is dropped."""
    ensure_findings_tables(con)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    partition = scope_partition(scope, day)
    con.execute(f"DELETE FROM {TABLE} WHERE agent = ? AND scope = ?", [agent, scope])
    con.execute(f"DELETE FROM {RUNS_TABLE} WHERE agent = ? AND scope = ?", [agent, scope])
    rows = [(f["finding_id"], agent, scope, day, f["kind"], f["severity"], f["confidence"], f["title"], f["text"],
             (f.get("grounding") or {}).get("grounded"), json.dumps(f, default=str), now, partition)
            for f in findings]
    if rows:
        con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [agent, scope, day, len(rows), run.get("summary") or "", json.dumps(run, default=str), now, partition])
    return len(rows)


def finding_documents(con: duckdb.DuckDBPyConnection, day: str, agent: str | None = None,
                      scope: str | None = None) -> list[dict]:
    """The day's finding documents (or one scope's). A daily run's findings stand for its agent's day; hourly
    ones (the security pass) count only for agents with no daily run yet, each finding once (its latest hour's
    version)."""
    if not has_table(con, TABLE):
        return []
    rows = con.execute(f"""
        SELECT agent, scope, document FROM {TABLE}
        WHERE day = ?::DATE AND (?::VARCHAR IS NULL OR agent = ?) AND (?::VARCHAR IS NULL OR scope = ?)
        ORDER BY scope""", [day, agent, agent, scope, scope]).fetchall()
    daily = {a for a, stored_scope, _ in rows if stored_scope == day}
    chosen: dict[str, dict] = {}
    for a, stored_scope, document in rows:
        if scope is None and a in daily and stored_scope != day:
            continue
        found = json.loads(document)
        chosen[found["finding_id"]] = found
    return list(chosen.values())


def analyst_run_documents(con: duckdb.DuckDBPyConnection, day: str) -> dict[str, dict]:
    """agent -> its latest run's summary document for the day (the daily scope's when there is one)."""
    if not has_table(con, RUNS_TABLE):
        return {}
    runs: dict[str, dict] = {}
    for agent, report in con.execute(f"""
            SELECT agent, report FROM {RUNS_TABLE} WHERE day = ?::DATE
            ORDER BY (scope = ?), scope""", [day, day]).fetchall():
        runs[agent] = json.loads(report)
    return runs
