"""The `kafka_to_landing` job: drains the emitters' topic into the landing zone (LOGINTEL_KAFKA_BOOTSTRAP_SERVERS,
LOGINTEL_KAFKA_TOPIC). Late events for closed hours leave a report that the replayed_partitions_sensor turns
into runs."""
import dagster as dg

from assets.metadata import counts_table, hour_table
from logintel.ingest.kafka_sink import drain_to_landing
from logintel.ingest.reports import REPORTS
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings

JOB_NAME = "kafka_to_landing"


class DrainConfig(dg.Config):
    max_seconds: float = 50.0   # a drain stops after this long, so runs stay short and frequent


@dg.op(description="Consume the emitters' Kafka topic into the landing zone; commit offsets after each landed batch.")
def drain_kafka_topic(context: dg.OpExecutionContext, config: DrainConfig, landing: LandingZoneResource,
                      logintel: LogintelSettings) -> dict:
    settings = logintel.settings()
    if not settings.kafka_configured:
        raise dg.Failure("Kafka is not configured: set LOGINTEL_KAFKA_BOOTSTRAP_SERVERS and LOGINTEL_KAFKA_TOPIC")

    def progress(report) -> None:
        context.log.info(f"{report.messages:,} messages so far: {report.landed:,} landed, "
                         f"{report.dead_lettered:,} dead-lettered")

    report, path = drain_to_landing(settings.kafka_bootstrap_servers, settings.kafka_topic, settings.kafka_group,
                                    landing.open(), logintel.dead_letters(), settings.dumps_dir / REPORTS,
                                    config.max_seconds, progress)
    context.log.info(report.summary())
    if not report.accounted():
        raise dg.Failure(f"kafka drain accounting mismatch: {report.summary()}")
    context.add_output_metadata({
        "topic": report.topic, "messages": report.messages, "landed": report.landed,
        "dead_lettered": report.dead_lettered, "caught_up": report.caught_up,
        "events_by_hour": hour_table(report.by_hour, "events landed"),
        "dead_letters_by_cause": counts_table(report.by_cause, "cause"),
        "late_hours": ", ".join(report.partitions) or "none",
        "report": str(path) if path else "none (no late events)"})
    return report.to_dict()


@dg.job(name=JOB_NAME, description="Drain the emitters' Kafka topic into the landing zone (at least once; "
                                   "event_id dedupes downstream).")
def kafka_job():
    drain_kafka_topic()
