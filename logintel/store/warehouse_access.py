"""Opening the warehouse as the settings place it: the DuckDB file, with the lake's tables mounted in it when the
table format is Iceberg (`lake.mount`), so a reader needs to know neither."""
from __future__ import annotations

import duckdb

from logintel.config import LakeLocation, Settings
from logintel.store.warehouse import connect


def open_warehouse(settings: Settings, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = connect(settings.warehouse_path, read_only=read_only)
    if settings.lake.iceberg:
        mount_lake(con, settings.lake_location)
    return con


def mount_lake(con: duckdb.DuckDBPyConnection, location: LakeLocation) -> dict[str, int]:
    from logintel.store.lake.catalog import open_lake
    from logintel.store.lake.mount import mount
    try:
        return mount(con, open_lake(location))
    except BaseException:
        con.close()
        raise
