"""The Kafka sink against librdkafka's mock cluster: emitter → topic → landing zone, at least once."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logintel.store.dead_letters import DeadLetterStore
from logintel.ingest import Emitter, EmitterConfig
from logintel.store.landing import LandingUnavailable
from logintel.store.landing_files import FileLandingZone
from tests.support import REPO_ROOT
from tests.support.factories import event

kafka = pytest.importorskip("confluent_kafka")
from logintel.ingest.kafka_sink import KafkaSink  # noqa: E402  (needs confluent-kafka)

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def emit_to_kafka(tmp_path: Path, brokers: str, topic: str, events) -> dict:
    spec = {"kind": "kafka", "bootstrap_servers": brokers, "topic": topic, "linger.ms": 1}
    cfg = EmitterConfig.from_dict({"transports": [spec], "dump_dir": str(tmp_path / "dumps"),
                                   "dead_letter_dir": str(tmp_path / "dl-emit"), "batch_size": 50,
                                   "flush_interval_s": 0.05})
    with Emitter(cfg) as emitter:
        for e in events:
            emitter.emit(e)
    stats = emitter.stats()
    assert stats["delivered"] == {"kafka": len(events)}, stats
    return stats


def produce_raw(brokers: str, topic: str, values: list[bytes]) -> None:
    producer = kafka.Producer({"bootstrap.servers": brokers, "log_level": 3})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0


def landed_ids(root: Path) -> list[str]:
    return [json.loads(line)["event_id"] for path in sorted(root.rglob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


class DownZone:
    def write_lines(self, hour, lines):
        raise LandingUnavailable("landing zone down")


def test_emitted_events_reach_the_landing_zone_and_offsets_are_committed(tmp_path, mock_brokers, topic):
    events = [event(NOW - timedelta(hours=2, minutes=i)) for i in range(40)] + [event(NOW) for _ in range(80)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)
    produce_raw(mock_brokers, topic, [b"not json", b'{"event_id": "x", "level": "loud"}', b"\xff\xfe"])
    zone = FileLandingZone(tmp_path / "landing")
    letters = DeadLetterStore(tmp_path / "dl")

    with KafkaSink(mock_brokers, topic, group_id=f"g-{topic}") as sink:
        report = sink.drain(zone, letters, max_seconds=60, now=lambda: NOW)
        assert report.caught_up and report.accounted()
        assert (report.messages, report.landed, report.dead_lettered) == (123, 120, 3)
        assert report.by_cause == {"invalid_json": 1, "encoding": 1, "validation:timestamp": 1}
        # Only hours that had closed when their events arrived call for a re-materialization.
        late = sorted({(NOW - timedelta(hours=2, minutes=i)).strftime("%Y-%m-%dT%H") for i in range(40)})
        assert report.partitions == late and NOW.strftime("%Y-%m-%dT%H") in report.hours
        assert sum(report.by_hour.values()) == 120 and report.by_hour[NOW.strftime("%Y-%m-%dT%H")] >= 80
        assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)
        assert sink.lag() == 0
        again = sink.drain(zone, letters, max_seconds=30)
        assert again.messages == 0 and again.caught_up

    records = list(letters.records())
    assert {r["stage"] for r in records} == {"kafka"} and all(re.fullmatch(rf"kafka:{topic}/\d+@\d+", r["source"]) for r in records)
    assert any(r.get("payload_b64") for r in records)  # the undecodable bytes are kept as they were

    # A new consumer of the same group starts after the committed offsets: only what came since is read.
    later = [event(NOW) for _ in range(5)]
    emit_to_kafka(tmp_path, mock_brokers, topic, later)
    with KafkaSink(mock_brokers, topic, group_id=f"g-{topic}") as sink:
        report = sink.drain(zone, letters, max_seconds=30)
    assert report.caught_up and (report.messages, report.landed) == (5, 5)
    assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events + later)


def test_a_topic_nobody_wrote_yet_is_an_empty_drain(tmp_path, mock_brokers, topic):
    with KafkaSink(mock_brokers, topic, group_id="g") as sink:
        report = sink.drain(FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dl"),
                            max_seconds=10)
    assert report.caught_up and report.messages == 0 and report.accounted()


def test_a_landing_failure_commits_nothing_and_the_next_drain_lands_everything(tmp_path, mock_brokers, topic):
    events = [event(NOW) for _ in range(60)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)
    group = f"g-{topic}"
    with KafkaSink(mock_brokers, topic, group_id=group) as sink:
        with pytest.raises(LandingUnavailable):
            sink.drain(DownZone(), DeadLetterStore(tmp_path / "dl"), max_seconds=30)
    assert landed_ids(tmp_path / "landing") == []

    with KafkaSink(mock_brokers, topic, group_id=group) as sink:
        report = sink.drain(FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dl"),
                            max_seconds=30)
    assert report.landed == 60 and sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)


def tick(sensor, defs, cursor=None, instance=None):
    import dagster as dg
    from logintel.config import load_settings
    from resources import build_resources
    with (dg.instance_for_test() if instance is None else _same(instance)) as active:
        context = dg.build_sensor_context(instance=active, cursor=cursor, definitions=defs,
                                          resources=build_resources(load_settings()))
        return sensor.evaluate_tick(context)


class _same:
    def __init__(self, instance):
        self.instance = instance

    def __enter__(self):
        return self.instance

    def __exit__(self, *exc_info):
        return False


def test_dagster_drain_job_lands_the_topic_and_late_hours_are_re_materialized(home, monkeypatch, mock_brokers, topic,
                                                                               tmp_path):
    import dagster as dg
    from sensors.kafka_landing import kafka_landing_sensor
    from sensors.replayed_partitions import replayed_partitions_sensor
    from definitions import build_definitions
    from logintel.config import load_settings

    assert "not configured" in tick(kafka_landing_sensor, build_definitions(load_settings())).skip_message
    monkeypatch.setenv("LOGINTEL_KAFKA_BOOTSTRAP_SERVERS", mock_brokers)
    monkeypatch.setenv("LOGINTEL_KAFKA_TOPIC", topic)
    defs = build_definitions(load_settings())
    closed = NOW.replace(minute=0, second=0) - timedelta(hours=1)
    # Not-yet-closed events sit in the next hour, so the clock passing an hour mark mid-test
    # cannot make them late.
    ahead = datetime.now(timezone.utc).replace(minute=5, second=0, microsecond=0) + timedelta(hours=1)
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
    assert [r.partition_key for r in backfill.run_requests] == [closed.strftime("%Y-%m-%d-%H:00")]


def test_cli_drains_once_and_reports(tmp_path, mock_brokers, topic):
    import os
    import subprocess
    import sys
    events = [event(NOW) for _ in range(25)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)
    env = dict(os.environ, LOGINTEL_HOME=str(tmp_path / "home"))
    env.pop("LOGINTEL_POSTGRES_URL", None)
    out = subprocess.run([sys.executable, "-m", "logintel.cli", "kafka-sink", "--bootstrap-servers", mock_brokers,
                          "--topic", topic, "--json"], env=env, capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL,
                         cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert (report["messages"], report["landed"], report["caught_up"]) == (25, 25, True)
    assert sorted(landed_ids(tmp_path / "home" / "landing")) == sorted(e.event_id for e in events)


def test_cli_with_dead_brokers_names_the_problem(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    env = dict(os.environ, LOGINTEL_HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, "-m", "logintel.cli", "kafka-sink", "--bootstrap-servers", dead,
                          "--topic", "t"], env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
    assert out.returncode == 1 and "error: kafka t:" in out.stderr and "Traceback" not in out.stderr
