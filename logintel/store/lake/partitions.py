"""Writing and listing an hour of a lake table.

`replace_partition` is one Iceberg snapshot: the hour's old data files leave and its new ones arrive together,
so a reader sees the hour before or after, never half of it; a run that dies before its commit leaves only
unreferenced files behind (the table still points at the previous snapshot). Whole files (columnar landing
segments a load adopted) are copied into the table's folder — a hard link where the lake is on the same disk — and
join the hour in that same snapshot. `data_files` lists what the current snapshot holds, for DuckDB to read
directly.
"""
from __future__ import annotations

import os
import shutil
import uuid
import warnings
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator
from urllib.parse import quote_plus, urlparse

import pyarrow as pa
import pyarrow.compute as pc

from logintel.store.lake.catalog import Lake, LakeError
from logintel.store.lake.tables import PARTITION_COLUMN


def replace_partition(lake: Lake, name: str, hour: datetime, rows: pa.Table | None = None,
                      files: list[str] | tuple[str, ...] = ()) -> int:
    """Replace hour `hour` of lake table `name` with `rows` and the rows of data `files` (local Parquet files of
    exactly the table's columns, every row of that hour) in one commit; returns the rows written from `rows`. A
    concurrent writer of other hours is merged by the retrying commit; one of the same hour makes this commit fail
    with a LakeError naming the hour."""
    from pyiceberg.expressions import EqualTo
    hour = hour.replace(tzinfo=None)
    table = lake.table(name)
    if rows is not None:
        rows = _conformed(rows, table)
        hours = pc.unique(rows[PARTITION_COLUMN]).to_pylist()
        if hours not in ([], [hour]):
            raise LakeError(f"lake table {name}: rows for hour {hour:%Y-%m-%d %H:00} include other hours")
    if rows is None or not rows.num_rows:
        replace_hours(lake, name, {hour: list(files)})
        return 0
    with _replacing(name, [hour]):
        placed = [_place(table, hour, path) for path in files]
        with table.transaction() as change:
            change.overwrite(rows, overwrite_filter=EqualTo(PARTITION_COLUMN, hour.isoformat()))
            if placed:
                change.add_files(placed, check_duplicate_files=False)  # fresh names: none can be there yet
    return rows.num_rows


def replace_hours(lake: Lake, name: str, files_by_hour: dict[datetime, list[str]]) -> None:
    """Replace each hour of lake table `name` in `files_by_hour` with the rows of its data files (local Parquet
    files of the table's columns, every row of that hour; none: the hour is emptied), all in one commit: a reader
    sees every one of those hours before or every one after. A step that changes rows of earlier hours too (the
    incidents step resolves incidents of earlier hours) publishes them with its own hour."""
    from pyiceberg.expressions import EqualTo, In
    hours = sorted(hour.replace(tzinfo=None) for hour in files_by_hour)
    if not hours:
        return
    table = lake.table(name)
    # one hour as EqualTo: the filter an hour's replacement has always used (In of one value is the same rows)
    chosen = EqualTo(PARTITION_COLUMN, hours[0].isoformat()) if len(hours) == 1 else \
        In(PARTITION_COLUMN, [hour.isoformat() for hour in hours])
    with _replacing(name, hours):
        placed = [_place(table, hour.replace(tzinfo=None), path)
                  for hour, paths in files_by_hour.items() for path in paths]
        with table.transaction() as change:
            change.delete(chosen)
            if placed:
                change.add_files(placed, check_duplicate_files=False)  # fresh names: none can be there yet


@contextmanager
def _replacing(name: str, hours: list[datetime]) -> Iterator[None]:
    """Around a commit replacing `hours` of table `name`: an hour written the first time has nothing to replace (no
    news), and losing the race to another run of the same hour is a LakeError naming the hours."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            yield
    except (CommitFailedException, ValidationException) as exc:
        which = ", ".join(f"{hour:%Y-%m-%d %H:00}" for hour in hours)
        raise LakeError(f"lake table {name}: hour {which} was replaced by another run at the same time "
                        f"({exc.__class__.__name__}); run the hour again") from exc


def scratch_folder(lake: Lake) -> str:
    """Where a run writes a data file before it joins the table: beside the table's files when the lake is local
    (so joining it is a hard link), else this machine's temporary folder (joining it is an upload)."""
    warehouse = lake.location.warehouse
    if warehouse.startswith("file:"):
        folder = os.path.join(urlparse(warehouse).path, ".scratch")
    else:
        import tempfile
        folder = os.path.join(tempfile.gettempdir(), "logintel-lake-scratch")
    os.makedirs(folder, exist_ok=True)
    return folder


def _place(table, hour: datetime, path: str) -> str:
    """A copy of data file `path` in `table`'s folder for `hour` (a hard link when it can be), where the table's
    own files are: the lake never references the landing zone, which keeps its own retention."""
    folder = f"{PARTITION_COLUMN}={quote_plus(hour.isoformat())}"  # the hour's folder, named as pyiceberg names it
    target = f"{table.location().rstrip('/')}/data/{folder}/{uuid.uuid4().hex}-{os.path.basename(path)}"
    if target.startswith(("file:", "/")):
        local = urlparse(target).path if target.startswith("file:") else target
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            os.link(path, local)
        except OSError:  # another disk, or links not allowed
            shutil.copyfile(path, local)
        return target
    with open(path, "rb") as source, table.io.new_output(target).create() as sink:
        shutil.copyfileobj(source, sink, 8 * 1024 * 1024)
    return target


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
