"""The lake: the hourly tables as Apache Iceberg tables, written by any number of runs at once (docs/table-format.md)."""
from logintel.store.lake.catalog import Lake, LakeError, open_lake
from logintel.store.lake.tables import LAKE_TABLES

__all__ = ["LAKE_TABLES", "Lake", "LakeError", "open_lake"]
