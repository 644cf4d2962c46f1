"""Landing → raw_events: the line-by-line path against DuckDB's own reader of canonical segments, on one hour.

    .venv/bin/python benchmarks/landing_load.py [--events 1000000] [--seed 7] [--threads 1,2] [--repeat 3]
    .venv/bin/python benchmarks/landing_load.py --landing DIR --hour 2026-12-06T08   # an hour already landed

The hour is simulated (traffic calibrated to about --events events) and landed through `FileLandingZone.write`,
which names its segments canonical; or, with --landing,
an existing landing zone's hour is copied into canonical segments of a work folder. Each way loads the hour into
a fresh DuckDB file with `load_hour`, timed from reading the landing zone to the committed partition (best of
--repeat), at each DuckDB thread count:

- exact: every line read into Python and checked by DuckDB line by line (`read_hour()`, the path any file takes);
- fast: the canonical segments read by `read_json` with the contract's columns (`read_hour(canonical_as_files=True)`).

Then the two warehouses are compared row for row (raw_events and spans, every column): the table says whether
they are identical. Events per second are per run; per core divides by the threads DuckDB was given.
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


def simulated_hour(zone, events: int, seed: int) -> datetime:
    from logintel.simulate import simulate
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    probe = len(simulate(start=hour, hours=1, seed=seed, requests_per_minute=500).events) / (500 * 60)
    sim = simulate(start=hour, hours=1, seed=seed, requests_per_minute=events / 60 / probe)
    zone.write(sim.events)
    return hour


def copied_hour(source: Path, key: str, zone) -> datetime:
    from logintel.store.landing import parse_hour_key
    from logintel.store.landing_files import MAX_SEGMENT_EVENTS, FileLandingZone
    hour = parse_hour_key(key)
    batch = FileLandingZone(source).read_hour(hour)
    for start in range(0, len(batch.lines), MAX_SEGMENT_EVENTS):
        zone.write_lines(hour, batch.lines[start:start + MAX_SEGMENT_EVENTS])
    return hour


def load(zone, hour: datetime, target: Path, fast: bool, threads: int) -> tuple[float, object]:
    from logintel.store.warehouse import connect, load_hour
    target.unlink(missing_ok=True)
    con = connect(target)
    con.execute(f"SET threads = {threads}")
    started = time.perf_counter()
    report = load_hour(con, zone.read_hour(hour, canonical_as_files=fast))
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed, report


def identical(a: Path, b: Path) -> bool:
    import duckdb
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        for table in ("raw_events", "spans"):
            for x, y in (("a", "b"), ("b", "a")):
                if con.execute(f"SELECT count(*) FROM (SELECT * FROM {x}.{table} EXCEPT ALL "
                               f"SELECT * FROM {y}.{table})").fetchone()[0]:
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
    a = ap.parse_args()
    from logintel.store.landing_files import FileLandingZone
    work = Path(tempfile.mkdtemp(prefix="logintel-landing-load-"))
    try:
        zone = FileLandingZone(work / "landing")
        started = time.perf_counter()
        hour = copied_hour(a.landing, a.hour, zone) if a.landing else simulated_hour(zone, a.events, a.seed)
        print(f"landed hour {hour:%Y-%m-%dT%H} in {time.perf_counter() - started:.1f} s "
              f"({len(zone.segments(hour))} canonical segments)")
        rows = []
        for threads in [int(t) for t in a.threads.split(",")]:
            best = {}
            for fast in (False, True):
                runs = [load(zone, hour, work / f"{'fast' if fast else 'exact'}.duckdb", fast, threads)
                        for _ in range(a.repeat)]
                best[fast] = min(runs, key=lambda r: r[0])
            same = identical(work / "exact.duckdb", work / "fast.duckdb")
            for fast in (False, True):
                seconds, report = best[fast]
                rows.append((threads, "fast" if fast else "exact", report.lines, report.loaded, report.spans,
                             report.fast_lines, seconds, report.lines / seconds, report.lines / seconds / threads,
                             best[False][0] / seconds, same))
        print(f"\n{'threads':>7} {'path':<6} {'lines':>10} {'loaded':>10} {'spans':>10} {'read fast':>10} "
              f"{'seconds':>8} {'events/s':>10} {'per core':>10} {'vs exact':>8}  identical")
        for threads, path, lines, loaded, spans, fast_lines, seconds, rate, per_core, ratio, same in rows:
            print(f"{threads:>7} {path:<6} {lines:>10,} {loaded:>10,} {spans:>10,} {fast_lines:>10,} {seconds:>8.2f} "
                  f"{rate:>10,.0f} {per_core:>10,.0f} {ratio:>7.2f}x  {'yes' if same else 'NO'}")
        return 0 if all(r[-1] for r in rows) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
