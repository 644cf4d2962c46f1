"""An hourly step on the lake: it runs in a scratch in-memory DuckDB of its own run, with the other lake tables
mounted (`mount`), writes its tables there as it would in the warehouse file, and each table's hour is then
published to the lake in one commit. No file is shared with another run, so any number of hours run at once —
unless the step carries state from hour to hour (the incidents: its session starts with the hours of its table it
can read or change, `history` and `reach`), which its pool keeps to one hour at a time.

The session commits whole data files too: a load that adopts columnar landing segments (`segment_adoption`) lists
them in the session's ADOPTED_FILES, and they join the table's hour in the same commit as its rows."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

import duckdb

from logintel.store.lake.catalog import Lake
from logintel.store.lake.mount import mount
from logintel.store.lake.catalog import ROW_GROUP_ROWS
from logintel.store.lake.partitions import replace_hours, scratch_folder
from logintel.store.lake.tables import LAKE_TABLES, column_types
from logintel.store.segment_adoption import adopted_files, create_adopted_files


@contextmanager
def hour_session(lake: Lake, hour: datetime, writes: tuple[str, ...], threads: int | None = None,
                 history: tuple[str, ...] = (), reach: HistoryReach | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A scratch connection with every lake table but `writes` mounted; when the block ends without an error, hour
    `hour` of each of `writes` (in that order: a table its readers reach through another goes first) is replaced
    with the rows the block left for that hour. An error publishes nothing.

    A table of `writes` also in `history` is one whose step reads (and may change) its other hours: the block
    starts with its rows — every hour's, or given `reach` the hours the step can read or change — and every hour
    whose rows the block changed is published with `hour`, in the same commit (the incidents step carries incidents
    across hours and resolves earlier ones)."""
    if not set(history) <= set(writes):
        raise ValueError(f"history {history} names tables the session does not write ({writes})")
    hour = hour.replace(tzinfo=None)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        mount(con, lake, tuple(name for name in LAKE_TABLES if name not in writes or name in history))
        for name in history:
            _copy_in(con, name, hour, reach)
        create_adopted_files(con)
        yield con
        reader = con.cursor()  # the block may have left a result unread on its connection
        for name in writes:
            hours = [hour] + (_changed_hours(reader, name, hour) if name in history else [])
            written = {h: _write_hour(reader, lake, name, h) for h in hours}
            try:
                files = {h: ([path] if path else []) for h, path in written.items()}
                files[hour] += adopted_files(reader, name)
                replace_hours(lake, name, files)
            finally:
                for path in written.values():
                    if path:
                        os.unlink(path)  # the table holds its own link or copy
    finally:
        con.close()


_BEFORE = "lake_before_{}"  # a history table's rows as the lake held them when the block began (in main: the
# connection is in memory, and a cursor sees no temporary table)


@dataclass(frozen=True)
class HistoryReach:
    """The hours of a history table a step can read or change: those from `back` before its hour on, and any hour
    holding a row that `also` (SQL over the table's columns) selects, however old. Whole hours are copied, since a
    changed hour is published whole; hours outside stay as the lake holds them."""
    back: timedelta
    also: str | None = None


def _copy_in(con: duckdb.DuckDBPyConnection, name: str, hour: datetime, reach: HistoryReach | None) -> None:
    """`main.<name>` holding the lake's rows (its mounted view's, which then goes) of the hours the step reaches
    (all, without `reach`), and a copy as it was, to tell which hours changed."""
    if reach is None:
        chosen = ""
    else:
        also = f" OR partition_hour IN (SELECT partition_hour FROM temp.{name} WHERE {reach.also})" if reach.also else ""
        chosen = f" WHERE partition_hour >= TIMESTAMP '{hour - reach.back:%Y-%m-%d %H:%M:%S}'{also}"
    con.execute(f"CREATE TABLE main.{name} AS SELECT * FROM temp.{name}{chosen}")
    con.execute(f"DROP VIEW temp.{name}")
    con.execute(f"CREATE TABLE main.{_BEFORE.format(name)} AS SELECT * FROM main.{name}")


def _changed_hours(con: duckdb.DuckDBPyConnection, name: str, hour: datetime) -> list[datetime]:
    """The hours other than `hour` whose rows differ from the lake's when the block began (rows added, removed or
    changed: a multiset difference either way)."""
    before = _BEFORE.format(name)
    rows = con.execute(f"""
        SELECT DISTINCT partition_hour FROM (
            (SELECT * FROM main.{name} EXCEPT ALL SELECT * FROM {before})
            UNION ALL (SELECT * FROM {before} EXCEPT ALL SELECT * FROM main.{name}))
        WHERE partition_hour <> $h ORDER BY 1""", {"h": hour}).fetchall()
    return [row[0] for row in rows]


def _write_hour(con: duckdb.DuckDBPyConnection, lake: Lake, name: str, hour: datetime) -> str | None:
    """The block's rows of `name` for `hour` as one Parquet data file of the table's columns, written by DuckDB
    (rows never pass through Python); None when there are none. main.: the block's own table, never a mounted view
    of the same name. A JSON column is text in the lake, as everywhere in it."""
    columns = ", ".join(f'"{column}"::VARCHAR AS "{column}"' if kind == "JSON" else f'"{column}"'
                        for column, kind in column_types(name))
    path = os.path.join(scratch_folder(lake), f"{uuid.uuid4().hex}-{name}.parquet")
    quoted = path.replace("'", "''")  # a quote in the lake's folder name stays a character of the path
    copied = con.execute(f"""COPY (SELECT {columns} FROM main.{name} WHERE partition_hour = $h) TO '{quoted}'
                             (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})""",
                         {"h": hour}).fetchone()[0]
    if copied:
        return path
    os.unlink(path)
    return None
