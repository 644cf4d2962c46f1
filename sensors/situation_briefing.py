"""When a critical or high incident opens, one situation-briefing run for it. It reads the incidents
asset's materializations in the Dagster instance (their `briefing_candidates`), never the warehouse;
the run key `briefing:<incident id>` makes each incident briefed once however often its hour re-runs."""
import dagster as dg

from jobs.briefing import briefing_job

INCIDENTS = dg.AssetKey("incidents")
BATCH = 100


@dg.sensor(job=briefing_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="A situation briefing for every new critical or high incident, once per incident.")
def situation_briefing_sensor(context: dg.SensorEvaluationContext):
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=INCIDENTS, after_storage_id=after), limit=BATCH, ascending=True).records
    if not records:
        return dg.SkipReason("no new incidents materializations")
    requests = []
    for record in records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        candidates = metadata.get("briefing_candidates")
        for candidate in (candidates.value if candidates else []):
            requests.append(dg.RunRequest(
                run_key=f"briefing:{candidate['incident_id']}",
                run_config={"ops": {"write_situation_briefing": {"config": {"incident_id": candidate["incident_id"]}}}},
                tags={"logintel/trigger": "briefing", "logintel/incident": candidate["incident_id"],
                      "logintel/severity": candidate["severity"]}))
    context.update_cursor(str(records[-1].storage_id))
    return requests or dg.SkipReason(f"{len(records)} incidents materialization(s), none critical or high")
