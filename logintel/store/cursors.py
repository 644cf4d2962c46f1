"""A cursor that sees what its connection sees."""
from __future__ import annotations

import duckdb

from logintel.store.lake.tables import LAKE_TABLES


def own_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """`con.cursor()` — a connection of its own, whose registered objects and temporary tables stay out of
    `con` — with the lake's views `con` has mounted (`lake.mount`), which a cursor does not inherit."""
    cur = con.cursor()
    views = con.execute("""SELECT sql FROM duckdb_views()
                           WHERE temporary AND NOT internal AND list_contains($names, view_name)""",
                        {"names": list(LAKE_TABLES)}).fetchall()
    for (sql,) in views:
        cur.execute(sql)
    return cur
