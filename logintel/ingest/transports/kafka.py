"""KafkaTransport: produces each event line keyed by event_id and confirms every delivery before returning.

confluent-kafka is an optional extra (`logintel[kafka]`), imported only when this transport is built.
"""
from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from logintel.ingest.buffer import Item
from logintel.ingest.transports.base import Transport
from logintel.store.landing import LandingUnavailable


class KafkaUnavailable(LandingUnavailable):
    """Kafka did not confirm a batch (dead broker, timeout, rejected message): the emitter falls through."""


def _import_kafka():
    try:
        import confluent_kafka
    except ImportError as exc:
        raise ImportError("the kafka transport needs confluent-kafka: install logintel[kafka]") from exc
    return confluent_kafka


class KafkaTransport(Transport):
    name = "kafka"

    def __init__(self, bootstrap_servers: str, topic: str,
                 producer_config: Mapping[str, Any] | None = None, delivery_timeout_s: float = 10):
        if not topic:
            raise ValueError("kafka transport: topic is required")
        if not delivery_timeout_s > 0:
            raise ValueError("kafka transport: delivery_timeout_s must be > 0")
        self._kafka = _import_kafka()
        self.topic = topic
        self.delivery_timeout_s = float(delivery_timeout_s)
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "logintel-emitter",
            # Idempotence keeps librdkafka's own retries from duplicating or reordering a partition.
            "enable.idempotence": True,
            "acks": "all",
            # librdkafka fails a message itself within our deadline, so a dead broker fails fast
            # with a real error instead of messages piling up in the producer queue.
            "message.timeout.ms": int(self.delivery_timeout_s * 1000),
            **dict(producer_config or {}),
        }
        self._fatal: str | None = None
        self._producer = self._new_producer()

    def _new_producer(self):
        config = dict(self._config, error_cb=self._on_error)
        return self._kafka.Producer(config)

    def _on_error(self, error) -> None:
        # A fatal error (e.g. an idempotence violation) leaves the producer unusable: rebuild it.
        if error.fatal():
            self._fatal = str(error)

    def send(self, items: Sequence[Item]) -> None:
        if self._fatal is not None:
            self._reset()
        failures: list[str] = []
        confirmed = [0]

        def on_delivery(error, _message) -> None:
            if error is None:
                confirmed[0] += 1
            else:
                failures.append(str(error))

        deadline = time.monotonic() + self.delivery_timeout_s + 1.0  # room for librdkafka's own timeout
        producer = self._producer
        for item in items:
            while True:
                try:
                    # Keyed by event_id: per-event ordering, and log compaction drops resent copies.
                    producer.produce(self.topic, value=item.line.encode("utf-8"), key=item.event_id.encode("utf-8"),
                                     on_delivery=on_delivery)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it, within the deadline
                    if time.monotonic() >= deadline:
                        self._abandon()
                        raise KafkaUnavailable(f"kafka {self.topic}: producer queue full") from None
                    producer.poll(0.05)
                except self._kafka.KafkaException as exc:
                    self._abandon()
                    raise KafkaUnavailable(f"kafka {self.topic}: {exc}") from exc
        remaining = producer.flush(max(0.0, deadline - time.monotonic()))
        if remaining:
            self._abandon()
            raise KafkaUnavailable(f"kafka {self.topic}: {remaining} of {len(items)} messages "
                                   f"unconfirmed after {self.delivery_timeout_s:g}s")
        if failures or confirmed[0] != len(items):
            raise KafkaUnavailable(f"kafka {self.topic}: {len(failures)} of {len(items)} messages "
                                   f"failed: {failures[0] if failures else 'no delivery report'}")

    def _abandon(self) -> None:
        """Drop what this batch left queued: the whole batch goes to the next transport instead,
        and messages left behind would otherwise still be delivered later, in the background."""
        try:
            self._producer.purge(in_queue=True, in_flight=True, blocking=False)
            self._producer.poll(0)  # serve the purged messages' callbacks now
        except Exception:
            self._reset()

    def _reset(self) -> None:
        self._fatal = None
        self._producer = self._new_producer()

    def healthy(self, timeout: float = 2.0) -> bool:
        """Whether a broker answers a metadata request for the topic within `timeout` seconds."""
        try:
            metadata = self._producer.list_topics(self.topic, timeout=timeout)
        except self._kafka.KafkaException:
            return False
        return bool(metadata.brokers)

    def close(self) -> None:
        self._producer.flush(min(self.delivery_timeout_s, 5.0))
