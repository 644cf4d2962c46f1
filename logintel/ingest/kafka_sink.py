"""Kafka → landing zone: the consuming end of the Kafka transport (what a Kafka Connect sink does).

A consumer group reads the emitter's topic; each message is validated with the contract; valid
events are written to the landing zone by hour, invalid ones become dead letters (stage "kafka",
source `kafka:<topic>/<partition>@<offset>`, original bytes kept). The group's offsets are
committed only after the landing write and the dead letters succeeded, so delivery into the
landing zone is at least once: a crash between the write and the commit reads those messages
again, and event_id removes the copies (PostgreSQL's ON CONFLICT; raw_events' dedupe for files).

Events for hours that had already closed when they arrived are listed in a report under
`dumps/reports/` (the replay reports' folder), so the replayed_partitions_sensor re-materializes
those hours as it does after a replay of dumps.
"""
from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.events import EventValidationError, parse_json_line
from logintel.ingest.reports import new_report_id, save_report
from logintel.ingest.transports.kafka import KafkaUnavailable, _import_kafka
from logintel.store.landing import LandingZone, hour_floor, hour_key

STAGE = "kafka"
# Events a landing segment: at least segment_adoption.MIN_ROWS, so the lake commits it as it is, and about 70 MB of
# messages in hand at most.
SEGMENT_EVENTS = 100_000
DEFAULT_GROUP = "logintel-landing"


@dataclass
class DrainReport:
    """What one drain did. Accounting: `messages == landed + dead_lettered`."""
    replay_id: str = field(default_factory=new_report_id)
    source: str = "kafka"
    topic: str = ""
    messages: int = 0
    landed: int = 0
    dead_lettered: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    by_hour: dict[str, int] = field(default_factory=dict)  # events landed per hour key
    partitions: list[str] = field(default_factory=list)  # the hours among them that had already closed
    caught_up: bool = False                               # stopped because the topic had nothing more
    elapsed_s: float = 0.0

    @property
    def hours(self) -> list[str]:
        """Every hour key that got events, in time order."""
        return sorted(self.by_hour)

    def accounted(self) -> bool:
        return self.messages == self.landed + self.dead_lettered

    def summary(self) -> str:
        text = (f"{self.messages:,} message(s) from {self.topic}: {self.landed:,} landed, "
                f"{self.dead_lettered:,} dead-lettered")
        if self.by_cause:
            text += " (" + ", ".join(f"{c} {n}" for c, n in sorted(self.by_cause.items())) + ")"
        if self.partitions:
            text += f"; late events for closed hours: {', '.join(self.partitions)}"
        return text + ("" if self.caught_up else "; stopped before catching up")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def write(self, report_dir: Path) -> Path:
        return save_report(report_dir, self.replay_id, self.to_dict())


