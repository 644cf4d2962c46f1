"""Writing and listing an hour of a lake table.

`replace_partition` is one Iceberg snapshot: the hour's old data files leave and its new ones arrive together,
so a reader sees the hour before or after, never half of it; a run that dies before its commit leaves only
unreferenced files behind (the table still points at the previous snapshot). `data_files` lists what the
current snapshot holds, for DuckDB to read directly.
"""
from __future__ import annotations

import warnings
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from logintel.store.lake.catalog import Lake, LakeError
from logintel.store.lake.tables import PARTITION_COLUMN


def replace_partition(lake: Lake, name: str, hour: datetime, rows: pa.Table) -> int:
    """Replace hour `hour` of lake table `name` with `rows` (every one of that hour) in one commit; returns the
    rows written. A concurrent writer of other hours is merged by the retrying commit; one of the same hour makes
    this commit fail with a LakeError naming the hour."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException
    from pyiceberg.expressions import EqualTo
    hour = hour.replace(tzinfo=None)
    table = lake.table(name)
    rows = _conformed(rows, table)
    hours = pc.unique(rows[PARTITION_COLUMN]).to_pylist()
    if hours not in ([], [hour]):
        raise LakeError(f"lake table {name}: rows for hour {hour:%Y-%m-%d %H:00} include other hours")
    try:
        with warnings.catch_warnings():  # an hour written the first time has nothing to replace: no news
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            table.overwrite(rows, overwrite_filter=EqualTo(PARTITION_COLUMN, hour.isoformat()))
    except (CommitFailedException, ValidationException) as exc:
        raise LakeError(f"lake table {name}: hour {hour:%Y-%m-%d %H:00} was replaced by another run at the same "
                        f"time ({exc.__class__.__name__}); run the hour again") from exc
    return rows.num_rows


def data_files(lake: Lake, name: str) -> tuple[list[str], bool]:
    """The data files of lake table `name`'s current snapshot, and whether every row of it is in them (no delete
    files: logintel writes copy-on-write only; an engine that wrote merge-on-read deletes needs pyiceberg's reader)."""
    table = lake.table(name)
    files, whole = [], True
    for task in table.scan().plan_files():
        files.append(task.file.file_path)
        whole = whole and not task.delete_files
    return files, whole


def _conformed(rows: pa.Table, table) -> pa.Table:
    """`rows` with the table's column order and Arrow types (DuckDB's strings and timestamps as the table has them)."""
    target = table.schema().as_arrow()
    missing = [field.name for field in target if field.name not in rows.column_names]
    if missing:
        raise LakeError(f"lake table {table.name()[-1]}: rows lack columns {', '.join(missing)}")
    return rows.select(target.names).cast(target)
