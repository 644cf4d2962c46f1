"""Benchmark: raw_events + windowed_aggregates on one hourly partition, against plain pandas.

    .venv/bin/python benchmarks/windowing.py [--events 1000000]

Writes one hour of synthetic wide events to a file landing zone, then runs each stage in its own
process (so peak memory is per stage): raw_events (landing -> DuckDB, validated), the DuckDB
window step, and the same sliding windows in plain pandas from an in-memory DataFrame.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HOUR = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent


def generate(landing_dir: Path, n: int, seed: int = 1) -> None:
    """One hour of events with realistic cardinalities: 8 services, 48 routes, ~2% errors, 50k users."""
    import numpy as np
    from logintel.store.landing_files import FileLandingZone
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.random(n) * 3600)
    services = [f"svc-{i}" for i in range(8)]
    route_ids = rng.integers(0, 48, n)
    is_error = rng.random(n) < 0.02
    codes = np.array(["DB_TIMEOUT", "UPSTREAM_503", "VALIDATION_FAILED", "NOT_FOUND"])[rng.integers(0, 4, n)]
    durations = rng.lognormal(3.0, 0.8, n)
    users = rng.integers(0, 50_000, n)
    zone = FileLandingZone(landing_dir)
    base = HOUR.timestamp()
    lines = []
    for i in range(n):
        ts = datetime.fromtimestamp(base + seconds[i], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        r = int(route_ids[i])
        err = bool(is_error[i])
        record = {"event_id": f"bench-{i:09d}", "timestamp": ts, "service": services[r % 8],
                  "route": f"/api/v1/resource{r}/{{id}}", "method": "GET", "status": 503 if err else 200,
                  "duration_ms": round(float(durations[i]), 3), "level": "error" if err else "info",
                  "error.code": str(codes[i]) if err else None, "error.type": None, "error.message": None,
                  "trace_id": f"{i:032x}", "request_id": f"req-{i}", "user_id": f"u-{users[i]}",
                  "client_ip": f"10.{users[i] % 256}.{users[i] // 256 % 256}.7", "user_agent": "bench/1.0",
                  "sample_rate": 1, "attributes": {"region": "eu-west-1"}}
        lines.append(json.dumps(record, separators=(",", ":")))
    for start in range(0, n, 250_000):
        zone.write_lines(HOUR, lines[start:start + 250_000])


def stage_raw_events(workdir: Path) -> dict:
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect, load_hour
    t0 = time.perf_counter()
    batch = FileLandingZone(workdir / "landing").read_hour(HOUR)
    read_s = time.perf_counter() - t0
    con = connect(workdir / "warehouse.duckdb")
    report = load_hour(con, batch)
    con.close()
    return {"events": report.loaded, "seconds": time.perf_counter() - t0, "read_s": read_s}


def stage_duckdb_windows(workdir: Path) -> dict:
    from logintel.analysis.windows import compute_windows
    from logintel.store.warehouse import connect
    con = connect(workdir / "warehouse.duckdb")
    report = compute_windows(con, HOUR.replace(tzinfo=None))
    con.close()
    return {"events": report.events, "seconds": report.elapsed_s, "windows": report.windows}


def stage_pandas_windows(workdir: Path) -> dict:
    """The same windows in plain pandas: each event expanded into the 5 windows that contain it."""
    import numpy as np
    import pandas as pd
    from logintel.store.warehouse import connect
    con = connect(workdir / "warehouse.duckdb", read_only=True)
    df = con.execute("SELECT ts, service, route, error_code, level, status, duration_ms, sample_rate, user_id, "
                     "client_ip FROM raw_events").df()
    con.close()
    t0 = time.perf_counter()
    step = pd.Timedelta(minutes=1)
    slot = df["ts"].dt.floor("min")
    is_error = df["level"].isin(["error", "fatal"]) | df["error_code"].notna() | (df["status"].fillna(0) >= 500)
    parts = []
    for k in range(5):
        part = df[["service", "route", "error_code", "duration_ms", "sample_rate", "user_id", "client_ip"]].copy()
        part["window_start"] = slot - k * step
        part["err_w"] = np.where(is_error, df["sample_rate"], 0)
        parts.append(part)
    expanded = pd.concat(parts, ignore_index=True)
    expanded["error_code"] = expanded["error_code"].fillna("")
    grouped = expanded.groupby(["service", "route", "error_code", "window_start"], sort=False)
    out = grouped.agg(requests=("sample_rate", "sum"), errors=("err_w", "sum"), events_kept=("duration_ms", "size"),
                      p50_ms=("duration_ms", lambda s: s.quantile(0.5)), p95_ms=("duration_ms", lambda s: s.quantile(0.95)),
                      p99_ms=("duration_ms", lambda s: s.quantile(0.99)), max_ms=("duration_ms", "max"),
                      distinct_users=("user_id", "nunique"), distinct_ips=("client_ip", "nunique"))
    out["error_rate"] = out["errors"] / out["requests"]
    start = pd.Timestamp(HOUR.replace(tzinfo=None))
    end_ = out.index.get_level_values("window_start") + pd.Timedelta(minutes=5)
    out = out[(end_ > start) & (end_ <= start + pd.Timedelta(hours=1))]
    return {"events": len(df), "seconds": time.perf_counter() - t0, "windows": len(out)}


STAGES = {"raw_events": stage_raw_events, "duckdb_windows": stage_duckdb_windows, "pandas_windows": stage_pandas_windows}


def run_stage(name: str, workdir: Path) -> dict:
    """Run one stage in a fresh process; its peak RSS is that process's ru_maxrss."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from benchmarks.windowing import STAGES; from pathlib import Path; "
            f"r = STAGES[{name!r}](Path({str(workdir)!r})); "
            f"r['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip-pandas", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="logintel-bench-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        print(f"generating {args.events:,} events for {HOUR:%Y-%m-%d %H:00} UTC …", flush=True)
        generate(workdir / "landing", args.events)
        print(f"  generated in {time.perf_counter() - t0:.1f}s", flush=True)
        results = {}
        for name in STAGES:
            if name == "pandas_windows" and args.skip_pandas:
                continue
            print(f"running {name} …", flush=True)
            results[name] = run_stage(name, workdir)
    print()
    print(f"{'stage':<28} {'events':>10} {'seconds':>9} {'events/s':>12} {'peak MiB':>9}")
    print("-" * 72)
    for name, r in results.items():
        rate = r["events"] / r["seconds"] if r["seconds"] else float("inf")
        print(f"{name:<28} {r['events']:>10,} {r['seconds']:>9.2f} {rate:>12,.0f} {r['peak_mib']:>9.0f}")
    if "pandas_windows" in results:
        ratio = results["pandas_windows"]["seconds"] / results["duckdb_windows"]["seconds"]
        print(f"\nwindowing: DuckDB is {ratio:.1f}x the pandas baseline (target >= 10x); "
              f"DuckDB {results['duckdb_windows']['events'] / results['duckdb_windows']['seconds']:,.0f} events/s "
              f"(target >= 1,000,000)")
        print(f"windows: duckdb {results['duckdb_windows']['windows']:,}, pandas {results['pandas_windows']['windows']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
