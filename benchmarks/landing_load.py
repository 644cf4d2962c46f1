"""Landing → raw_events: each way of loading one hour, into the DuckDB warehouse and into the lake, with what each
costs per core.

    .venv/bin/python benchmarks/landing_load.py [--events 1000000] [--seed 7] [--threads 1,2] [--repeat 3]
                                                [--segment-events 200000]
    .venv/bin/python benchmarks/landing_load.py --landing DIR --hour 2026-12-06T08   # an hour already landed
    .venv/bin/python benchmarks/landing_load.py --segment-events 2048   # as the receiver lands: sealed, and not

The hour is simulated (traffic calibrated to about --events events) and landed twice from the same canonical lines:
as JSON segments (`*.canonical.jsonl`) and as columnar ones (`*.canonical.parquet`, raw_events' own columns; the
CPU time the writer spent turning the lines into columns is printed: the receiver and the SDK pay it). With
--landing, an existing landing zone's hour is copied the same two ways. Each way then loads the hour with
`load_hour`, timed from reading the landing zone to the committed hour (best of --repeat), at each DuckDB thread
count:

- duckdb exact: every line read into Python and checked by DuckDB line by line (the path any file can take);
- duckdb fast: the JSON segments read by DuckDB's JSON reader with the contract's columns;
- duckdb columnar: the columnar segments read by DuckDB's Parquet reader;
- lake fast: JSON segments into the lake (an hour session: rows written, then one Iceberg commit);
- lake columnar: columnar segments into the lake, each one that passes whole committed as it is.

With --segment-events under a columnar segment's floor (50,000: what the receiver's flushes are), the hour is landed a
third way, as the receiver lands it — small JSON segments, then sealed into columnar ones (`store.segment_sealing`,
the CPU time of the seal printed: the receiver's sealer thread pays it) — and loaded by the `sealed` rows; the last
table then adds the whole way from canonical lines to the hour's rows per CPU-second: writing the segments, sealing
them where that is done, and the load.

`per CPU-s` is events per second of CPU the whole process used (DuckDB's threads, Arrow's and pyiceberg's
included), so it is the rate per core whatever the threads. Then every load is compared row for row with the
exact path's warehouse (raw_events and spans, every column): the last column says whether it is identical.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def simulated_lines(events: int, seed: int) -> tuple[datetime, list[str]]:
    from logintel.simulate import simulate
    from logintel.store.landing import hour_floor
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    probe = len(simulate(start=hour, hours=1, seed=seed, requests_per_minute=500).events) / (500 * 60)
    sim = simulate(start=hour, hours=1, seed=seed, requests_per_minute=events / 60 / probe)
    return hour, [event.to_json() for event in sim.events if hour_floor(event.timestamp) == hour]


def copied_lines(source: Path, key: str) -> tuple[datetime, list[str]]:
    from logintel.store.landing import parse_hour_key
    from logintel.store.landing_files import FileLandingZone
    hour = parse_hour_key(key)
    return hour, FileLandingZone(source).read_hour(hour).lines


def land(zone, hour: datetime, lines: list[str], size: int) -> float:
    """Land `lines` in segments of `size` events as the writers do; returns the CPU seconds it took."""
    started = time.process_time()
    for start in range(0, len(lines), size):
        zone.write_lines(hour, lines[start:start + size])
    return time.process_time() - started


def load_duckdb(zone, hour: datetime, target: Path, fast: bool, threads: int):
    from logintel.store.warehouse import connect, load_hour
    target.unlink(missing_ok=True)
    con = connect(target)
    con.execute(f"SET threads = {threads}")
    wall, cpu = time.perf_counter(), time.process_time()
    report = load_hour(con, zone.read_hour(hour, canonical_as_files=fast))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    con.close()
    return wall, cpu, report


def load_lake(zone, hour: datetime, folder: Path, threads: int):
    from logintel.config import load_settings
    from logintel.store.lake import open_lake
    from logintel.store.lake.hour_load import HOUR_LOAD_WRITES
    from logintel.store.lake.hour_runs import hour_session
    from logintel.store.warehouse import load_hour
    shutil.rmtree(folder, ignore_errors=True)
    lake = open_lake(load_settings({"LOGINTEL_HOME": str(folder), "LOGINTEL_TABLE_FORMAT": "iceberg"}).lake_location)
    for name in HOUR_LOAD_WRITES:
        lake.table(name)  # created before the clock starts, as a running deployment has them
    wall, cpu = time.perf_counter(), time.process_time()
    with hour_session(lake, hour, HOUR_LOAD_WRITES, threads=threads) as con:
        report = load_hour(con, zone.read_hour(hour, canonical_as_files=True))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, report


def identical(exact: Path, other: Path) -> bool:
    """Whether the warehouse file or lake home `other` holds exactly the rows of warehouse file `exact`."""
    import duckdb
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{exact}' AS a (READ_ONLY)")
        if other.suffix == ".duckdb":
            con.execute(f"ATTACH '{other}' AS b (READ_ONLY)")
            tables = {name: f"b.{name}" for name in ("raw_events", "spans")}
        else:
            from logintel.config import load_settings
            from logintel.store.lake import open_lake
            from logintel.store.lake.mount import mount
            mount(con, open_lake(load_settings({"LOGINTEL_HOME": str(other),
                                                "LOGINTEL_TABLE_FORMAT": "iceberg"}).lake_location))
            tables = {name: name for name in ("raw_events", "spans")}
        for table, theirs in tables.items():
            for x, y in ((f"a.{table}", theirs), (theirs, f"a.{table}")):
                if con.execute(f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})").fetchone()[0]:
                    return False
        return True
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--landing", type=Path, help="an existing landing zone (with --hour) instead of simulating")
    ap.add_argument("--hour", help="the hour of --landing, as its folder names it (2026-12-06T08)")
    ap.add_argument("--segment-events", type=int, default=200_000,
                    help="events a segment (200,000: `logintel ingest`; the receiver flushes up to 2,048 at a time)")
    a = ap.parse_args()
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.segment_adoption import MIN_ROWS
    from logintel.store.segment_sealing import seal_hour
    work = Path(tempfile.mkdtemp(prefix="logintel-landing-load-"))
    try:
        hour, lines = copied_lines(a.landing, a.hour) if a.landing else simulated_lines(a.events, a.seed)
        zones = {"json": FileLandingZone(work / "json", "jsonl"),
                 "columnar": FileLandingZone(work / "columnar", "parquet")}
        sealing = a.segment_events < MIN_ROWS
        if sealing:  # as the receiver lands an hour: its small flushes as JSON, then its sealer's columnar segments
            zones["sealed"] = FileLandingZone(work / "sealed", "auto")
        cost = {name: land(zone, hour, lines, a.segment_events) for name, zone in zones.items()}
        if sealing:
            started = time.process_time()
            seal = seal_hour(zones["sealed"].hour_dir(hour), hour, final=True)
            cost["seal"] = time.process_time() - started
            print(f"sealed: {seal.describe()}, sealer CPU {cost['seal']:.2f} s "
                  f"({cost['seal'] / len(lines) * 1e6:.2f} µs an event)")
        sizes = {name: sum(p.stat().st_size for p in zone.segments(hour)) for name, zone in zones.items()}
        print(f"landed hour {hour:%Y-%m-%dT%H}: {len(lines):,} events in segments of {a.segment_events:,}")
        for name in ("json", "columnar"):
            print(f"  {name:<9} segments: writer CPU {cost[name]:.2f} s ({cost[name] / len(lines) * 1e6:.2f} µs an "
                  f"event), {sizes[name] / 1e6:,.1f} MB on disk")
        ways = (("duckdb", "exact", "json"), ("duckdb", "fast", "json"), ("duckdb", "columnar", "columnar"),
                ("lake", "fast", "json"), ("lake", "columnar", "columnar"))
        if sealing:
            ways += (("duckdb", "sealed", "sealed"), ("lake", "sealed", "sealed"))
        rows = []
        for threads in [int(t) for t in a.threads.split(",")]:
            results = {}
            for target, path, landing in ways:
                folder = work / f"{target}-{path}-{threads}"  # a warehouse file in it, or a lake's home
                folder.mkdir(parents=True, exist_ok=True)
                out = folder / "w.duckdb" if target == "duckdb" else folder
                runs = [load_duckdb(zones[landing], hour, out, path != "exact", threads) if target == "duckdb"
                        else load_lake(zones[landing], hour, out, threads) for _ in range(a.repeat)]
                results[(target, path)] = (min(runs, key=lambda r: r[0]), out)
            exact_wall = results[("duckdb", "exact")][0][0]
            exact_file = results[("duckdb", "exact")][1]
            for (target, path), ((wall, cpu, report), out) in results.items():
                same = True if (target, path) == ("duckdb", "exact") else identical(exact_file, out)
                rows.append((threads, target, path, report.lines, report.loaded, report.fast_lines,
                             report.adopted_lines, wall, cpu, report.lines / wall, report.lines / cpu,
                             exact_wall / wall, same))
        print(f"\n{'threads':>7} {'into':<6} {'path':<9} {'lines':>10} {'loaded':>10} {'read fast':>10} "
              f"{'committed':>10} {'wall s':>7} {'CPU s':>7} {'events/s':>10} {'per CPU-s':>10} {'vs exact':>8}  identical")
        for threads, target, path, lines_, loaded, fast, adopted, wall, cpu, rate, per_cpu, ratio, same in rows:
            print(f"{threads:>7} {target:<6} {path:<9} {lines_:>10,} {loaded:>10,} {fast:>10,} {adopted:>10,} "
                  f"{wall:>7.2f} {cpu:>7.2f} {rate:>10,.0f} {per_cpu:>10,.0f} {ratio:>7.2f}x  {'yes' if same else 'NO'}")
        print("\n`committed`: rows of columnar segments the lake committed as they are (no row copied).")
        if sealing:  # the whole way from canonical lines, on one core: landing, sealing where done, the load
            print(f"\n{'threads':>7} {'into':<6} {'landed as':<10} {'land µs':>8} {'seal µs':>8} {'load µs':>8} "
                  f"{'events per CPU-s, end to end':>29}")
            for threads, target, path, lines_, *_rest in rows:
                if path == "exact":
                    continue
                landed = {"fast": "json", "columnar": "columnar", "sealed": "sealed"}[path]
                per = [cost[landed] / len(lines) * 1e6, (cost["seal"] if path == "sealed" else 0) / len(lines) * 1e6,
                       1e6 / _rest[-3]]
                print(f"{threads:>7} {target:<6} {landed:<10} {per[0]:>8.2f} {per[1]:>8.2f} {per[2]:>8.2f} "
                      f"{1e6 / sum(per):>29,.0f}")
        return 0 if all(r[-1] for r in rows) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
