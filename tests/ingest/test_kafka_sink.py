"""The Kafka sink against librdkafka's mock cluster: emitter → topic → landing zone, at least once; and
the `logintel kafka-sink` CLI. The Dagster drain job and its sensors are in tests/dagster/test_kafka_drain.py."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing import LandingUnavailable
from logintel.store.landing_files import FileLandingZone
from tests.support import REPO_ROOT
from tests.support.factories import event
from tests.support.kafka import emit_to_kafka, landed_ids

kafka = pytest.importorskip("confluent_kafka")
from logintel.ingest.kafka_sink import KafkaSink  # noqa: E402  (needs confluent-kafka)


def produce_raw(brokers: str, topic: str, values: list[bytes]) -> None:
    producer = kafka.Producer({"bootstrap.servers": brokers, "log_level": 3})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(10) == 0


class DownZone:
    def write_lines(self, hour, lines):
        raise LandingUnavailable("landing zone down")


def test_emitted_events_reach_the_landing_zone_and_offsets_are_committed(tmp_path, mock_brokers, topic, now):
    events = [event(now - timedelta(hours=2, minutes=i)) for i in range(40)] + [event(now) for _ in range(80)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)
    produce_raw(mock_brokers, topic, [b"not json", b'{"event_id": "x", "level": "loud"}', b"\xff\xfe"])
    zone = FileLandingZone(tmp_path / "landing")
    letters = DeadLetterStore(tmp_path / "dl")

    with KafkaSink(mock_brokers, topic, group_id=f"g-{topic}") as sink:
        report = sink.drain(zone, letters, max_seconds=60, now=lambda: now)
        assert report.caught_up and report.accounted()
        assert (report.messages, report.landed, report.dead_lettered) == (123, 120, 3)
        assert report.by_cause == {"invalid_json": 1, "encoding": 1, "validation:timestamp": 1}
        # Only hours that had closed when their events arrived call for a re-materialization.
        late = sorted({(now - timedelta(hours=2, minutes=i)).strftime("%Y-%m-%dT%H") for i in range(40)})
        assert report.partitions == late and now.strftime("%Y-%m-%dT%H") in report.hours
        assert sum(report.by_hour.values()) == 120 and report.by_hour[now.strftime("%Y-%m-%dT%H")] >= 80
        assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)
        assert sink.lag() == 0
        again = sink.drain(zone, letters, max_seconds=30)
        assert again.messages == 0 and again.caught_up

    records = list(letters.records())
    assert {r["stage"] for r in records} == {"kafka"} and all(re.fullmatch(rf"kafka:{topic}/\d+@\d+", r["source"]) for r in records)
    assert any(r.get("payload_b64") for r in records)  # the undecodable bytes are kept as they were

    # A new consumer of the same group starts after the committed offsets: only what came since is read.
    later = [event(now) for _ in range(5)]
    emit_to_kafka(tmp_path, mock_brokers, topic, later)
    with KafkaSink(mock_brokers, topic, group_id=f"g-{topic}") as sink:
        report = sink.drain(zone, letters, max_seconds=30)
    assert report.caught_up and (report.messages, report.landed) == (5, 5)
    assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events + later)


def test_a_drain_lands_segments_of_many_consumed_batches(tmp_path, mock_brokers, topic, now):
    """Messages are consumed a batch at a time but landed a segment at a time, so a segment is big enough for the
    lake to commit as it is; the last one holds what is left once the topic is caught up."""
    events = [event(now) for _ in range(250)]
    emit_to_kafka(tmp_path, mock_brokers, topic, events)
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    with KafkaSink(mock_brokers, topic, group_id=f"g-{topic}") as sink:
        report = sink.drain(zone, DeadLetterStore(tmp_path / "dl"), max_seconds=60, batch_size=40,
                            segment_events=100)
    assert report.caught_up and report.landed == 250 and sink.lag() in (0, None)
    hour = zone.hours()[0]
    sizes = sorted(pq.read_metadata(path).num_rows for path in zone.segments(hour))
    assert sum(sizes) == 250 and len(sizes) <= 3 and all(size >= 100 for size in sizes[1:])  # one remainder
    assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)


def test_a_topic_nobody_wrote_yet_is_an_empty_drain(tmp_path, mock_brokers, topic):
    with KafkaSink(mock_brokers, topic, group_id="g") as sink:
        report = sink.drain(FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dl"),
                            max_seconds=10)
    assert report.caught_up and report.messages == 0 and report.accounted()


def test_a_landing_failure_commits_nothing_and_the_next_drain_lands_everything(tmp_path, mock_brokers, topic, now):
    events = [event(now) for _ in range(60)]
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


@pytest.mark.subprocess
def test_cli_drains_once_and_reports(tmp_path, mock_brokers, topic, now):
    import os
    import subprocess
    import sys
    events = [event(now) for _ in range(25)]
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


@pytest.mark.slow
@pytest.mark.subprocess
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
