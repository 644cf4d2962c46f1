"""After each replay of dumps (or Kafka drain that brought late events), one `hourly_incidents` run per
hour it added events to. It reads the reports only, never the warehouse."""
import dagster as dg

from assets.partitions import hourly_partitions
from jobs.hourly import incident_job
from logintel.ingest.reports import REPORTS, reports_after
from logintel.store.landing import parse_hour_key
from resources.settings import LogintelSettings


def partition_key_of(hour_key: str) -> str:
    """2026-11-23T10 (the domain's hour key) → 2026-11-23-10:00 (the hourly partition key)."""
    return parse_hour_key(hour_key).strftime("%Y-%m-%d-%H:00")


@dg.sensor(job=incident_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="After each replay of dumps (or Kafka drain that brought late events), re-materializes "
                       "every hourly partition it added events to.")
def replayed_partitions_sensor(context: dg.SensorEvaluationContext, logintel: LogintelSettings):
    # Report names start with their UTC time, so the cursor is the last name handled.
    new = reports_after(logintel.settings().dumps_dir / REPORTS, context.cursor)
    if not new:
        return dg.SkipReason("no new replay reports")
    valid = set(hourly_partitions.get_partition_keys())
    requests, skipped = [], []
    for report in new:
        for hour in report.partitions:
            key = partition_key_of(hour)
            if key not in valid:  # before LOGINTEL_PARTITIONS_START, or in the future
                skipped.append(key)
                continue
            requests.append(dg.RunRequest(
                partition_key=key, run_key=f"replay:{report.report_id}:{key}",
                tags={"logintel/trigger": "replay", "logintel/replay_id": report.report_id}))
    context.update_cursor(new[-1].name)
    if skipped:
        context.log.warning(f"{len(skipped)} replayed hour(s) outside the partition range: {', '.join(skipped[:10])}")
    if not requests:
        return dg.SkipReason(f"{len(new)} replay report(s), no partition to re-materialize")
    return requests
