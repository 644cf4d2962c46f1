"""Replay of the SDK's dumps in Dagster: a `replay_dumps` job, a sensor that starts it on new dump files,
and a sensor that re-materializes the hourly partitions each replay touched (it never writes the warehouse)."""
import hashlib
import json
from pathlib import Path

import dagster as dg

from assets.jobs import incident_job
from assets.metadata import counts_table, hour_table
from assets.partitions import hourly_partitions
from logintel.ingest.replay import REPORTS, dump_files, replay_dumps
from logintel.store.landing import parse_hour_key
from resources.landing import LandingZoneResource
from resources.settings import LogintelSettings


class ReplayConfig(dg.Config):
    paths: list[str] = []  # dump files to replay; empty: every finished file in the dump dir


@dg.op(description="Load dump files into the landing zone (event_id dedupe), dead-letter bad lines, archive "
                   "the files, and save a report naming the affected hours.")
def replay_dump_files(context: dg.OpExecutionContext, config: ReplayConfig, landing: LandingZoneResource,
                      logintel: LogintelSettings) -> dict:
    dumps = logintel.settings().dumps_dir
    # A file listed by the sensor may be gone (replayed by the CLI meanwhile): nothing to do for it.
    targets = [Path(p) for p in config.paths if Path(p).exists()] if config.paths else dumps
    if (config.paths and not targets) or (not config.paths and not dumps.exists()):
        context.log.info("nothing to replay")
        return {}
    report = replay_dumps(targets, landing.open(), logintel.dead_letters(), dumps / "archive", dump_root=dumps)
    if not report.accounted():
        raise dg.Failure(f"replay accounting mismatch: {report.summary()}")
    path = report.write(dumps / REPORTS) if report.files else None  # no report, no re-materialization
    context.log.info(report.summary())
    context.add_output_metadata({"events_by_hour": hour_table(report.by_hour, "events replayed"),
                                 "dead_letters_by_cause": counts_table(report.by_cause, "cause"),
                                 "report": str(path) if path else "none (nothing replayed)", "lines": report.lines, "replayed": report.replayed,
                                 "duplicates": report.duplicates, "dead_lettered": report.dead_lettered,
                                 "partitions": ", ".join(report.partitions) or "none"})
    return report.to_dict()


@dg.job(name="replay_dumps", description="Replay dump files into the landing zone; the replayed_partitions_sensor "
                                         "then re-materializes the affected hours.")
def replay_job():
    replay_dump_files()


def _dump_sizes(dumps: Path) -> dict[str, int]:
    return {str(p.relative_to(dumps)): p.stat().st_size for p in dump_files(dumps)} if dumps.exists() else {}


@dg.sensor(job=replay_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="New or grown dump files under $LOGINTEL_HOME/dumps start a replay of those files.")
def dump_files_sensor(context: dg.SensorEvaluationContext, logintel: LogintelSettings):
    dumps = logintel.settings().dumps_dir
    seen = json.loads(context.cursor) if context.cursor else {}
    current = _dump_sizes(dumps)
    new = sorted(name for name, size in current.items() if seen.get(name) != size)
    # Only files still present are remembered: archived ones leave the listing, so the cursor stays small.
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not new:
        return dg.SkipReason(f"no new dump files in {dumps}")
    digest = hashlib.sha256(json.dumps([[n, current[n]] for n in new]).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=f"replay:{digest}", tags={"logintel/trigger": "dump_files",
                                                           "logintel/files": str(len(new))},
                         run_config=dg.RunConfig(ops={"replay_dump_files": ReplayConfig(
                             paths=[str(dumps / n) for n in new])}))


def partition_key_of(hour_key: str) -> str:
    """2026-11-23T10 (the domain's hour key) → 2026-11-23-10:00 (the hourly partition key)."""
    return parse_hour_key(hour_key).strftime("%Y-%m-%d-%H:00")


@dg.sensor(job=incident_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="After each replay of dumps (or Kafka drain that brought late events), re-materializes "
                       "every hourly partition it added events to.")
def replayed_partitions_sensor(context: dg.SensorEvaluationContext, logintel: LogintelSettings):
    reports = logintel.settings().dumps_dir / REPORTS
    # Report names start with their UTC time, so the cursor is the last name handled.
    names = sorted(p.name for p in reports.glob("*.json")) if reports.exists() else []
    new = [n for n in names if context.cursor is None or n > context.cursor]
    if not new:
        return dg.SkipReason("no new replay reports")
    valid = set(hourly_partitions.get_partition_keys())
    requests, skipped = [], []
    for name in new:
        report = json.loads((reports / name).read_text(encoding="utf-8"))
        for hour in report.get("partitions", []):
            key = partition_key_of(hour)
            if key not in valid:  # before LOGINTEL_PARTITIONS_START, or in the future
                skipped.append(key)
                continue
            requests.append(dg.RunRequest(
                partition_key=key, run_key=f"replay:{report['replay_id']}:{key}",
                tags={"logintel/trigger": "replay", "logintel/replay_id": report["replay_id"]}))
    context.update_cursor(new[-1])
    if skipped:
        context.log.warning(f"{len(skipped)} replayed hour(s) outside the partition range: {', '.join(skipped[:10])}")
    if not requests:
        return dg.SkipReason(f"{len(new)} replay report(s), no partition to re-materialize")
    return requests
