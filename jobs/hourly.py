"""The hourly incident job over the asset graph, and its schedule."""
import dagster as dg

from assets.partitions import hourly_partitions

incident_job = dg.define_asset_job(
    "hourly_incidents", selection=dg.AssetSelection.groups("events", "patterns", "incidents", "security"),
    partitions_def=hourly_partitions,
    description="raw_events → windowed_aggregates, event_templates → embeddings → clusters → incidents, and "
                "the hourly security findings, for one hour, with their checks.")

hourly_schedule = dg.build_schedule_from_partitioned_job(
    incident_job, minute_of_hour=5, description="Materialize each hour five minutes after it closes.")
