"""The files transport's sealer: an hour is sealed when its small segments make a whole sealed segment and again once
it has closed and gone quiet; a failed seal is retried and loses nothing; the receiver lands small flushes, seals them
beside its sends, and says so on /metrics."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from logintel.events import WideEvent
from logintel.ingest.transports.disk import FileTransport
from logintel.ingest.buffer import Item
from logintel.ingest.transports.sealer import RETRY_S, Sealer
from logintel.store import segment_sealing
from logintel.store.segment_sealing import SEALED_AWAY_GRACE_S, holds_sealed_away
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_landed
from tests.support.receiver import serving

HOUR = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)


class Clock:
    def __init__(self, at: datetime):
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def _items(prefix: str, n: int, hour: datetime = HOUR) -> list[Item]:
    return [Item.of(WideEvent(event_id=f"{prefix}-{i}", timestamp=hour + timedelta(seconds=i), service="orders",
                              route="/checkout", duration_ms=2.0, level="info", status=200, attributes={"i": i}))
            for i in range(n)]


def _transport(tmp_path, clock: Clock, rows: int = 500) -> FileTransport:
    transport = FileTransport(tmp_path / "landing", seal=True)
    transport.sealer = Sealer(transport.zone, rows=rows, quiet_s=60, clock=clock, background=False)
    return transport


def test_an_open_hour_is_sealed_each_time_its_small_segments_make_a_whole_one(tmp_path):
    clock = Clock(HOUR + timedelta(minutes=20))
    transport = _transport(tmp_path, clock)
    for part in range(4):
        transport.send(_items(f"a{part}", 100))
    assert transport.sealer.due() == []  # 400 rows: not a whole sealed segment yet
    transport.send(_items("a4", 150))
    assert transport.sealer.due() == [(HOUR, False)]
    assert transport.sealer.seal_due() == 1
    zone = transport.zone
    names = [p.name for p in zone.segments(HOUR)]
    # segments landed in one second list in any order: four of them sealed (400 or 450 rows), the fifth waits
    assert len(names) == 2 and any(name.endswith("-sealed.canonical.parquet") for name in names)
    assert transport.sealer.describe()["events"] in (400, 450) and transport.sealer.due() == []
    assert len(zone.read_hour(HOUR).lines) == 550
    transport.close()


def test_a_closed_hour_is_sealed_once_quiet_and_again_after_late_events(tmp_path):
    clock = Clock(HOUR + timedelta(minutes=59, seconds=50))
    transport = _transport(tmp_path, clock)
    transport.send(_items("a", 120))
    clock.now += 30  # closed, but something landed 30 s ago
    assert transport.sealer.due() == []
    clock.now += 60
    assert transport.sealer.due() == [(HOUR, True)]
    assert transport.sealer.seal_due() == 1 and transport.sealer.describe()["hours_pending"] == 0
    transport.send(_items("late", 5))  # late events: small segments again, sealed with the tail once quiet
    clock.now += 61
    assert transport.sealer.seal_due() == 1
    (segment,) = transport.zone.segments(HOUR)
    assert len(transport.zone.read_hour(HOUR).lines) == 125 and segment.name.endswith("-sealed.canonical.parquet")
    transport.close()


def test_a_failed_seal_keeps_the_segments_and_is_retried(tmp_path, monkeypatch):
    clock = Clock(HOUR + timedelta(hours=2))
    transport = _transport(tmp_path, clock)
    transport.send(_items("a", 50))
    clock.now += 61

    def disk_full(path, table):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(segment_sealing.parquet_segments, "write", disk_full)
    assert transport.sealer.seal_due() == 0
    stats = transport.sealer.describe()
    assert stats["failures"] == 1 and "No space left" in stats["last_error"] and stats["hours_pending"] == 1
    assert len(transport.zone.read_hour(HOUR).lines) == 50
    monkeypatch.undo()
    assert transport.sealer.due() == []  # waits RETRY_S before trying again
    clock.now += RETRY_S
    assert transport.sealer.seal_due() == 1 and len(transport.zone.read_hour(HOUR).lines) == 50
    transport.close()


def test_the_thread_seals_without_being_asked_and_stops_on_close(tmp_path):
    transport = FileTransport(tmp_path / "landing", seal=True)
    transport.sealer = Sealer(transport.zone, rows=100, poll_s=0.05)
    transport.send(_items("a", 60, HOUR))
    transport.send(_items("b", 60, HOUR))  # 120 rows of an old hour: a whole segment's worth
    deadline = time.monotonic() + 20
    while transport.sealer.describe()["segments_written"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert transport.sealer.describe()["segments_written"] >= 1
    transport.close()
    assert not transport.sealer._thread.is_alive()
    assert sorted(transport.zone.read_hour(HOUR).lines) == sorted(i.line for i in _items("a", 60) + _items("b", 60))


def test_jsonl_segments_are_never_sealed_and_the_sdk_default_does_not_seal(tmp_path):
    assert FileTransport(tmp_path / "a", segments="jsonl", seal=True).sealer is None
    assert FileTransport(tmp_path / "b").sealer is None


def test_the_receiver_seals_its_flushes_and_reports_it_on_metrics(tmp_path):
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    with serving(tmp_path) as rx:
        for batch in range(5):
            lines = [{"event_id": f"r{batch}-{i}", "timestamp": (hour + timedelta(seconds=i)).isoformat(),
                      "service": "orders", "route": "/checkout", "level": "info", "duration_ms": 3.5}
                     for i in range(40)]
            status, body = rx.post_events(lines)
            assert status == 200 and body["accepted"] == 40
        zone = FileLandingZone(tmp_path / "landing")
        assert len(zone.segments(hour)) == 5 and all(p.name.endswith(".canonical.jsonl") for p in zone.segments(hour))
        (sealer,) = [t.sealer for t in rx.running.emitter._transports if getattr(t, "sealer", None)]
        sealer.quiet_s = 0  # the hour closed two hours ago: as if a minute had passed since these landed
        sealer.seal_due()  # (its thread, waking meanwhile, may be the one that seals: the hour's lock takes turns)
        assert sealer.describe()["segments_written"] == 1
        _, _, metrics = rx.get("/metrics")
        text = metrics.decode()
        assert 'logintel_receiver_sealed_total{what="events"} 200.0' in text
        assert 'logintel_receiver_sealed_total{what="segments_replaced"} 5.0' in text
        assert json.loads(json.dumps(rx.running.emitter.stats()["sealing"]))["failures"] == 0
    (segment,) = zone.segments(hour)
    assert segment.name.endswith("-sealed.canonical.parquet")
    con = connect(tmp_path / "w.duckdb")
    report = load_landed(con, zone, hour)
    assert report.loaded == 200 and report.fast_lines == 200 and report.accounted()
    assert (report.segment_files, report.columnar_files) == (1, 1)


def test_logintel_seal_seals_closed_hours_a_writer_left_small_and_leaves_the_open_one(tmp_path, monkeypatch, capsys):
    from logintel.cli import main
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path))
    monkeypatch.delenv("LOGINTEL_POSTGRES_URL", raising=False)
    now = datetime.now(timezone.utc)
    old, current = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3), now
    transport = FileTransport(tmp_path / "landing")  # the SDK's default: no sealer
    for part in range(3):
        transport.send(_items(f"old{part}", 30, old) + _items(f"now{part}", 1, current))
    assert main(["seal"]) == 0
    out = capsys.readouterr().out
    assert "90 events of 3 small segments sealed into 1 columnar ones, in 1 hour(s)" in out
    zone = transport.zone
    (sealed,) = zone.segments(old)
    assert sealed.name.endswith("-sealed.canonical.parquet") and len(zone.read_hour(old).lines) == 90
    assert len(zone.segments(current)) == 3  # the open hour is the writer's
    assert main(["seal"]) == 0 and "0 events of 0 small segments" in capsys.readouterr().out
    monkeypatch.setenv("LOGINTEL_LANDING_SEGMENTS", "jsonl")
    assert main(["seal"]) == 2 and "asks for no columnar segments" in capsys.readouterr().err


def test_sealed_sources_are_deleted_after_their_grace_though_the_hour_is_never_sealed_again(tmp_path):
    now = datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    clock = Clock(now)
    transport = _transport(tmp_path, clock)
    transport.send(_items("a", 50, hour))
    transport.send(_items("b", 50, hour))
    clock.now += 61
    assert transport.sealer.seal_due() == 1
    folder = transport.zone.hour_dir(hour)
    assert holds_sealed_away(folder) and transport.sealer.sweep_due() == 0  # kept for readers that listed them
    clock.now += SEALED_AWAY_GRACE_S
    assert transport.sealer.sweep_due() == 2 and not holds_sealed_away(folder)
    assert len(transport.zone.read_hour(hour).lines) == 100
    # a process that stopped within the grace leaves them: the next one finds them and deletes them in time
    transport.send(_items("c", 50, hour))
    clock.now += 61
    assert transport.sealer.seal_due() == 1 and holds_sealed_away(folder)
    transport.close()
    restarted = Sealer(transport.zone, rows=500, clock=clock, background=False)
    assert restarted.schedule_leftovers() == 1 and restarted.sweep_due() == 0
    clock.now += SEALED_AWAY_GRACE_S
    assert restarted.sweep_due() == 2 and not holds_sealed_away(folder)  # the earlier sealed segment and c's
    assert len(transport.zone.read_hour(hour).lines) == 150
