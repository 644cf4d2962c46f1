"""Getting events onto a Kafka topic through the emitter and reading back what the sink landed: shared by
the Kafka sink tests and the Dagster drain-job test (both against librdkafka's mock cluster)."""
from __future__ import annotations

import json
from pathlib import Path

from logintel.ingest import Emitter, EmitterConfig
from tests.support.landing import landed_lines


def emit_to_kafka(tmp_path: Path, brokers: str, topic: str, events) -> dict:
    """Emit `events` with Kafka as the only transport; fails unless every one was delivered to it."""
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


def landed_ids(root: Path) -> list[str]:
    """The event ids of every line of every landing file under `root`, duplicates included."""
    return [json.loads(line)["event_id"] for line in landed_lines(root)]
