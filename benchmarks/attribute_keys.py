"""What wide attributes cost an hourly run: 6,000 ordinary requests and 60 error events that carry N distinct
attribute keys each, backfilled through the whole hourly graph in a fresh process per N.

    .venv/bin/python benchmarks/attribute_keys.py [--keys 1,128,5000]

Prints, per N: the keys the errors carry once landed (the contract keeps 128 an event, the rest in one
overflow attribute), the hourly run's seconds, and the process's peak memory. The same run on the code before
the cap took 132.9 s and 18.6 GB for N = 5,000 on this machine (docs/benchmarks.md)."""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOUR = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def landed_events(keys: int) -> list:
    from logintel.events import parse_event
    ordinary = [{"event_id": f"ok-{i}", "timestamp": (HOUR + timedelta(seconds=i * 0.6)).isoformat(),
                 "service": "shop", "route": "/cart", "duration_ms": 20.0, "level": "info", "status": 200,
                 "attributes": {"region": "eu"}} for i in range(6000)]
    wide = [{"event_id": f"err-{i}", "timestamp": (HOUR + timedelta(minutes=20, seconds=i)).isoformat(),
             "service": "shop", "route": "/pay", "duration_ms": 900.0, "level": "error", "status": 500,
             "error.code": "BOOM", "attributes": {f"k{i}-{j}": j for j in range(keys)}} for i in range(60)]
    return [parse_event(record) for record in ordinary + wide]


def one(keys: int, home: Path) -> dict:
    """In this process: land the events, backfill the hour in process, report."""
    import os
    os.environ["LOGINTEL_HOME"] = str(home)
    from launch.backfill import main as backfill
    from logintel.store.landing_files import FileLandingZone
    events = landed_events(keys)
    FileLandingZone(home / "landing").write(events)
    args = argparse.Namespace(start="2026-11-23T09:00", end="2026-11-23T10:00", json=True)
    started = time.perf_counter()
    code = backfill(args)
    return {"keys": keys, "landed_keys": sum(len(e.attributes) for e in events[-60:]), "rc": code,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", default="1,128,5000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print("RESULT " + json.dumps(one(args.one, Path(args.home))))
        return
    rows = []
    for keys in (int(k) for k in args.keys.split(",")):
        with tempfile.TemporaryDirectory() as home:
            done = subprocess.run([sys.executable, __file__, "--one", str(keys), "--home", home],
                                  capture_output=True, text=True, cwd=ROOT)
            line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"keys={keys} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(line[len("RESULT "):]))
    print(f"{'keys/event':>10} {'landed keys (60 errors)':>24} {'backfill s':>11} {'peak MB':>8} {'rc':>3}")
    for r in rows:
        print(f"{r['keys']:>10,} {r['landed_keys']:>24,} {r['seconds']:>11} {r['peak_mb']:>8,} {r['rc']:>3}")


if __name__ == "__main__":
    main()
