"""`logintel digest [--date YYYY-MM-DD] [--json] [--refresh]`: print a materialized digest as markdown or
its JSON document. Without --date: the latest digest written. A day without a digest yet (or --refresh)
is materialized first, daily_metrics then daily_digest, in process and recorded in the Dagster instance;
with no digest at all and no --date, the day of the warehouse's latest event."""
from __future__ import annotations

import sys
from datetime import date, timezone
from zoneinfo import ZoneInfo

import duckdb

from logintel.config import load_settings
from logintel.store.warehouse import latest_event_time
from logintel.store.warehouse_access import open_warehouse
from launch.instance import load_definitions, prepare_dagster_home
from logintel.daily.partition_span import check_day
from launch.runs import materialize


def latest_digest(settings) -> str | None:
    """The day of the newest digest file (names are YYYY-MM-DD.json, so they sort by day)."""
    days = sorted(p.stem for p in settings.digests_dir.glob("????-??-??.json")) if settings.digests_dir.exists() else []
    return days[-1] if days else None


def latest_day(settings) -> str | None:
    if not settings.warehouse_path.exists():
        return None
    try:
        con = open_warehouse(settings, read_only=True)
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
    day = args.date or latest_digest(settings)
    if day is None:
        day = latest_day(settings)
        if day is None:
            print(f"logintel digest: the warehouse {settings.warehouse_path} holds no events yet; "
                  "run `logintel demo` or `logintel backfill` first, or pass --date", file=sys.stderr)
            return 2
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        print(f"logintel digest: --date: not a day: {day!r} (expected YYYY-MM-DD)", file=sys.stderr)
        return 2
    try:
        check_day(parsed, settings.partitions_start, settings.digest_timezone)
    except ValueError as exc:
        print(f"logintel digest: {exc}", file=sys.stderr)
        return 2
    path = settings.digests_dir / f"{day}.json"
    if args.refresh or not path.exists():
        prepare_dagster_home(settings)
        defs = load_definitions()
        job = defs.resolve_job_def("daily_briefing")
        if day not in job.partitions_def.get_partition_keys():
            print(f"logintel digest: --date {day} is not a daily partition (they start at "
                  f"{settings.partitions_start[:10]} and end today, {settings.digest_timezone})", file=sys.stderr)
            return 2
        with dg.DagsterInstance.get() as instance:
            runs = materialize(job, instance, [(day, {"logintel/trigger": "cli"})], out=sys.stderr)
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
