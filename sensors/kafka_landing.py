"""Starts a Kafka drain every minute while Kafka is configured and no drain is running."""
import dagster as dg

from jobs.kafka import JOB_NAME, kafka_job
from resources.settings import LogintelSettings, loaded_settings

ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]

# On by default only where Kafka is configured, so a deployment without it has no idle ticks to read.
_CONFIGURED = loaded_settings().kafka_configured


@dg.sensor(job=kafka_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING if _CONFIGURED else dg.DefaultSensorStatus.STOPPED,
           description="Starts a Kafka drain every minute while Kafka is configured and no drain is running.")
def kafka_landing_sensor(context: dg.SensorEvaluationContext, logintel: LogintelSettings):
    settings = logintel.settings()
    if not settings.kafka_configured:
        return dg.SkipReason("Kafka is not configured (LOGINTEL_KAFKA_BOOTSTRAP_SERVERS, LOGINTEL_KAFKA_TOPIC)")
    running = context.instance.get_runs(dg.RunsFilter(job_name=JOB_NAME, statuses=ACTIVE), limit=1)
    if running:
        return dg.SkipReason(f"drain {running[0].run_id[:8]} is still running")
    return dg.RunRequest(tags={"logintel/trigger": "kafka", "logintel/topic": settings.kafka_topic})
