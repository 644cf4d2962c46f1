"""The Kafka drain through Dagster, against librdkafka's mock cluster: the kafka_landing sensor skips
until Kafka is configured, then requests the kafka_to_landing job, which lands the topic; the hours that
had closed are then re-materialized by the replayed-partitions sensor (and only they)."""
from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from tests.support.factories import event
from tests.support.kafka import emit_to_kafka, landed_ids
from tests.support.sensor_ticks import partition_key, tick

pytest.importorskip("confluent_kafka")


def test_dagster_drain_job_lands_the_topic_and_late_hours_are_re_materialized(home, monkeypatch, mock_brokers, topic,
                                                                               tmp_path, now, previous_hour):
    from sensors.kafka_landing import kafka_landing_sensor
    from sensors.replayed_partitions import replayed_partitions_sensor
    from definitions import build_definitions
    from logintel.config import load_settings

    assert "not configured" in tick(kafka_landing_sensor, build_definitions(load_settings())).skip_message
    monkeypatch.setenv("LOGINTEL_KAFKA_BOOTSTRAP_SERVERS", mock_brokers)
    monkeypatch.setenv("LOGINTEL_KAFKA_TOPIC", topic)
    defs = build_definitions(load_settings())
    closed = previous_hour  # already over when its events are drained: a late hour
    # Not-yet-closed events sit in the next hour, so the clock passing an hour mark mid-test
    # cannot make them late.
    ahead = now.replace(minute=5, second=0) + timedelta(hours=1)
    events = [event(closed + timedelta(minutes=i)) for i in range(30)] + [event(ahead) for _ in range(20)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)

    with dg.instance_for_test() as instance:
        [request] = tick(kafka_landing_sensor, defs, instance=instance).run_requests
        assert request.tags["logintel/topic"] == topic
        result = defs.resolve_job_def("kafka_to_landing").execute_in_process(
            instance=instance, tags=request.tags,
            run_config={"ops": {"drain_kafka_topic": {"config": {"max_seconds": 30}}}})
    assert result.success
    drained = result.output_for_node("drain_kafka_topic")
    assert (drained["messages"], drained["landed"], drained["caught_up"]) == (50, 50, True)
    assert drained["partitions"] == [closed.strftime("%Y-%m-%dT%H")]
    assert sorted(landed_ids(home / "landing")) == sorted(e.event_id for e in events)

    # The report names the closed hour: the replay sensor re-materializes it (and only it).
    backfill = tick(replayed_partitions_sensor, defs)
    assert [r.partition_key for r in backfill.run_requests] == [partition_key(closed)]
