"""The lake's tables inside a DuckDB connection, under their warehouse names: a temporary view per table over its
current snapshot's data files (DuckDB's Parquet reader, never rows through Python). The views shadow any table
of the same name in the DuckDB file, so every query in logintel reads the lake unchanged. Mounted once per
connection: a connection sees the snapshots as they were when it opened (a consistent read)."""
from __future__ import annotations

import duckdb

from logintel.store.lake.catalog import Lake, LakeError
from logintel.store.lake.partitions import data_files
from logintel.store.lake.tables import LAKE_TABLES, column_types


def mount(con: duckdb.DuckDBPyConnection, lake: Lake, names: tuple[str, ...] = LAKE_TABLES) -> dict[str, int]:
    """Mount each of `names` in `con`; returns the data files each one reads."""
    _register_object_store(con, lake)
    # Data files never change once written (a snapshot replaces files, never rewrites one): their footers can be
    # kept between queries, which read every file's footer to prune by partition_hour and ts.
    con.execute("SET parquet_metadata_cache = true")
    mounted = {}
    for name in names:
        files, whole = data_files(lake, name)
        if not whole:
            raise LakeError(f"lake table {name} has delete files (an engine wrote merge-on-read deletes): logintel "
                            "reads data files directly; rewrite the table copy-on-write (Spark: rewrite_data_files)")
        types = column_types(name)
        if files:
            columns = ", ".join(f'CAST("{c}" AS {kind}) AS "{c}"' if kind == "JSON" else f'"{c}"' for c, kind in types)
            source = f"read_parquet({_sql_list(files)}, hive_partitioning = false, union_by_name = true)"
        else:  # no hour written yet: the columns, no rows
            columns = ", ".join(f'CAST(NULL AS {kind}) AS "{c}"' for c, kind in types)
            source = "(SELECT 1) WHERE false"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {columns} FROM {source}")
        mounted[name] = len(files)
    return mounted


def _sql_list(paths: list[str]) -> str:
    """Paths as a SQL list of string literals (a quote in a folder's name is doubled, never SQL)."""
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"


def _register_object_store(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """s3:// data files are read through s3fs (DuckDB's httpfs extension cannot be downloaded here)."""
    if not lake.location.warehouse.startswith("s3://"):
        return
    import s3fs
    client = {"endpoint_url": lake.location.s3_endpoint} if lake.location.s3_endpoint else {}
    if lake.location.s3_region:
        client["region_name"] = lake.location.s3_region
    con.register_filesystem(s3fs.S3FileSystem(client_kwargs=client))
