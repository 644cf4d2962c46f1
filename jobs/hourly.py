"""The hourly incident job over the asset graph, and its schedule."""
import dagster as dg

from assets.partitions import hourly_partitions

incident_job = dg.define_asset_job(
    "hourly_incidents", selection=dg.AssetSelection.groups("events", "patterns", "incidents", "security"),
    partitions_def=hourly_partitions,
    description="raw_events → windowed_aggregates, event_templates → embeddings → clusters → incidents, and "
                "the hourly security findings, for one hour, with their checks.")

# The hourly steps that write only lake tables when LOGINTEL_TABLE_FORMAT=iceberg: each hour's run of them shares
# nothing with another's, so `logintel backfill --parallel N` runs them for any hours at once, beside the steps that
# carry state from one hour to the next (templates, incidents), which run hour after hour.
LAKE_STEPS = dg.AssetSelection.assets("raw_events", "windowed_aggregates")
lake_steps_job = dg.define_asset_job(
    "hourly_lake_steps", selection=LAKE_STEPS, partitions_def=hourly_partitions,
    description="raw_events → windowed_aggregates for one hour, with their checks: on the lake, any number of hours "
                "at once.")
# window_changes investigates each window against the 10 minutes before it, so it reads the previous hour's events:
# its own run, once the hour's and the previous hour's lake steps are done, again any number of hours at once.
WINDOW_CHANGES = dg.AssetSelection.assets("window_changes")
window_changes_job = dg.define_asset_job(
    "hourly_window_changes", selection=WINDOW_CHANGES, partitions_def=hourly_partitions,
    description="window_changes for one hour whose events (and the previous hour's) are loaded: on the lake, any "
                "number of hours at once.")
# The rest of the hourly graph, in three jobs so that only what carries state from hour to hour waits for the hour
# before (`logintel backfill --parallel N`): the patterns (the template miner's state), the hourly security analyst
# (the hour's events alone), the incidents (the open incidents of earlier hours).
PATTERNS = dg.AssetSelection.groups("patterns")
patterns_job = dg.define_asset_job(
    "hourly_patterns", selection=PATTERNS, partitions_def=hourly_partitions,
    description="event_templates → embeddings → clusters for one hour whose events are loaded, after the hour "
                "before (the template miner carries its state from hour to hour).")
SECURITY = dg.AssetSelection.groups("security")
security_job = dg.define_asset_job(
    "hourly_security", selection=SECURITY, partitions_def=hourly_partitions,
    description="The security analyst over one hour whose events are loaded: on the lake, any number of hours at once.")
incidents_step_job = dg.define_asset_job(
    "hourly_incidents_step", selection=dg.AssetSelection.assets("incidents"), partitions_def=hourly_partitions,
    description="incidents for one hour whose windows, window_changes and clusters ran, after the hour before (it "
                "continues and resolves the open incidents of earlier hours).")

hourly_schedule = dg.build_schedule_from_partitioned_job(
    incident_job, minute_of_hour=5, description="Materialize each hour five minutes after it closes.")