class KafkaSink:
    """One consumer of `topic` in group `group_id`; call `drain()` as often as you like, then `close()`."""

    def __init__(self, bootstrap_servers: str, topic: str, group_id: str = DEFAULT_GROUP,
                 consumer_config: Mapping[str, Any] | None = None):
        if not topic:
            raise ValueError("kafka sink: topic is required")
        self._kafka = _import_kafka()
        self.topic = topic
        self._next: dict[int, int] = {}  # partition -> the offset this drain reads next
        self._consumer = self._kafka.Consumer({
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "client.id": "logintel-kafka-sink",
            "enable.auto.commit": False,       # committed by drain(), after the landing write
            "auto.offset.reset": "earliest",   # a new group starts from the oldest message kept
            **dict(consumer_config or {}),
        })

    def _assign(self, timeout: float = 10.0) -> bool:
        """Take every partition of the topic from the group's committed offsets (the oldest kept
        message where the group has none). Assigned, not subscribed: a drain starts at once instead
        of waiting for a group rebalance, and partitions added since the last drain are picked up.
        One drain per group at a time; the Dagster sensor and the CLI keep to that.
        Returns False when the topic does not exist yet (no emitter has written to it)."""
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=timeout)
        except self._kafka.KafkaException as exc:
            raise KafkaUnavailable(f"kafka {self.topic}: {exc}") from exc
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None or not found.partitions:
            if found is not None and found.error is not None and \
                    found.error.code() != self._kafka.KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise KafkaUnavailable(f"kafka {self.topic}: {found.error}")
            return False
        partitions = [self._kafka.TopicPartition(self.topic, p) for p in sorted(found.partitions)]
        try:
            committed = self._consumer.committed(partitions, timeout=timeout)
        except self._kafka.KafkaException as exc:
            raise KafkaUnavailable(f"kafka {self.topic}: reading the group's offsets: {exc}") from exc
        self._consumer.assign(committed)  # an invalid (absent) offset falls back to auto.offset.reset
        # Where each partition's reading starts; a negative offset means "from the oldest kept".
        self._next = {tp.partition: tp.offset for tp in committed}
        return True

    def _caught_up(self, timeout: float = 10.0) -> bool:
        """Whether this drain has read every partition up to its end offset ("nothing arrived for a
        while" would also be true of a slow fetch). The end offset each fetch brings back is used
        when there is one; otherwise the broker is asked."""
        for partition, next_offset in self._next.items():
            tp = self._kafka.TopicPartition(self.topic, partition)
            try:
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0 or (next_offset < 0 and low < 0):  # not fetched yet: ask
                    low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout, cached=False)
            except self._kafka.KafkaException as exc:
                raise KafkaUnavailable(f"kafka {self.topic}: reading end offsets: {exc}") from exc
            if max(next_offset, low) < high:
                return False
        return True

    def drain(self, zone: LandingZone, dead_letters: DeadLetterStore, max_seconds: float = 60.0,
              batch_size: int = 5000, now: Callable[[], datetime] | None = None,
              progress: Callable[[DrainReport], None] | None = None,
              segment_events: int = SEGMENT_EVENTS) -> DrainReport:
        """Consume until every partition is read to the end offset it had when last asked (caught
        up), or `max_seconds` pass; what arrives later is the next drain's.

        Messages are consumed `batch_size` at a time and landed `segment_events` at a time (or when
        the topic is caught up, or time is up): a segment big enough for the lake to commit as it is
        (`store.segment_adoption`). Offsets are committed only once their messages are landed, so a
        drain that dies with messages still in hand reads them again next time.

        Raises KafkaUnavailable when the consumer reports an error other than reaching the end of a
        partition, and LandingUnavailable when the landing zone refuses a write: in both cases the
        offsets of the unwritten batch are not committed, so the next drain reads it again.
        """
        clock = now or (lambda: datetime.now(timezone.utc))
        report = DrainReport(topic=self.topic)
        started = time.monotonic()
        causes: Counter = Counter()
        hours: Counter = Counter()
        late: set[datetime] = set()
        report.caught_up = not self._assign()  # no topic yet: nothing to read
        pending: list = []

        def land() -> None:
            self._land(pending, zone, dead_letters, report, causes, hours, late, clock())
            pending.clear()
            if progress is not None:
                progress(report)
        while not report.caught_up and time.monotonic() - started < max_seconds:
            messages = self._consumer.consume(num_messages=batch_size, timeout=0.5)
            records = [m for m in messages if not self._skip(m)]
            pending.extend(records)
            if len(pending) >= segment_events or (pending and not records):
                land()
            if not records:
                report.caught_up = self._caught_up()
        if pending:  # time is up: land what is in hand, so its offsets are committed
            land()
        report.by_cause = dict(causes)
        report.by_hour = {hour_key(h): hours[h] for h in sorted(hours)}
        report.partitions = [hour_key(h) for h in sorted(late)]
        report.elapsed_s = round(time.monotonic() - started, 3)
        return report

    def _skip(self, message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.code() == self._kafka.KafkaError._PARTITION_EOF:
            return True
        raise KafkaUnavailable(f"kafka {self.topic}: {error}")

    def _land(self, records: list, zone: LandingZone, dead_letters: DeadLetterStore, report: DrainReport,
              causes: Counter, hours: Counter, late: set, now: datetime) -> None:
        by_hour: dict[datetime, list[str]] = defaultdict(list)
        letters: list[DeadLetter] = []
        for message in records:
            payload = message.value() or b""
            try:
                event = parse_json_line(payload)
            except EventValidationError as exc:
                letters.append(DeadLetter(stage=STAGE, source=f"kafka:{message.topic()}/{message.partition()}"
                                          f"@{message.offset()}", cause=exc.dead_letter_cause, reason=str(exc), payload=payload))
                continue
            by_hour[hour_floor(event.timestamp)].append(event.to_json())
        for hour, lines in by_hour.items():
            zone.write_lines(hour, lines)  # LandingUnavailable propagates: nothing committed
        dead_letters.write(letters)
        # Offsets of everything consumed so far, synchronously: committed means landed. A failed
        # commit leaves them to be read again, and event_id removes the copies.
        try:
            self._consumer.commit(asynchronous=False)
        except self._kafka.KafkaException as exc:
            raise KafkaUnavailable(f"kafka {self.topic}: committing offsets: {exc}") from exc
        for message in records:
            self._next[message.partition()] = message.offset() + 1
        report.messages += len(records)
        report.landed += sum(len(lines) for lines in by_hour.values())
        report.dead_lettered += len(letters)
        causes.update(letter.cause for letter in letters)
        hours.update({hour: len(lines) for hour, lines in by_hour.items()})
        current = hour_floor(now)
        late.update(h for h in by_hour if h < current)

    def lag(self, timeout: float = 5.0) -> int | None:
        """Messages in the topic not yet committed by this group (None if the cluster does not say)."""
        try:
            metadata = self._consumer.list_topics(self.topic, timeout=timeout)
            partitions = [self._kafka.TopicPartition(self.topic, p) for p in metadata.topics[self.topic].partitions]
            committed = self._consumer.committed(partitions, timeout=timeout)
            total = 0
            for tp in committed:
                low, high = self._consumer.get_watermark_offsets(tp, timeout=timeout)
                total += high - (tp.offset if tp.offset >= 0 else low)
            return total
        except Exception:
            return None

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> KafkaSink:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def drain_to_landing(bootstrap_servers: str, topic: str, group_id: str, zone: LandingZone,
                     dead_letters: DeadLetterStore, reports_dir: Path, max_seconds: float = 60.0,
                     progress: Callable[[DrainReport], None] | None = None,
                     ) -> tuple[DrainReport, Path | None]:
    """One drain of `topic` into `zone`; saves a report in `reports_dir` when closed hours got late
    events (the replayed_partitions_sensor re-materializes them). Returns (report, its path)."""
    with KafkaSink(bootstrap_servers, topic, group_id) as sink:
        report = sink.drain(zone, dead_letters, max_seconds=max_seconds, progress=progress)
    path = report.write(reports_dir) if report.partitions else None
    return report, path
