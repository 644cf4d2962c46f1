"""Loading landed lines into raw_events: validation, dead letters with causes, dedupe, replacement."""
import json
from datetime import datetime, timedelta

import pytest

from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.support.factories import event

H = datetime(2026, 11, 23, 10)


def test_bad_lines_become_dead_letters_and_the_rest_loads(con, tmp_path):
    zone = FileLandingZone(tmp_path / "landing")
    good = [event(H + timedelta(minutes=i)) for i in range(20)]
    zone.write(good)
    ts = "2026-11-23T10:30:00.000000Z"
    base = {"event_id": "b", "timestamp": ts, "service": "s", "route": "/r", "duration_ms": 1.0, "level": "info"}
    bad = [
        json.dumps(base | {"event_id": "wrong-type", "duration_ms": "fast"}),
        json.dumps(base | {"event_id": "unknown-level", "level": "loud"}),
        json.dumps(base | {"event_id": "future", "timestamp": "2999-01-01T00:00:00Z"}),
        json.dumps(base | {"event_id": "other-hour", "timestamp": "2026-11-23T12:00:00Z"}),
        json.dumps(base | {"event_id": "huge", "error.message": "x" * 1_000_000}),
        "{not json",
    ]
    folder = zone.hour_dir(H)
    (folder / "other-writer.jsonl").write_bytes(
        ("\n".join(bad) + "\n").encode() + b'{"event_id": "bad-bytes", "service": "\xff"}\n'
        + json.dumps(base | {"event_id": "torn"}).encode()[:40])
    report = load_hour(con, zone.read_hour(H))
    assert report.loaded == 20
    assert report.accounted()
    causes = report.by_cause
    assert causes == {"validation:duration_ms": 1, "validation:level": 1, "validation:timestamp": 2,
                      "validation:error.message": 1, "invalid_json": 1, "encoding": 1, "torn_line": 1}
    reasons = {d.cause: d.reason for d in report.dead_letters}
    assert "expected a number" in reasons["validation:duration_ms"]
    assert "unknown level" in reasons["validation:level"]


def test_duplicates_are_counted_not_loaded_twice(con):
    from logintel.store.landing import HourBatch
    e = event(H + timedelta(minutes=1))
    lines = [e.to_json(), e.to_json(), event(H + timedelta(minutes=2)).to_json()]
    report = load_hour(con, HourBatch(hour=H, lines=lines, sources=["a", "b", "c"]))
    assert (report.loaded, report.duplicates, report.dead_lettered) == (2, 1, 0)


def test_nested_and_offset_forms_are_rescued_in_canonical_form(con):
    from logintel.store.landing import HourBatch
    nested = {"event_id": "n1", "timestamp": "2026-11-23T11:15:00+01:00", "service": "s", "route": "/r",
              "duration_ms": 5, "level": "WARNING", "error": {"code": "E1", "message": "boom"}, "region": "eu"}
    report = load_hour(con, HourBatch(hour=H, lines=[json.dumps(nested)], sources=["x"]))
    assert report.loaded == 1
    row = con.execute("SELECT ts, level, error_code, error_message, attributes->>'region' FROM raw_events").fetchone()
    assert row == (datetime(2026, 11, 23, 10, 15), "warn", "E1", "boom", "eu")


def test_reloading_a_partition_replaces_it(con):
    from logintel.store.landing import HourBatch
    lines = [event(H + timedelta(minutes=i)).to_json() for i in range(5)]
    load_hour(con, HourBatch(hour=H, lines=lines, sources=["s"] * 5))
    load_hour(con, HourBatch(hour=H, lines=lines[:3], sources=["s"] * 3))
    assert con.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 3


def test_empty_hour_loads_nothing(con):
    from logintel.store.landing import HourBatch
    report = load_hour(con, HourBatch(hour=H))
    assert report.loaded == 0 and report.accounted()
