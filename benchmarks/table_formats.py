"""Which open table format for the warehouse's hourly tables (issue: beyond one machine): Apache Iceberg through
`pyiceberg` (a SQLite catalog, as the embedded default would have it) against Delta Lake through `deltalake`,
on the operations logintel needs, measured on one real hour of raw_events.

    pip install "pyiceberg[sql-sqlite,pyarrow]==0.12.0" "deltalake==1.6.6"   # not in the lock yet
    python benchmarks/table_formats.py --warehouse W.duckdb [--hours 4] [--work /tmp/logintel-formats]

W.duckdb is any warehouse holding an hour of raw_events (the largest partition is taken: e.g. the one
`benchmarks/clusters.py cost` builds). For each format, in a fresh folder under --work:

1. replace one hour's partition (one transaction: an overwrite filtered to that hour), its time and the commit's;
2. replace it again (a rerun of the hour): the table still holds one copy;
3. `--hours` hours written at once, one process each (the same rows under other hours): whether every commit
   lands, and the wall time against writing them one after the other;
4. a writer killed (SIGKILL) in the middle of replacing an hour: the table still reads its previous version, and a
   rerun succeeds;
5. DuckDB reading one hour straight from the partition's data files (the file list from the format's own
   metadata; DuckDB's iceberg/delta extensions cannot be downloaded here): a count and a grouped query.

Prints a table. Nothing is written inside the repository.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa


def hour_of(warehouse: Path) -> tuple[pa.Table, datetime]:
    con = duckdb.connect(str(warehouse), read_only=True)
    hour = con.execute("SELECT partition_hour FROM raw_events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    table = con.execute("SELECT * REPLACE (CAST(attributes AS VARCHAR) AS attributes) FROM raw_events "
                        "WHERE partition_hour = ?", [hour]).to_arrow_table()
    con.close()
    return table, hour


def shifted(table: pa.Table, hour: datetime) -> pa.Table:
    """The same rows under another hour."""
    column = table.schema.get_field_index("partition_hour")
    return table.set_column(column, "partition_hour", pa.array([hour] * table.num_rows, pa.timestamp("us")))


# -- Iceberg ------------------------------------------------------------------------------------------------------

def iceberg_table(root: Path, schema: pa.Schema, create: bool):
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.transforms import IdentityTransform
    catalog = SqlCatalog("logintel", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse")
    if not create:
        return catalog.load_table("logintel.raw_events")
    catalog.create_namespace_if_not_exists("logintel")
    table = catalog.create_table("logintel.raw_events", schema=schema)
    with table.update_spec() as spec:
        spec.add_field("partition_hour", IdentityTransform(), "partition_hour")
    return catalog.load_table("logintel.raw_events")


def iceberg_replace(root: Path, rows: pa.Table, hour: datetime, retries: int = 20) -> float:
    """Replace `hour` in one commit; retried on a concurrent commit (the catalog's optimistic check). Returns how
    many times it was retried."""
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.expressions import EqualTo
    for attempt in range(retries):
        table = iceberg_table(root, rows.schema, create=False)
        try:
            table.overwrite(rows, overwrite_filter=EqualTo("partition_hour", hour.isoformat()))
            return float(attempt)
        except CommitFailedException:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError("iceberg: commit kept failing")


def iceberg_files(root: Path, hour: datetime) -> list[str]:
    from pyiceberg.expressions import EqualTo
    table = iceberg_table(root, None, create=False)
    return [task.file.file_path.removeprefix("file://")
            for task in table.scan(row_filter=EqualTo("partition_hour", hour.isoformat())).plan_files()]


# -- Delta --------------------------------------------------------------------------------------------------------

def delta_replace(root: Path, rows: pa.Table, hour: datetime, retries: int = 20) -> float:
    from deltalake import write_deltalake
    from deltalake.exceptions import CommitFailedError
    for attempt in range(retries):
        try:
            write_deltalake(str(root / "raw_events"), rows, mode="overwrite", partition_by=["partition_hour"],
                            predicate=f"partition_hour = '{hour:%Y-%m-%d %H:%M:%S}'")
            return float(attempt)
        except CommitFailedError:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError("delta: commit kept failing")


def delta_files(root: Path, hour: datetime) -> list[str]:
    from deltalake import DeltaTable
    table = DeltaTable(str(root / "raw_events"))
    return [uri.removeprefix("file://")
            for uri in table.file_uris(file_pruning_predicate=f"partition_hour = '{hour:%Y-%m-%d %H:%M:%S}'")]


FORMATS = {"iceberg": (iceberg_replace, iceberg_files), "delta": (delta_replace, delta_files)}


# -- the measurements ---------------------------------------------------------------------------------------------

def _writer(fmt: str, root: str, rows_path: str, hour: datetime, done, begun=None) -> None:
    rows = pa.ipc.open_file(rows_path).read_all()
    if begun is not None:
        begun.set()
    started = time.perf_counter()
    retries = FORMATS[fmt][0](Path(root), rows, hour)
    done.put((hour, time.perf_counter() - started, retries))


def _count(files: list[str]) -> tuple[int, float, float]:
    con = duckdb.connect()
    started = time.perf_counter()
    n = con.execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()[0]
    counted = time.perf_counter() - started
    started = time.perf_counter()
    con.execute("SELECT service, route, count(*) FILTER (level IN ('error', 'fatal')), quantile_cont(duration_ms, 0.99) "
                "FROM read_parquet(?) GROUP BY ALL", [files]).fetchall()
    return n, counted, time.perf_counter() - started


def measure(fmt: str, rows: pa.Table, hour: datetime, work: Path, hours: int) -> dict:
    replace, files = FORMATS[fmt]
    root = work / fmt
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if fmt == "iceberg":
        iceberg_table(root, rows.schema, create=True)
    out = {}
    started = time.perf_counter()
    replace(root, rows, hour)
    out["replace an hour (s)"] = time.perf_counter() - started
    started = time.perf_counter()
    replace(root, rows, hour)
    out["replace it again (s)"] = time.perf_counter() - started
    n, counted, grouped = _count(files(root, hour))
    out["rows after two replaces"] = n
    out["DuckDB count over the hour's files (s)"] = counted
    out["DuckDB grouped query (s)"] = grouped

    rows_path = work / f"{fmt}-rows.arrow"
    with pa.OSFile(str(rows_path), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows)
    others = [hour + timedelta(hours=k) for k in range(1, hours + 1)]
    for other in others:  # the same rows under each other hour, written once so every process reads its own
        with pa.OSFile(str(work / f"{fmt}-{other:%H}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, rows.schema) as writer:
            writer.write_table(shifted(rows, other))
    ctx = mp.get_context("spawn")
    done = ctx.Queue()
    started = time.perf_counter()
    procs = [ctx.Process(target=_writer, args=(fmt, str(root), str(work / f"{fmt}-{o:%H}.arrow"), o, done))
             for o in others]
    for p in procs:
        p.start()
    results = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    out[f"{hours} hours at once, one process each (s)"] = time.perf_counter() - started
    out["retried commits"] = int(sum(r[2] for r in results))
    out["their writes, each (median s)"] = sorted(r[1] for r in results)[len(results) // 2]
    out["every hour readable after"] = all(_count(files(root, o))[0] == rows.num_rows for o in others)
    started = time.perf_counter()
    for other in others:  # the same hours again, one after the other in this process
        replace(root, pa.ipc.open_file(str(work / f"{fmt}-{other:%H}.arrow")).read_all(), other)
    out[f"the same {hours} hours one after the other (s)"] = time.perf_counter() - started

    begun, unused = ctx.Event(), ctx.Queue()
    victim = ctx.Process(target=_writer, args=(fmt, str(root), str(rows_path), hour, unused, begun))
    victim.start()
    begun.wait(timeout=120)  # its rows read: now it writes the hour's files, then commits
    time.sleep(out["replace an hour (s)"] / 2)
    os.kill(victim.pid, signal.SIGKILL)
    victim.join()
    out["killed mid-replace: the hour still reads"] = _count(files(root, hour))[0] == rows.num_rows
    replace(root, rows, hour)
    out["and a rerun succeeds"] = _count(files(root, hour))[0] == rows.num_rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--hours", type=int, default=4)
    ap.add_argument("--work", type=Path, default=Path("/tmp/logintel-formats"))
    ap.add_argument("--formats", default="iceberg,delta")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    rows, hour = hour_of(a.warehouse)
    print(f"one hour of raw_events: {rows.num_rows:,} rows, {rows.nbytes / 2**20:.0f} MiB in Arrow")
    results = {fmt: measure(fmt, rows, hour, a.work, a.hours) for fmt in a.formats.split(",")}
    keys = list(next(iter(results.values())))
    print(f"\n{'':<48}" + "".join(f"{fmt:>12}" for fmt in results))
    for key in keys:
        cells = "".join(f"{results[f][key]:>12.2f}" if isinstance(results[f][key], float)
                        else f"{str(results[f][key]):>12}" for f in results)
        print(f"{key:<48}{cells}")


if __name__ == "__main__":
    sys.exit(main())
