"""The logintel code location: assets, checks, jobs, schedules, sensors and resources."""
import dagster as dg

from assets.checks import raw_events_quality, windows_reconcile_with_raw
from assets.daily_digest import daily_digest, daily_digest_grounded
from assets.digest import daily_metrics
from assets.findings import FINDINGS_ASSETS, FINDINGS_CHECKS
from assets.incidents import incidents
from assets.patterns import clusters, embeddings, event_templates
from assets.raw_events import raw_events
from assets.trust_checks import incident_summaries_grounded
from assets.window_changes import window_changes
from assets.windowed_aggregates import windowed_aggregates
from jobs.daily import daily_job, daily_schedule
from jobs.hourly import (hourly_schedule, incident_job, incidents_step_job, lake_steps_job, patterns_job,
                         security_job, window_changes_job)
from jobs.kafka import kafka_job
from jobs.replay import replay_job
from jobs.situation_briefings import briefing_job, situation_briefings
from logintel.config import Settings
from resources import build_resources
from sensors.dump_files import dump_files_sensor
from sensors.kafka_landing import kafka_landing_sensor
from sensors.replayed_partitions import replayed_partitions_sensor
from sensors.situation_briefing import situation_briefing_sensor
from sensors.threshold import error_threshold_sensor


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_events, windowed_aggregates, window_changes, event_templates, embeddings, clusters, incidents, daily_metrics,
                daily_digest, situation_briefings, *FINDINGS_ASSETS],
        asset_checks=[raw_events_quality, windows_reconcile_with_raw, incident_summaries_grounded,
                      daily_digest_grounded, *FINDINGS_CHECKS],
        jobs=[incident_job, lake_steps_job, window_changes_job, patterns_job, security_job, incidents_step_job,
              replay_job, kafka_job, daily_job, briefing_job],
        schedules=[hourly_schedule, daily_schedule],
        sensors=[error_threshold_sensor, dump_files_sensor, replayed_partitions_sensor, kafka_landing_sensor,
                 situation_briefing_sensor],
        resources=build_resources(settings),
    )


defs = build_definitions()
