"""`logintel digest [--date YYYY-MM-DD] [--json]`: materialize the day's daily_metrics and daily_digest
in process (recorded in the Dagster instance), then print the digest as markdown or its JSON document.
Without --date: the day, in the digest's zone, of the warehouse's latest event."""
from __future__ import annotations

import json
import sys
from datetime import date, timezone
from zoneinfo import ZoneInfo

import duckdb

from logintel.config import load_settings
from logintel.store.warehouse import connect, latest_event_time
from launch.instance import load_definitions, prepare_dagster_home
from launch.runs import materialize


def latest_day(settings) -> str | None:
    if not settings.warehouse_path.exists():
        return None
    try:
        con = connect(settings.warehouse_path, read_only=True)
        try:
            latest = latest_event_time(con)
        finally:
            con.close()
    except duckdb.Error:
        return None  # no raw_events table yet
    if latest is None:
        return None
    return latest.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(settings.digest_timezone)).date().isoformat()


def main(args) -> int:
    import dagster as dg
    settings = load_settings()
    day = args.date
    if day is None:
        day = latest_day(settings)
        if day is None:
            print(f"logintel digest: the warehouse {settings.warehouse_path} holds no events yet; "
                  "run `logintel demo` or `logintel backfill` first, or pass --date", file=sys.stderr)
            return 2
    try:
        date.fromisoformat(day)
    except ValueError:
        print(f"logintel digest: --date: not a day: {day!r} (expected YYYY-MM-DD)", file=sys.stderr)
        return 2
    prepare_dagster_home(settings)
    defs = load_definitions()
    with dg.DagsterInstance.get() as instance:
        runs = materialize(defs.resolve_job_def("daily_briefing"), instance,
                           [(day, {"logintel/trigger": "cli"})], out=sys.stderr)
    path = settings.digests_dir / f"{day}.json"
    if not runs[0]["success"] or not path.exists():
        print(f"logintel digest: the daily_digest run for {day} failed (run {runs[0]['run_id']}; "
              f"`logintel ui` shows its logs)", file=sys.stderr)
        return 1
    if args.json:
        print(path.read_text(encoding="utf-8"), end="")
    else:
        print(path.with_suffix(".md").read_text(encoding="utf-8"), end="")
        print(f"\n(files: {path.with_suffix('.md')}, {path.with_suffix('.html')}, {path})", file=sys.stderr)
    return 0
