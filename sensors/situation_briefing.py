"""When a critical or high incident opens, or the hourly security pass finds a high or critical attack, one
situation-briefing run for it. It reads those assets' materializations in the Dagster instance (their
`briefing_candidates`), never the warehouse; the run key `briefing:<id>` makes each briefed once however
often its hour re-runs."""
import dagster as dg

from jobs.situation_briefings import briefing_job
from logintel.briefings.briefing import subject_for
from logintel.briefings.subject import Subject

INCIDENTS = dg.AssetKey("incidents")
SECURITY = dg.AssetKey("hourly_security_findings")
BATCH = 100


def _records(context: dg.SensorEvaluationContext, after: int | None) -> list:
    """Both assets' new materializations in storage order, up to where neither was cut off by the batch."""
    fetched, horizon = [], None
    for key in (INCIDENTS, SECURITY):
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=BATCH, ascending=True).records
        fetched += records
        if len(records) == BATCH:  # more wait beyond this one: the cursor must not pass them
            horizon = min(horizon or records[-1].storage_id, records[-1].storage_id)
    fetched.sort(key=lambda r: r.storage_id)
    return [r for r in fetched if horizon is None or r.storage_id <= horizon]


def _briefing_request(subject: Subject, severity: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"briefing:{subject.id}",
        run_config={"ops": {"write_situation_briefing": {"config": subject.fields()}}},
        tags={"logintel/trigger": "briefing", "logintel/severity": severity, f"logintel/{subject.kind}": subject.id})


@dg.sensor(job=briefing_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="A situation briefing for every new critical or high incident or security finding, once each.")
def situation_briefing_sensor(context: dg.SensorEvaluationContext):
    records = _records(context, int(context.cursor) if context.cursor else None)
    if not records:
        return dg.SkipReason("no new incidents or security findings materializations")
    requests = []
    for record in records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        candidates = metadata.get("briefing_candidates")
        for candidate in (candidates.value if candidates else []):
            requests.append(_briefing_request(subject_for(candidate), candidate["severity"]))
    context.update_cursor(str(records[-1].storage_id))
    return requests or dg.SkipReason(f"{len(records)} materialization(s), none critical or high")
