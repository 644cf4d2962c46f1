"""The Kafka transport against librdkafka's mock cluster (the real protocol on 127.0.0.1), and a dead broker."""
from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest

from logintel.events import parse_json_line
from logintel.ingest import Emitter, EmitterConfig
from logintel.ingest.buffer import Item
from logintel.ingest.transports.kafka import KafkaTransport, KafkaUnavailable
from tests.support.factories import event
from tests.support.landing import landed_lines

kafka = pytest.importorskip("confluent_kafka")


@pytest.fixture
def dead_brokers() -> str:
    """A port on 127.0.0.1 that refuses connections: bound once, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


def consume(brokers: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Every message of `topic` from the beginning, read until `expected` arrived (or timeout)."""
    consumer = kafka.Consumer({"bootstrap.servers": brokers, "group.id": f"t-{uuid.uuid4().hex}",
                               "enable.auto.commit": False, "log_level": 3})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        # assign() rather than subscribe(): no group rebalance to wait for.
        consumer.assign([kafka.TopicPartition(topic, p, kafka.OFFSET_BEGINNING) for p in partitions])
        messages = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(message)
        return messages
    finally:
        consumer.close()


def config(tmp_path: Path, transports: list, **overrides) -> EmitterConfig:
    return EmitterConfig.from_dict({
        "transports": transports, "dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
        "batch_size": 50, "flush_interval_s": 0.05, **overrides})


