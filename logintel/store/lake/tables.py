"""Which warehouse tables live in the lake, and their Iceberg form: the columns of the DuckDB DDL (`schema.TABLES`,
the one definition), each table partitioned by its `partition_hour` (identity: one partition per hour, which is
what an hourly run replaces)."""
from __future__ import annotations

import functools

import duckdb

from logintel.store.schema import TABLES

# The hourly tables the lake holds: the events (and the spans and metric points that came with them), what is a
# function of an hour's events alone, the hour's patterns and their clusters, the incidents, and the analysts' findings
# (partitioned by their scope's hour or day). What stays in the DuckDB warehouse file is daily: the route metrics the
# digest compares (docs/table-format.md says why); the embedding cache is in the state store.
LAKE_TABLES = ("raw_events", "spans", "metric_points", "windowed_aggregates", "window_changes", "event_patterns",
               "pattern_activity", "pattern_clusters", "incidents", "findings", "analyst_runs")
PARTITION_COLUMN = "partition_hour"


@functools.cache
def column_types(name: str) -> tuple[tuple[str, str], ...]:
    """(column, DuckDB type) of warehouse table `name`, in its order: how a mounted view casts the files back
    (a JSON column is a string in Parquet and JSON again in the view). Read once a process from the DDL (every
    connection mounts every lake table)."""
    con = duckdb.connect()
    try:
        con.execute(TABLES[name])
        return tuple((row[0], row[1]) for row in con.execute(f"DESCRIBE {name}").fetchall())
    finally:
        con.close()
