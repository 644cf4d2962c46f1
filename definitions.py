"""The logintel code location: assets, checks, jobs, schedules, sensors and resources."""
import dagster as dg

from assets.checks import raw_events_quality, windows_reconcile_with_raw
from assets.incidents import incidents
from assets.jobs import hourly_schedule, incident_job
from assets.kafka import kafka_job, kafka_landing_sensor
from assets.patterns import clusters, embeddings, event_templates
from assets.raw_events import raw_events
from assets.replay import dump_files_sensor, replay_job, replayed_partitions_sensor
from assets.trust_checks import incident_summaries_grounded
from assets.windowed_aggregates import windowed_aggregates
from logintel.config import Settings
from resources import build_resources
from sensors.threshold import error_threshold_sensor


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_events, windowed_aggregates, event_templates, embeddings, clusters, incidents],
        asset_checks=[raw_events_quality, windows_reconcile_with_raw, incident_summaries_grounded],
        jobs=[incident_job, replay_job, kafka_job],
        schedules=[hourly_schedule],
        sensors=[error_threshold_sensor, dump_files_sensor, replayed_partitions_sensor, kafka_landing_sensor],
        resources=build_resources(settings),
    )


defs = build_definitions()
