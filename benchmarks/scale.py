"""Backfilling many hours: the DuckDB warehouse (one writer) against the lake (LOGINTEL_TABLE_FORMAT=iceberg) with
one run and with N runs at once — wall time, CPU time, time per hour in each run, and whether the results are
identical.

    .venv/bin/python benchmarks/scale.py [--hours 6] [--events 250000] [--parallel 2] [--seed 7] [--work DIR]
                                         [--without-duckdb]

The hours are simulated once (traffic calibrated to about --events events an hour) into one landing zone that
every configuration reads (with --work, a later run with the same hours, events and seed reads it again). Each
configuration runs `logintel backfill --json` in a home of its own (its own warehouse, lake and Dagster instance),
timed from start to exit:

- `duckdb`: the DuckDB warehouse, hour after hour (the default);
- `iceberg, 1`: the lake, hour after hour;
- `iceberg, N`: the lake, N runs at once (one process each, `backfill --parallel N`): the lake steps, window_changes
  and the security analyst of the hours ahead beside the patterns and the incidents, which each follow the hour
  before.

Time per hour in each run comes from each run's own timing in the JSON; CPU time is the backfill's and its workers'
(`getrusage` of the children), and "cores busy" is CPU over wall: one run's says how much more runs at once can
give on this machine. The incidents (`logintel incidents --json`) and the digest of every day (`logintel digest
--json`, less when and where it was written and its model call's log; floats equal to 9 significant digits
(`math.isclose`), since sums over the same rows in another order differ in their last bits) are compared with the
first configuration's (`duckdb`, or with --without-duckdb `iceberg, 1`). Last, the catalog's commit time: an hour of
1,000 rows replaced 10 times in a fresh lake (SQLite catalog), mean and worst.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def simulate_hours(landing: Path, start: datetime, hours: int, events: int, seed: int) -> int:
    from logintel.simulate import simulate
    from logintel.store.landing_files import FileLandingZone
    # events per request-minute over the hours simulated (traffic follows the time of day: an hour after midnight
    # holds about half the day's mean), from a quick run at a low rate
    span = min(hours, 24)
    probe = len(simulate(start=start, hours=span, seed=seed, requests_per_minute=100).events) / (100 * 60 * span)
    zone, total = FileLandingZone(landing), 0
    for offset in range(hours):  # an hour at a time: a day of 1M-event hours does not fit in memory at once
        sim = simulate(start=start + timedelta(hours=offset), hours=1, seed=seed + offset,
                       requests_per_minute=events / 60 / probe)
        zone.write(sim.events)
        total += len(sim.events)
    return total


def logintel(home: Path, table_format: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOGINTEL_HOME=str(home), LOGINTEL_TABLE_FORMAT=table_format,
               LOGINTEL_PARTITIONS_START="2026-01-01-00:00")
    env.pop("LOGINTEL_POSTGRES_URL", None)
    done = subprocess.run([sys.executable, "-m", "launch.cli", *args], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"logintel {' '.join(args)} ({table_format}) failed:\n{done.stderr[-3000:]}")
    return done


def run_config(work: Path, landing: Path, name: str, table_format: str, parallel: int, start: datetime,
               end: datetime) -> dict:
    home = work / name.replace(", ", "-")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "landing").symlink_to(landing)
    args = ["backfill", "--start", f"{start:%Y-%m-%dT%H:%M}", "--end", f"{end:%Y-%m-%dT%H:%M}", "--json"]
    if parallel > 1:
        args += ["--parallel", str(parallel)]
    began, cpu_before = time.perf_counter(), _children_cpu()
    report = json.loads(logintel(home, table_format, *args).stdout)
    wall, cpu = time.perf_counter() - began, _children_cpu() - cpu_before
    days = [r["partition"] for r in report["daily"]]
    digests = []
    for day in days:
        digests.append(comparable_digest(json.loads(logintel(home, table_format, "digest", "--date", day,
                                                             "--json").stdout)))
    return {"name": name, "wall": wall, "cpu": cpu, "report": report, "succeeded": report["succeeded"],
            "incidents": json.loads(logintel(home, table_format, "incidents", "--json").stdout), "digests": digests}


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's ended children and theirs: the backfill and its workers."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# the runs of `backfill --json` as the table shows them: (column, key in the JSON, the job when the key holds others)
STAGES = (("whole graph", "hourly", "hourly_incidents"), ("lake steps", "lake_steps", None),
          ("window_changes", "window_changes", None), ("security", "security", None), ("patterns", "patterns", None),
          ("incidents", "hourly", "hourly_incidents_step"))


def comparable_digest(digest: dict) -> dict:
    """A digest's JSON as two runs over the same events must agree on it: without when and where it was written
    and its model call's log (whose latency is a timing). Compare two with `same_results`."""
    for by_design in ("created_at", "markdown_path", "html_path", "llm"):
        digest.pop(by_design)
    return digest


