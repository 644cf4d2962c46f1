"""Moving a DuckDB warehouse's hourly tables into the lake (`logintel migrate`), hour by hour, and proving nothing
was lost: after each table, every hour's row count and a checksum of every row (DuckDB's hash of all its columns,
summed) are compared between the warehouse file and the lake's snapshot. The warehouse file is only read: its
tables stay where they were (shadowed by the lake's views from then on) until the operator drops them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

import duckdb

from logintel.store.lake.catalog import Lake
from logintel.store.lake.mount import mount
from logintel.store.lake.partitions import replace_partition
from logintel.store.lake.tables import LAKE_TABLES
from logintel.store.findings import PARTITION_SQL, RUNS_TABLE as RUNS, TABLE as FINDINGS

_CHECKSUM = "count(*), coalesce(sum(hash(COLUMNS(* EXCLUDE (partition_hour)))), 0)"


@dataclass
class TableMigration:
    table: str
    hours: int = 0
    rows: int = 0
    mismatched_hours: list[datetime] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.mismatched_hours


def migrate(source: duckdb.DuckDBPyConnection, lake: Lake, tables: tuple[str, ...] = LAKE_TABLES,
            progress: Callable[[str], None] = lambda line: None) -> list[TableMigration]:
    """Copy every hour of `tables` from the warehouse file behind `source` into the lake (each hour one commit,
    replacing whatever the lake held for it), then verify each table hour by hour."""
    done = []
    for table in tables:
        result = TableMigration(table)
        if not _held(source, table):
            done.append(result)
            continue
        relation = _relation(source, table)
        hours = [row[0] for row in source.execute(
            f"SELECT DISTINCT partition_hour FROM {relation} ORDER BY 1").fetchall()]
        for number, hour in enumerate(hours, start=1):
            rows = source.sql(f"SELECT * FROM {relation} WHERE partition_hour = $h",
                              params={"h": hour}).to_arrow_table()
            result.rows += replace_partition(lake, table, hour, rows)
            progress(f"{table}: hour {number}/{len(hours)} ({hour:%Y-%m-%d %H:00}), {rows.num_rows:,} rows")
        result.hours = len(hours)
        result.mismatched_hours = _mismatches(source, lake, table)
        done.append(result)
    return done


def _relation(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Where the file's rows of `table` are read from: the table, or for findings stored before their partition
    column (a warehouse the findings step has not written since), a view adding it (the file is only read)."""
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? "
        "AND database_name = current_database()", [table]).fetchall()}
    if "partition_hour" in columns or table not in (FINDINGS, RUNS):
        return f"main.{table}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW migrating_{table} AS "
                f"SELECT *, {PARTITION_SQL} AS partition_hour FROM main.{table}")
    return f"migrating_{table}"


def _held(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ? "
                       "AND database_name = current_database()", [table]).fetchone()[0] > 0


def _mismatches(source: duckdb.DuckDBPyConnection, lake: Lake, table: str) -> list[datetime]:
    """Hours whose row count or checksum differs between the warehouse file and the lake's current snapshot."""
    mounted = duckdb.connect()
    try:
        mount(mounted, lake, (table,))
        lake_sums = dict(_sums(mounted, table))
    finally:
        mounted.close()
    return [hour for hour, sums in _sums(source, _relation(source, table)) if lake_sums.get(hour) != sums]


def _sums(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[datetime, tuple]]:
    rows = con.execute(f"SELECT partition_hour, {_CHECKSUM} FROM {relation} GROUP BY 1 ORDER BY 1").fetchall()
    return [(row[0], tuple(row[1:])) for row in rows]
