"""`logintel backfill`: every hourly partition in [start, end) through the whole hourly graph, then the
daily partitions those hours touch, in process and recorded in the Dagster instance."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from launch.instance import load_definitions, prepare_dagster_home
from launch.interruption import run_stoppable
from logintel.daily.partition_span import check_hours
from launch.runs import PlannedRun, failed, materialize, materialize_planned
from logintel.config import load_settings
from logintel.daily.days import hour_key

HOUR = timedelta(hours=1)
LAKE_STEPS, WINDOW_CHANGES = "hourly_lake_steps", "hourly_window_changes"
PATTERNS, SECURITY, INCIDENTS = "hourly_patterns", "hourly_security", "hourly_incidents_step"


def parse_time(text: str, flag: str) -> datetime:
    """YYYY-MM-DDTHH:MM in UTC (a zone suffix is honoured), as naive UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{flag}: not a time: {text!r} (expected YYYY-MM-DDTHH:MM, UTC)") from None
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def plan(start: datetime, end: datetime, zone: str) -> tuple[list[str], list[str]]:
    """The hourly partition keys of [start, end) (hours that start inside it, from start's hour) and the
    daily keys, in the digest's zone, of the days those hours touch."""
    if end <= start:
        raise ValueError(f"--end ({end:%Y-%m-%dT%H:%M}) must be after --start ({start:%Y-%m-%dT%H:%M})")
    hour, hours = start.replace(minute=0, second=0, microsecond=0), []
    while hour < end:
        hours.append(hour)
        hour += HOUR
    days = dict.fromkeys(h.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).date().isoformat() for h in hours)
    return [hour_key(h) for h in hours], list(days)


def hour_plan(hourly: list[str], tags: dict) -> list[PlannedRun]:
    """The runs of `backfill --parallel N` (the lake), each started as soon as what it reads is in:
    - an hour's lake steps (raw_events → windowed_aggregates) need nothing: any number of hours at once;
    - its window_changes needs them, and the previous hour's ended (its first window's baseline is that hour's last
      minutes); its security analyst needs them;
    - its patterns (templates → embeddings → clusters) need them, and follow the previous hour's patterns (the
      template miner carries its state from hour to hour);
    - its incidents need its window_changes and patterns, and follow the previous hour's incidents (the open
      incidents of earlier hours).
    The incidents come first among the runs ready at once, then the patterns: they are the chains that cannot run
    hours at once, and the other runs fill the workers beside them. A run whose input failed is skipped, and what
    follows it follows the run before it."""
    plan: list[PlannedRun] = []
    for index, key in enumerate(hourly):
        previous = hourly[index - 1] if index else None
        loaded = ((LAKE_STEPS, key),)
        plan.append(PlannedRun(LAKE_STEPS, key, tags, rank=3))
        plan.append(PlannedRun(WINDOW_CHANGES, key, tags, needs=loaded,
                               after=((LAKE_STEPS, previous),) if previous else (), rank=2))
        plan.append(PlannedRun(PATTERNS, key, tags, needs=loaded,
                               after=((PATTERNS, previous),) if previous else (), rank=1))
        plan.append(PlannedRun(SECURITY, key, tags, needs=loaded, rank=2))
        plan.append(PlannedRun(INCIDENTS, key, tags, needs=((WINDOW_CHANGES, key), (PATTERNS, key)),
                               after=((INCIDENTS, previous),) if previous else (), rank=0))
    return plan


def main(args) -> int:
    import dagster as dg
    settings = load_settings()
    try:
        start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
        check_hours(start, end, settings.partitions_start)
        hourly, daily = plan(start, end, settings.digest_timezone)
    except ValueError as exc:
        print(f"logintel backfill: {exc}", file=sys.stderr)
        return 2
    parallel = getattr(args, "parallel", 1)
    if parallel < 1 or (parallel > 1 and not settings.lake.iceberg):
        print("logintel backfill: --parallel must be at least 1" if parallel < 1 else
              "logintel backfill: --parallel N needs the lake (LOGINTEL_TABLE_FORMAT=iceberg): the DuckDB warehouse "
              "file allows one writing process, so its hours run one at a time", file=sys.stderr)
        return 2
    out = sys.stderr if args.json else sys.stdout
    prepare_dagster_home(settings)
    defs = load_definitions()
    tags = {"logintel/trigger": "backfill"}

    stage_runs: dict[str, list[dict]] = {job: [] for job in (LAKE_STEPS, WINDOW_CHANGES, PATTERNS, SECURITY,
                                                              INCIDENTS)}
    skipped_runs: list[dict] = []

    def work(stop) -> tuple[list[dict], list[dict]]:
        with dg.DagsterInstance.get() as instance:
            print(f"==> {len(hourly)} hourly partitions ({hourly[0]} … {hourly[-1]})", file=out, flush=True)
            if parallel > 1:
                print(f"    the hourly graph, {parallel} runs at once (the patterns and the incidents hour after hour, "
                      f"the hours ahead loaded and investigated beside them):", file=out, flush=True)
                ran, skipped = materialize_planned(hour_plan(hourly, tags), parallel, out, stop)
                for job, kept in stage_runs.items():
                    kept.extend(r for r in ran if r["job"] == job)
                hourly_runs = stage_runs.pop(INCIDENTS)
                hourly_runs += [r for kept in stage_runs.values() for r in kept if not r["success"]]
                skipped_runs.extend(skipped)
            else:
                hourly_runs = materialize(defs.resolve_job_def("hourly_incidents"), instance,
                                          [(k, tags) for k in hourly], out, stop)
            if stop.requested:
                return hourly_runs, []
            print(f"==> {len(daily)} daily partition(s) ({', '.join(daily)}, {settings.digest_timezone})", file=out,
                  flush=True)
            return hourly_runs, materialize(defs.resolve_job_def("daily_briefing"), instance,
                                            [(k, tags) for k in daily], out, stop)

    (hourly_runs, daily_runs), stop = run_stoppable(work, out)
    failures = list(dict.fromkeys(failed(hourly_runs) + failed(daily_runs)))  # an hour once, however many runs failed
    ran_hours = {r["partition"] for r in hourly_runs}
    not_run = [k for k in hourly if k not in ran_hours] + daily[len(daily_runs):]
    if args.json:
        print(json.dumps({"hourly": hourly_runs, "lake_steps": stage_runs.get(LAKE_STEPS, []),
                          "window_changes": stage_runs.get(WINDOW_CHANGES, []),
                          "patterns": stage_runs.get(PATTERNS, []), "security": stage_runs.get(SECURITY, []),
                          "skipped": skipped_runs, "daily": daily_runs, "failed": failures,
                          "not_run": not_run,
                          "stopped_by": stop.signal_name, "succeeded": not failures and not not_run}, indent=2))
    else:
        ran = len(hourly_runs) + len(daily_runs)
        print(f"{ran - len(failures)} of {ran} runs succeeded" + (f"; FAILED: {', '.join(failures)}" if failures else "")
              + (f"; stopped by {stop.signal_name}, not run: {', '.join(not_run)}" if stop.requested else "")
              + f" (the Dagster UI shows them: logintel ui, DAGSTER_HOME={settings.dagster_home})")
    return stop.exit_code if stop.requested else (1 if failures else 0)
