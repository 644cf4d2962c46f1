"""The injected landing outage the demo uses: the real emitter, a real file landing zone, real dumps."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from logintel.ingest.emitter_config import EmitterConfig
from logintel.ingest.replay import replay_dumps
from logintel.store.dead_letters import DeadLetterStore
from logintel.simulate.outage import OutageWindow, emit_with_outage
from logintel.store.landing_files import FileLandingZone
from tests.support.factories import burst
from tests.support.landing import landed_lines

START = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def config(tmp_path) -> EmitterConfig:
    return EmitterConfig.from_dict({"transports": [{"kind": "files", "dir": str(tmp_path / "landing")}],
                                    "dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
                                    "batch_size": 100, "flush_interval_s": 0.02,
                                    "backoff_base_s": 0.01, "backoff_cap_s": 0.05})


def landed_ids(root) -> list[str]:
    return [json.loads(line)["event_id"] for line in landed_lines(root)]


def test_events_inside_the_outage_are_dumped_the_rest_delivered_and_replay_completes_the_hours(tmp_path):
    events = burst(START, 120, 3000)
    outage = OutageWindow(START + timedelta(minutes=50), START + timedelta(minutes=70))
    inside = {e.event_id for e in events if outage.covers(e.timestamp)}

    stats = emit_with_outage(events, config(tmp_path), outage)

    assert stats["balanced"] and stats["emitted"] == 3000 and stats["pending"] == 0
    assert stats["dumped"] == len(inside) == 500 and stats["delivered"] == {"files": 2500}
    assert stats["outage_refused_batches"] >= 1
    assert set(landed_ids(tmp_path / "landing")) == {e.event_id for e in events} - inside
    zone = FileLandingZone(tmp_path / "landing")
    report = replay_dumps(tmp_path / "dumps", zone, DeadLetterStore(tmp_path / "dl"), tmp_path / "dumps" / "archive",
                          dump_root=tmp_path / "dumps")
    assert report.replayed == 500 and report.partitions == ["2026-11-20T10", "2026-11-20T11"]
    assert report.by_hour == {"2026-11-20T10": 250, "2026-11-20T11": 250}
    assert sorted(landed_ids(tmp_path / "landing")) == sorted(e.event_id for e in events)


def test_without_an_outage_everything_is_delivered(tmp_path):
    stats = emit_with_outage(burst(START, 10, 400), config(tmp_path), None)
    assert stats["delivered"] == {"files": 400} and stats["dumped"] == 0 and stats["outage_refused_batches"] == 0
