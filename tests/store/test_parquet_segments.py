"""Columnar landing segments: canonical lines land as raw_events' own columns and read back as the same lines, load
into the same rows as JSON segments do, and a segment that is not what it claims is handled per file, never lost."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from logintel.events import WideEvent
from logintel.store import parquet_segments, segment_adoption
from logintel.store.landing_files import FileLandingZone
from logintel.store.schema import TABLES
from logintel.store.warehouse import connect, load_hour

HOUR = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)
ATTRIBUTES_AT = parquet_segments.SCHEMA.names.index("attributes")


def _events() -> list[WideEvent]:
    """Events whose text a naive columnar writer would get wrong."""
    odd = {
        "attributes": {"attributes": 1},  # the key's own name, nested
        "quote": 'a "quoted" ,"attributes": value',  # the key's text inside a string
        "nested": {"deep": [1, 2.5, None, {"x": "ü"}]},
        "emoji": "🙂 \u2028 line\nbreak",
        "big": 2 ** 70,  # written as its digits, as every canonical writer does
        "float": 1e-7,
    }
    events = []
    for i in range(40):
        events.append(WideEvent(
            event_id=f"e-{i}", timestamp=HOUR + timedelta(seconds=i, microseconds=i * 7), service="orders",
            route="/checkout" if i % 2 else "/cart", duration_ms=float(i) + 0.25, level="error" if i % 5 == 0 else "info",
            method="POST", status=None if i % 7 == 0 else 200 + i, error_code="E42" if i % 5 == 0 else None,
            error_message='failed: ,"attributes":{}' if i % 5 == 0 else None, trace_id=f"t{i}",
            user_agent="Mozilla/5.0 ☃", sample_rate=1 + i % 3, attributes=odd if i % 3 == 0 else {"n": i}))
    return events


def test_canonical_lines_land_as_columns_and_read_back_byte_for_byte(tmp_path):
    events = _events()
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(events)
    (segment,) = zone.segments(HOUR)
    assert segment.name.endswith(".canonical.parquet")
    schema = pq.read_schema(segment).remove_metadata()
    assert schema.equals(parquet_segments.SCHEMA)
    # the file holds raw_events' own columns, in the DDL's order
    con = duckdb.connect()
    con.execute(TABLES["raw_events"])
    assert schema.names == [row[0] for row in con.execute("DESCRIBE raw_events").fetchall()]
    batch = zone.read_hour(HOUR)
    assert batch.lines == [event.to_json() for event in events]
    assert batch.sources[3] == f"{segment}:4"


def test_lines_not_in_canonical_form_land_as_json_lines(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    # attributes not last: another writer's order; the columnar form cannot slice the object out
    line = '{"event_id":"x","attributes":{},"timestamp":"2026-05-04T10:00:00.000000Z","service":"s","route":"/",' \
           '"duration_ms":1.0,"level":"info"}'
    with pytest.raises(parquet_segments.SegmentFormatError):
        parquet_segments.columns([line], HOUR)
    path = zone.write_lines(HOUR, [line])
    assert path.name.endswith(".canonical.jsonl") and zone.read_hour(HOUR).lines == [line]
    # a lone surrogate is no UTF-8: Arrow would store its bytes and no reader could read the file back (the
    # canonical encoder writes U+FFFD for one, so such a line comes only from a writer of its own)
    lone = WideEvent(event_id="s", timestamp=HOUR, service="orders", route="/", duration_ms=1.0,
                     level="info").to_json().replace("orders", "orders\ud800")
    with pytest.raises(parquet_segments.SegmentFormatError, match="surrogate"):
        parquet_segments.columns([lone], HOUR)


def test_a_json_zone_and_a_columnar_zone_load_the_same_rows_by_either_path(tmp_path):
    events = _events()
    json_zone, columnar_zone = FileLandingZone(tmp_path / "j", "jsonl"), FileLandingZone(tmp_path / "p", "parquet")
    json_zone.write(events)
    columnar_zone.write(events)
    assert json_zone.segments(HOUR)[0].name.endswith(".jsonl")
    loads = {}
    for name, zone, fast in (("json", json_zone, True), ("columnar", columnar_zone, True), ("exact", columnar_zone, False)):
        con = connect(tmp_path / f"{name}.duckdb")
        report = load_hour(con, zone.read_hour(HOUR, canonical_as_files=fast))
        assert report.loaded == len(events) and report.accounted() and not report.dead_letters
        assert report.fast_lines == (len(events) if fast else 0)
        loads[name] = con.execute("SELECT * FROM raw_events ORDER BY event_id").fetchall()
        con.close()
    # the same values; a columnar segment keeps the attributes' text as its writer spelled it, where DuckDB's JSON
    # reader re-spells numbers (1e-07 as 1e-7): the attributes are compared as JSON values
    at = ATTRIBUTES_AT

    def values(rows):
        return [row[:at] + (json.loads(row[at]),) + row[at + 1:] for row in rows]
    assert values(loads["columnar"]) == values(loads["json"]) == values(loads["exact"])
    assert any(row[at] != json_row[at] for row, json_row in zip(loads["columnar"], loads["json"]))  # as said above


def _hand_written(path, rows: list[dict]) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=parquet_segments.SCHEMA), path)


def test_a_segment_with_a_bad_row_goes_to_the_exact_path_and_only_that_row_is_a_dead_letter(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events()[:10])
    good = pq.read_table(zone.segments(HOUR)[0]).to_pylist()
    bad = [dict(row) for row in good[:3]]
    bad[1]["level"] = "loud"  # no such level
    for row in bad:
        row["event_id"] += "-hand"
    _hand_written(zone.hour_dir(HOUR) / "zz-hand.canonical.parquet", bad)
    con = connect(tmp_path / "w.duckdb")
    report = load_hour(con, zone.read_hour(HOUR, canonical_as_files=True))
    assert report.loaded == 12 and report.fast_lines == 10 and report.accounted()
    (letter,) = report.dead_letters
    assert letter.cause == "validation:level" and letter.source.endswith("zz-hand.canonical.parquet:2")


def test_an_unreadable_or_foreign_columnar_segment_is_one_dead_letter_naming_it_and_its_neighbours_load(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events()[:10])
    folder = zone.hour_dir(HOUR)
    (folder / "torn.canonical.parquet").write_bytes(b"PAR1 not really")
    pq.write_table(pa.table({"message": ["hello"]}), folder / "foreign.canonical.parquet")
    con = connect(tmp_path / "w.duckdb")
    for fast in (True, False):
        report = load_hour(con, zone.read_hour(HOUR, canonical_as_files=fast))
        assert report.loaded == 10 and report.accounted()
        assert sorted((d.cause, d.source.rsplit("/", 1)[-1]) for d in report.dead_letters) == [
            ("unreadable_segment", "foreign.canonical.parquet"), ("unreadable_segment", "torn.canonical.parquet")]
        assert all("kept in the landing zone" in d.reason for d in report.dead_letters)
    assert (folder / "torn.canonical.parquet").exists()  # nothing is deleted


def test_the_setting_picks_the_writers_layout_and_refuses_another(tmp_path):
    from logintel.config import load_settings
    from logintel.store.landing_zones import open_landing_zone
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_LANDING_SEGMENTS": "jsonl"})
    assert open_landing_zone(settings).segment_format == "jsonl"
    default = open_landing_zone(load_settings({"LOGINTEL_HOME": str(tmp_path)}))
    assert default.segment_format == "auto"
    # auto: columns for a segment the lake would take whole, JSON lines for a receiver's small flush
    assert default.columnar(segment_adoption.MIN_ROWS) and not default.columnar(2048) and not default.columnar(0)
    with pytest.raises(ValueError, match="LOGINTEL_LANDING_SEGMENTS"):
        load_settings({"LOGINTEL_HOME": str(tmp_path), "LOGINTEL_LANDING_SEGMENTS": "csv"})
