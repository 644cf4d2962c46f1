"""FileLandingZone on real files: round trip, damaged segments become rejects, change watermarks."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from logintel.events import WideEvent, parse_json_line
from logintel.store.landing_files import FileLandingZone

H0 = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
H1 = H0 + timedelta(hours=1)
H2 = H0 + timedelta(hours=2)


def make_event(n: int, hour: datetime) -> WideEvent:
    return WideEvent(event_id=f"evt-{n:06d}", timestamp=hour + timedelta(seconds=n % 3600),
                     service="checkout", route="/orders/{id}", duration_ms=3.0 + n, level="info")


def pause_for_mtime() -> None:
    # The kernel stamps mtimes from a coarse clock (a few ms); separate writes by more than a tick.
    time.sleep(0.05)


@pytest.fixture
def zone(tmp_path):
    return FileLandingZone(tmp_path / "landing", "jsonl")


def test_round_trip_by_hour(zone):
    events = [make_event(i, H1) for i in range(4)] + [make_event(10, H0)]
    assert zone.write(events) == 5
    assert zone.hours() == [H0, H1]
    batch = zone.read_hour(H1)
    assert batch.lines == [e.to_json() for e in events[:4]]
    assert [parse_json_line(line) for line in batch.lines] == events[:4]
    assert batch.sources[0].endswith(".jsonl:1")
    assert batch.rejects == []
    assert zone.read_hour(H2).lines == []
    assert not list(zone.hour_dir(H1).glob(".*.partial"))


def test_torn_last_line_is_a_reject_and_the_rest_is_read(zone):
    good = [make_event(i, H0).to_json() for i in range(3)]
    folder = zone.hour_dir(H0)
    folder.mkdir(parents=True)
    torn = good[2][: len(good[2]) // 2]
    (folder / "crashed.jsonl").write_bytes(("\n".join(good[:2]) + "\n" + torn).encode("utf-8"))

    batch = zone.read_hour(H0)
    assert batch.lines == good[:2]
    [reject] = batch.rejects
    assert reject.cause == "torn_line"
    assert reject.source.endswith("crashed.jsonl:3")
    assert reject.payload == torn.encode("utf-8")
    assert reject.partition == "2026-03-01T10"


def test_complete_last_line_without_newline_is_kept(zone):
    good = [make_event(i, H0).to_json() for i in range(2)]
    folder = zone.hour_dir(H0)
    folder.mkdir(parents=True)
    (folder / "no-final-newline.jsonl").write_text("\n".join(good), encoding="utf-8")
    batch = zone.read_hour(H0)
    assert batch.lines == good and batch.rejects == []


def test_non_utf8_line_is_a_reject_and_the_rest_is_read(zone):
    good = [make_event(i, H0).to_json().encode("utf-8") for i in range(3)]
    bad = b'{"event_id": "latin1", "service": "caf\xe9"}'
    folder = zone.hour_dir(H0)
    folder.mkdir(parents=True)
    (folder / "mixed.jsonl").write_bytes(b"\n".join([good[0], bad, good[1], b"", good[2]]) + b"\n")

    batch = zone.read_hour(H0)
    assert batch.lines == [line.decode("utf-8") for line in good]
    assert [s.rsplit(":", 1)[1] for s in batch.sources] == ["1", "3", "5"]
    [reject] = batch.rejects
    assert reject.cause == "encoding"
    assert reject.source.endswith("mixed.jsonl:2")
    assert reject.payload == bad


def test_partial_segments_are_invisible(zone):
    zone.write([make_event(1, H0)])
    (zone.hour_dir(H0) / ".in-flight.jsonl.partial").write_text(make_event(2, H0).to_json() + "\n")
    assert len(zone.read_hour(H0).lines) == 1


def test_changes_since_progresses_only_with_new_writes(zone):
    empty = zone.changes_since(None)
    assert empty.hours == set()

    zone.write([make_event(1, H0), make_event(2, H1)])
    first = zone.changes_since(empty.watermark)
    assert first.hours == {H0, H1}
    assert zone.changes_since(None).hours == {H0, H1}
    assert zone.changes_since(first.watermark).hours == set()
    assert zone.changes_since(first.watermark).watermark == first.watermark

    pause_for_mtime()
    zone.write([make_event(3, H2)])
    second = zone.changes_since(first.watermark)
    assert second.hours == {H2}
    assert second.watermark != first.watermark

    # no pause: a second segment in the same mtime tick is still seen (by the segment count)
    zone.write([make_event(4, H0)])
    assert zone.changes_since(second.watermark).hours == {H0}


def test_changes_since_sees_a_segment_renamed_in_after_a_newer_one(zone):
    folder = zone.hour_dir(H0)
    folder.mkdir(parents=True)
    in_flight = folder / ".slow.jsonl.partial"
    in_flight.write_text(make_event(1, H0).to_json() + "\n")
    pause_for_mtime()
    zone.write([make_event(2, H1)])
    seen = zone.changes_since(None)
    assert seen.hours == {H1}
    os.replace(in_flight, folder / "slow.jsonl")
    assert zone.changes_since(seen.watermark).hours == {H0}
