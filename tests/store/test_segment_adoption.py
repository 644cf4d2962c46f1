"""The lake commits a columnar landing segment that passes whole as a data file of its own, and the hour's rows are
exactly what the DuckDB warehouse stores from the same events; a duplicate, a span event or a bad row makes the
load copy rows as before, and the lake never depends on the landing zone keeping its files."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from logintel.config import load_settings
from logintel.events import WideEvent
from logintel.store import parquet_segments, segment_adoption
from logintel.store.lake import open_lake
from logintel.store.lake.hour_load import HOUR_LOAD_WRITES
from logintel.store.lake.hour_runs import hour_session
from logintel.store.lake.mount import mount
from logintel.store.lake.partitions import data_files
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour

HOUR = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def small_files_adopted(monkeypatch):
    """Segments of a few rows stand for big ones here (the floor is a cost rule, tested on its own below)."""
    monkeypatch.setattr(segment_adoption, "MIN_ROWS", 5)


def _events(prefix: str, n: int, start: int = 0) -> list[WideEvent]:
    return [WideEvent(event_id=f"{prefix}-{i}", timestamp=HOUR + timedelta(seconds=i), service="orders",
                      route="/checkout", duration_ms=1.5 + i, level="error" if i % 4 == 0 else "info",
                      status=500 if i % 4 == 0 else 200, trace_id=f"t{i}", attributes={"i": i, "s": "é" * (i % 3)})
            for i in range(start, start + n)]


def _lake(tmp_path):
    settings = load_settings({"LOGINTEL_HOME": str(tmp_path / "home"), "LOGINTEL_TABLE_FORMAT": "iceberg"})
    return open_lake(settings.lake_location)


def _load_lake(lake, zone):
    with hour_session(lake, HOUR, HOUR_LOAD_WRITES) as con:
        report = load_hour(con, zone.read_hour(HOUR, canonical_as_files=True))
    return report


def _lake_rows(lake):
    con = duckdb.connect()
    mount(con, lake)
    return con.execute("SELECT * FROM raw_events ORDER BY event_id").fetchall()


def _warehouse_rows(tmp_path, zone):
    con = connect(tmp_path / "warehouse.duckdb")
    report = load_hour(con, zone.read_hour(HOUR))  # the exact path, line by line
    rows = con.execute("SELECT * FROM raw_events ORDER BY event_id").fetchall()
    con.close()
    return rows, report


def test_segments_that_pass_whole_are_committed_as_they_are_and_hold_the_warehouses_rows(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    for part in range(3):
        zone.write(_events(f"p{part}", 20))
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.adopted_lines == 60 and report.loaded == 60 and report.accounted() and report.fast_lines == 0
    files, _ = data_files(lake, "raw_events")
    assert len(files) == 3 and all(f.endswith(".canonical.parquet") for f in files)
    expected, _ = _warehouse_rows(tmp_path, zone)
    assert _lake_rows(lake) == expected
    # the lake keeps its own copies: the landing zone may drop its files (retention) and the hour stays whole
    for segment in zone.segments(HOUR):
        segment.unlink()
    assert _lake_rows(lake) == expected
    # loading the hour again replaces it, never adds to it
    for part in range(3):
        zone.write(_events(f"p{part}", 20))
    assert _load_lake(lake, zone).adopted_lines == 60 and len(_lake_rows(lake)) == 60


def test_a_duplicate_across_segments_makes_the_hour_copy_its_rows_and_keeps_one(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events("a", 20))
    zone.write(_events("a", 5, start=18))  # a resent batch overlapping the first: a-18, a-19 twice
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.adopted_lines == 0 and report.duplicates == 2 and report.loaded == 23 and report.accounted()
    expected, _ = _warehouse_rows(tmp_path, zone)
    assert _lake_rows(lake) == expected and len(expected) == 23


def test_a_bad_row_sends_only_its_segment_to_the_exact_path(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events("good", 10))
    written = zone.write_lines(HOUR, [e.to_json() for e in _events("bad", 4)])
    rows = pq.read_table(written).to_pylist()
    written.unlink()  # replaced by a hand-altered copy below
    rows[2]["duration_ms"] = -5.0  # out of range
    pq.write_table(pa.Table.from_pylist(rows, schema=parquet_segments.SCHEMA),
                   zone.hour_dir(HOUR) / "zz-bad.canonical.parquet")
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.adopted_lines == 10 and report.loaded == 13 and report.accounted()
    assert [d.cause for d in report.dead_letters] == ["validation:duration_ms"]
    expected, _ = _warehouse_rows(tmp_path, zone)
    assert _lake_rows(lake) == expected


def test_an_hour_with_span_events_copies_its_rows(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events("plain", 6))
    zone.write([WideEvent(event_id="span-t1-s1", timestamp=HOUR + timedelta(seconds=3), service="orders",
                          route="/checkout", duration_ms=9.0, level="info", trace_id="t1")])
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.adopted_lines == 0 and report.loaded == 7
    expected, _ = _warehouse_rows(tmp_path, zone)
    assert _lake_rows(lake) == expected


def test_json_segments_and_a_duckdb_warehouse_are_untouched_by_adoption(tmp_path):
    zone = FileLandingZone(tmp_path / "landing", "jsonl")
    zone.write(_events("j", 8))
    lake = _lake(tmp_path)
    assert _load_lake(lake, zone).adopted_lines == 0 and len(_lake_rows(lake)) == 8
    columnar = FileLandingZone(tmp_path / "columnar", "parquet")
    columnar.write(_events("c", 8))
    con = connect(tmp_path / "w.duckdb")  # no hour session: nothing to commit whole files to
    report = load_hour(con, columnar.read_hour(HOUR, canonical_as_files=True))
    assert report.adopted_lines == 0 and report.fast_lines == 8 and report.loaded == 8


def test_segments_below_the_floor_are_copied_into_the_hours_one_file(tmp_path, monkeypatch):
    monkeypatch.setattr(segment_adoption, "MIN_ROWS", 21)
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events("big", 30))
    for part in range(4):
        zone.write(_events(f"small{part}", 20, start=30))
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.adopted_lines == 30 and report.fast_lines == 80 and report.loaded == 110
    files, _ = data_files(lake, "raw_events")
    assert len(files) == 2  # the big segment as it is, and one file the load wrote for the four small ones
    assert pq.read_metadata(files[0].removeprefix("file://")).num_rows + pq.read_metadata(
        files[1].removeprefix("file://")).num_rows == 110
    expected, _ = _warehouse_rows(tmp_path, zone)
    assert _lake_rows(lake) == expected


def test_a_segment_holding_metric_carriers_is_copied_and_its_points_reach_the_lakes_metric_points(tmp_path):
    from logintel.adapters.otlp_metrics import parse_metrics_document
    from tests.adapters.test_otlp_metrics import document, gauge, point
    t0 = int(HOUR.timestamp() * 10**9)
    carriers = parse_metrics_document(document(gauge("k8s.pod.cpu.usage", *[point(t0 + i * 10**9, 0.1 * i)
                                                                            for i in range(8)]))).events
    zone = FileLandingZone(tmp_path / "landing", "parquet")
    zone.write(_events("p0", 20))
    zone.write(carriers + _events("p1", 10))
    lake = _lake(tmp_path)
    report = _load_lake(lake, zone)
    assert report.accounted() and report.metric_carriers == 1 and report.metric_points == 8
    assert report.adopted_lines == 20 and report.loaded == 30  # the segment with the carrier was copied
    con = duckdb.connect()
    mount(con, lake)
    assert con.execute("SELECT count(*), sum(value) FROM metric_points").fetchone() == (8, pytest.approx(2.8))
    assert con.execute("SELECT count(*) FROM raw_events WHERE route = '(metrics)'").fetchone()[0] == 0