def same_results(a, b) -> bool:
    """Whether two runs' JSON agree: equal, except that floats may differ in their last bits (a sum over the same
    rows read in another order). Rounding both to N digits is not that: 7752644.825 and its neighbour a bit below
    round apart, as two runs over the same events once did."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_results(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_results(x, y) for x, y in zip(a, b))
    return a == b


def commit_times(work: Path, repeat: int = 10) -> list[float]:
    import duckdb
    from logintel.config import load_settings
    from logintel.store.lake import open_lake
    from logintel.store.lake.partitions import replace_partition
    from logintel.store.schema import TABLES
    lake = open_lake(load_settings({"LOGINTEL_HOME": str(work / "commits"), "LOGINTEL_TABLE_FORMAT": "iceberg"})
                     .lake_location)
    hour = datetime(2026, 1, 1)
    con = duckdb.connect()
    con.execute(TABLES["raw_events"])
    con.execute("""INSERT INTO raw_events SELECT 'e' || i, $h, 's', '/r', 'GET', 200, 1, 'info', NULL, NULL, NULL,
                   NULL, NULL, NULL, NULL, NULL, 1, '{}', $h FROM range(1000) t(i)""", {"h": hour})
    rows = con.sql("SELECT * FROM raw_events").to_arrow_table()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        replace_partition(lake, "raw_events", hour, rows)
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--events", type=int, default=250_000, help="about this many events an hour")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--without-duckdb", action="store_true",
                        help="only the lake's two configurations (the first is then the one compared with)")
    parser.add_argument("--work", type=Path, default=None, help="default: a temporary folder, removed after")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="logintel-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 3, 2, tzinfo=timezone.utc)
    end = start + timedelta(hours=args.hours)
    landing = work / "landing"
    marker, wanted = work / "landing.json", {"hours": args.hours, "events": args.events, "seed": args.seed,
                                              "start": start.isoformat()}
    held = json.loads(marker.read_text()) if marker.exists() else {}
    if {k: held.get(k) for k in wanted} == wanted and landing.is_dir():  # the same hours, simulated by an earlier run
        total = held["total"]
        print(f"the {args.hours} hours simulated before, {total:,} events, in {landing}", flush=True)
    else:
        marker.unlink(missing_ok=True)
        shutil.rmtree(landing, ignore_errors=True)
        began = time.perf_counter()
        total = simulate_hours(landing, start, args.hours, args.events, args.seed)
        marker.write_text(json.dumps(wanted | {"total": total}))
        print(f"simulated {args.hours} hours, {total:,} events ({total / args.hours:,.0f} an hour) in "
              f"{time.perf_counter() - began:.1f} s", flush=True)
    configs = [("duckdb", "duckdb", 1), ("iceberg, 1", "iceberg", 1), (f"iceberg, {args.parallel}", "iceberg",
                                                                        args.parallel)][args.without_duckdb:]
    results = []
    for name, table_format, parallel in configs:
        results.append(run_config(work, landing, name, table_format, parallel, start, end))
        print(f"  {name}: {results[-1]['wall']:.1f} s", flush=True)
    base, serial_lake = results[0], results[-2]
    print(f"\n{args.hours} hours × ~{total / args.hours:,.0f} events, this machine ({os.cpu_count()} cores)\n")
    print(f"{'configuration':<14} {'wall s':>8} {'s/hour':>7} {'CPU s/h':>8} {'cores busy':>11} "
          f"{'vs ' + base['name']:>12} {'vs iceberg,1':>13} {'identical':>10}")
    for result in results:
        same = same_results(result["incidents"], base["incidents"]) and same_results(result["digests"],
                                                                                     base["digests"])
        print(f"{result['name']:<14} {result['wall']:>8.1f} {result['wall'] / args.hours:>7.1f} "
              f"{result['cpu'] / args.hours:>8.1f} {result['cpu'] / result['wall']:>11.2f} "
              f"{base['wall'] / result['wall']:>11.2f}× {serial_lake['wall'] / result['wall']:>12.2f}× "
              f"{'yes' if same and result['succeeded'] else 'NO':>10}")
    print("(CPU: user + system seconds of the backfill and its workers; cores busy: CPU over wall, which runs at "
          f"once can raise to {os.cpu_count()} at most, so N runs at once are at most cores / (one run's cores busy) "
          "times faster)")
    print("\nseconds per hour in each run (mean over the hours; each run's own seconds, from start to end)\n")
    print(f"{'configuration':<14} " + " ".join(f"{label:>14}" for label, _, _ in STAGES))
    for result in results:
        cells = []
        for _, key, job in STAGES:
            runs = [r["seconds"] for r in result["report"].get(key, []) if job is None or r["job"] == job]
            cells.append(f"{statistics.mean(runs):>14.2f}" if runs else f"{'–':>14}")
        print(f"{result['name']:<14} " + " ".join(cells))
    print("(the whole graph: an hour's one run where nothing runs at once; with N runs at once, the lake steps, "
          "window_changes and the security analyst run for any hours beside the patterns and the incidents, which "
          "each follow the hour before)")
    times = commit_times(work)
    print(f"\ncatalog commit (SQLite, replace an hour of 1,000 rows, 10×): mean {statistics.mean(times) * 1000:.0f} ms, "
          f"worst {max(times) * 1000:.0f} ms")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
