"""An hourly step on the lake: it runs in a scratch in-memory DuckDB of its own run, with the other lake tables
mounted (`mount`), writes its tables there as it would in the warehouse file, and each table's hour is then
published to the lake in one commit. No file is shared with another run, so any number of hours run at once."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import duckdb

from logintel.store.lake.catalog import Lake
from logintel.store.lake.mount import mount
from logintel.store.lake.partitions import replace_partition
from logintel.store.lake.tables import LAKE_TABLES


@contextmanager
def hour_session(lake: Lake, hour: datetime, writes: tuple[str, ...],
                 threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A scratch connection with every lake table but `writes` mounted; when the block ends without an error, hour
    `hour` of each of `writes` (in that order: a table its readers reach through another goes first) is replaced
    with the rows the block left for that hour. An error publishes nothing."""
    hour = hour.replace(tzinfo=None)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        mount(con, lake, tuple(name for name in LAKE_TABLES if name not in writes))
        yield con
        reader = con.cursor()  # the block may have left a result unread on its connection
        for name in writes:  # main.: the block's own table, never a view of the same name
            rows = reader.sql(f"SELECT * FROM main.{name} WHERE partition_hour = $h", params={"h": hour}).to_arrow_table()
            replace_partition(lake, name, hour, rows)
    finally:
        con.close()
