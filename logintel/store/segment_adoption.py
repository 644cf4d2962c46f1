"""Columnar landing segments the lake commits as they are, instead of rewriting their rows.

A columnar segment (`parquet_segments`) holds raw_events' own columns. When every row of one passes the contract's
checks, belongs to the hour, and is stored as it stands — no span event (whose span records leave its attributes)
and no row that loses to a duplicate — the rows the hour would store from it are exactly its rows. The lake then
commits the file itself as a data file of the hour (`lake.partitions.replace_partition`), in the same snapshot
as the rows it did rewrite: reading the checked columns is all the load does for it.

What is adopted is decided in two steps, each conservative:
- `candidates`: files of at least MIN_ROWS rows whose footer shows exactly raw_events' columns and whose rows all
  pass the checks, lie in the hour, and have no event id starting `span-` (a span event or a carrier of late
  spans) or `metrics-` (a carrier of metrics' data points: neither is stored as it stands);
- then the load adopts them only if the hour, candidates included, has no duplicate event id and no span event
  anywhere (span events may mark other rows failed by their logs, which needs every row in one table); otherwise
  the hour loads as if nothing were adopted.

Adopted files are recorded in the table ADOPTED_FILES of the load's database, which only the lake's hour session
(a scratch in-memory database of its own run) holds: it publishes them with the table's rows.
"""
from __future__ import annotations

import duckdb
import pyarrow.parquet as pq

from logintel.events import METRICS_PREFIX

from logintel.store.parquet_segments import SCHEMA, SUFFIX

# A data file costs every reader of the table a footer read and the catalog a manifest entry, whatever its size:
# a small one is cheaper copied into the hour's one written file. Measured on a 1M-event hour landed by the
# receiver (2,048 events a segment: 507 files), each query over the hour took 3-7 times as long as over 6 files,
# and a month would list 365,000 files. `logintel ingest` lands 200,000 events a segment.
MIN_ROWS = 50_000
ADOPTED_FILES = "adopted_files"  # (table_name, path, rows): held by a session that can commit whole files


def accepts_files(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` is a session that commits whole data files (it holds ADOPTED_FILES)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory' "
                            "AND schema_name = 'main' AND table_name = $t", {"t": ADOPTED_FILES}).fetchone()[0])


def create_adopted_files(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE TABLE main.{ADOPTED_FILES} (table_name VARCHAR, path VARCHAR, rows BIGINT)")


def adopted_files(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"SELECT path FROM main.{ADOPTED_FILES} WHERE table_name = $t ORDER BY path",
                                          {"t": table}).fetchall()]


def candidates(con: duckdb.DuckDBPyConnection, files: list[str], checks: str, start, end) -> dict[str, int]:
    """The columnar files of `files` that could be committed as they are, with their rows (see the module)."""
    shaped = [path for path in files if path.endswith(SUFFIX) and _has_schema(path)]
    if not shaped:
        return {}
    try:
        verdicts = con.execute(f"""
            SELECT filename, count(*) AS rows,
                   bool_and(coalesce({checks}, false) AND partition_hour = $start
                            AND NOT starts_with(event_id, 'span-')
                            AND NOT starts_with(event_id, '{METRICS_PREFIX}')) AS whole
            FROM read_parquet($files, filename = true)
            GROUP BY filename""", {"files": shaped, "start": start, "end": end}).fetchall()
    except duckdb.Error:  # one of them cannot be read whole: the load's own reader sorts them out
        return {}
    return {path: rows for path, rows, whole in verdicts if whole and rows}


def _has_schema(path: str) -> bool:
    """Big enough, and exactly raw_events' columns (one footer read)."""
    try:
        footer = pq.read_metadata(path)
        return footer.num_rows >= MIN_ROWS and footer.schema.to_arrow_schema().remove_metadata().equals(SCHEMA)
    except Exception:  # noqa: BLE001 - any file Arrow cannot read is simply not a candidate
        return False
