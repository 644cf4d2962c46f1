"""The hourly incident job over the asset graph, and its schedule."""
import dagster as dg

from assets.partitions import hourly_partitions

incident_job = dg.define_asset_job(
    "hourly_incidents", selection=dg.AssetSelection.groups("events", "patterns", "incidents", "security"),
    partitions_def=hourly_partitions,
    description="raw_events → windowed_aggregates, event_templates → embeddings → clusters → incidents, and "
                "the hourly security findings, for one hour, with their checks.")

# The hourly steps that write only lake tables when LOGINTEL_TABLE_FORMAT=iceberg: each hour's run of them shares
# nothing with another's, so `logintel backfill --parallel N` runs them for N hours at once, then the rest of the
# graph hour by hour (templates and incidents carry state from one hour to the next).
LAKE_STEPS = dg.AssetSelection.assets("raw_events", "windowed_aggregates")
lake_steps_job = dg.define_asset_job(
    "hourly_lake_steps", selection=LAKE_STEPS, partitions_def=hourly_partitions,
    description="raw_events → windowed_aggregates for one hour, with their checks: on the lake, any number of hours "
                "at once.")
# window_changes investigates each window against the 10 minutes before it, so it reads the previous hour's events:
# its own pass, once every hour's lake steps are done, again any number of hours at once.
WINDOW_CHANGES = dg.AssetSelection.assets("window_changes")
window_changes_job = dg.define_asset_job(
    "hourly_window_changes", selection=WINDOW_CHANGES, partitions_def=hourly_partitions,
    description="window_changes for one hour whose events (and the previous hour's) are loaded: on the lake, any "
                "number of hours at once.")
after_lake_steps_job = dg.define_asset_job(
    "hourly_after_lake_steps",
    selection=dg.AssetSelection.groups("events", "patterns", "incidents", "security") - LAKE_STEPS - WINDOW_CHANGES,
    partitions_def=hourly_partitions,
    description="The hourly graph after raw_events, windowed_aggregates and window_changes (templates → embeddings "
                "→ clusters → incidents, security findings), for one hour whose lake steps ran.")

hourly_schedule = dg.build_schedule_from_partitioned_job(
    incident_job, minute_of_hour=5, description="Materialize each hour five minutes after it closes.")