def file_ids(root: Path) -> list[str]:
    """The event ids of a landing zone (root/events) or of a dump folder's JSONL segments."""
    lines = landed_lines(root) if (root / "events").exists() else [
        line for path in sorted(root.rglob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines()]
    return [parse_json_line(line).event_id for line in lines]


def test_emitter_delivers_to_kafka_and_a_consumer_reads_every_event(tmp_path, mock_brokers, topic, now):
    spec = {"kind": "kafka", "bootstrap_servers": mock_brokers, "topic": topic, "linger.ms": 1}
    events = [event(now) for _ in range(230)]
    with Emitter(config(tmp_path, [spec])) as emitter:
        for e in events:
            emitter.emit(e)
        assert emitter.flush(30)
    stats = emitter.stats()
    assert stats["delivered"] == {"kafka": 230} and stats["dumped"] == 0
    assert stats["balanced"] and stats["pending"] == 0

    messages = consume(mock_brokers, topic, 230)
    by_key = {m.key().decode(): parse_json_line(m.value()) for m in messages}
    assert len(messages) == 230 and sorted(by_key) == sorted(e.event_id for e in events)
    assert all(by_key[e.event_id].to_json() == e.to_json() for e in events)


def test_kafka_unavailable_falls_through_to_files_nothing_lost(tmp_path, dead_brokers, now):
    spec = {"kind": "kafka", "bootstrap_servers": dead_brokers, "topic": "t", "delivery_timeout_s": 1,
            "producer_config": {"socket.timeout.ms": 1000, "reconnect.backoff.max.ms": 200}}
    files = {"kind": "files", "dir": str(tmp_path / "landing")}
    # A long backoff: after the first failed batch every later one goes straight to the files.
    cfg = config(tmp_path, [spec, files], backoff_base_s=60, backoff_cap_s=60)
    events = [event(now) for _ in range(180)]
    with Emitter(cfg) as emitter:
        for e in events:
            emitter.emit(e)
        assert emitter.flush(30)
        stats = emitter.stats()
    assert stats["delivered"] == {"files": 180} and stats["dumped"] == 0 and stats["dropped"] == {}
    assert stats["balanced"] and stats["pending"] == 0 and stats["emitted"] == 180
    assert stats["transports"]["kafka"]["healthy"] is False
    assert "KafkaUnavailable" in stats["transports"]["kafka"]["last_error"]
    assert sorted(file_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)


def test_kafka_unavailable_alone_falls_through_to_the_dump(tmp_path, dead_brokers, now):
    spec = {"kind": "kafka", "bootstrap_servers": dead_brokers, "topic": "t", "delivery_timeout_s": 1}
    events = [event(now) for _ in range(120)]
    with Emitter(config(tmp_path, [spec], backoff_base_s=60, backoff_cap_s=60)) as emitter:
        for e in events:
            emitter.emit(e)
        assert emitter.flush(30)
        stats = emitter.stats()
    assert stats["dumped"] == 120 and stats["delivered"] == {} and stats["balanced"]
    assert sorted(file_ids(tmp_path / "dumps")) == sorted(e.event_id for e in events)


def test_send_raises_transport_unavailable_and_probe_says_unhealthy(dead_brokers, now):
    transport = KafkaTransport(dead_brokers, "t", {"socket.timeout.ms": 1000}, delivery_timeout_s=1)
    try:
        e = event(now)
        with pytest.raises(KafkaUnavailable):
            transport.send([Item.of(e)])
        assert transport.healthy(timeout=1) is False
    finally:
        transport.close()


def test_probe_is_healthy_on_a_live_cluster(mock_brokers, topic):
    transport = KafkaTransport(mock_brokers, topic, delivery_timeout_s=5)
    try:
        assert transport.healthy(timeout=10) is True
    finally:
        transport.close()


def test_chain_order_kafka_first_when_it_is_up(tmp_path, mock_brokers, topic, fresh_postgres_url, now):
    chain = [{"kind": "kafka", "bootstrap_servers": mock_brokers, "topic": topic},
             {"kind": "postgres", "url": fresh_postgres_url},
             {"kind": "files", "dir": str(tmp_path / "landing")}]
    with Emitter(config(tmp_path, chain)) as emitter:
        for _ in range(120):
            emitter.emit(event(now))
        assert emitter.flush(30)
    stats = emitter.stats()
    assert stats["delivered"] == {"kafka": 120} and stats["balanced"] and stats["pending"] == 0
    assert not (tmp_path / "landing").exists() or file_ids(tmp_path / "landing") == []


def test_chain_skips_dead_kafka_for_postgres(tmp_path, dead_brokers, fresh_postgres_url, now):
    chain = [{"kind": "kafka", "bootstrap_servers": dead_brokers, "topic": "t", "delivery_timeout_s": 1},
             {"kind": "postgres", "url": fresh_postgres_url},
             {"kind": "files", "dir": str(tmp_path / "landing")}]
    with Emitter(config(tmp_path, chain, backoff_base_s=60, backoff_cap_s=60)) as emitter:
        for _ in range(120):
            emitter.emit(event(now))
        assert emitter.flush(30)
    stats = emitter.stats()
    assert stats["delivered"] == {"postgres": 120} and stats["balanced"] and stats["pending"] == 0


def test_config_accepts_kafka_and_rejects_typos():
    cfg = EmitterConfig.from_dict({"transports": [
        {"kind": "kafka", "bootstrap_servers": "h:9092", "topic": "events", "linger.ms": 5,
         "producer_config": {"acks": "1"}, "delivery_timeout_s": "2.5"}]})
    spec = cfg.transports[0]
    assert spec.target == "h:9092"
    assert dict(spec.options) == {"topic": "events", "delivery_timeout_s": 2.5,
                                  "producer_config": (("acks", "1"), ("linger.ms", 5))}
    with pytest.raises(ValueError, match="topic"):
        EmitterConfig.from_dict({"transports": [{"kind": "kafka", "bootstrap_servers": "h:9092"}]})
    with pytest.raises(ValueError, match="lingerms"):
        EmitterConfig.from_dict({"transports": [{"kind": "kafka", "bootstrap_servers": "h", "topic": "t",
                                                 "lingerms": 5}]})
    env = EmitterConfig.from_env({"LOGINTEL_EMIT_TRANSPORTS": "kafka",
                                  "LOGINTEL_EMIT_KAFKA_BOOTSTRAP_SERVERS": "h:1",
                                  "LOGINTEL_EMIT_KAFKA_TOPIC": "ev"})
    assert env.transports[0].target == "h:1" and dict(env.transports[0].options)["topic"] == "ev"


def test_missing_confluent_kafka_says_how_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # makes `import confluent_kafka` fail
    with pytest.raises(ImportError, match=r"logintel\[kafka\]"):
        KafkaTransport("h:1", "t")
