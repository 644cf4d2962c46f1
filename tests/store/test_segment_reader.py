"""The fast path into raw_events (`store.segment_reader`): canonical segments read by DuckDB's own reader load
exactly what the line-by-line path loads, and a file with anything the contract refuses goes to that path whole,
so its bad lines still become dead letters naming their file and line."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.store.landing_files import CANONICAL, FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.support.factories import burst
from tests.support.trace_documents import START_NS, checkout_trace

HOUR = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def zone(tmp_path):
    """An hour in three canonical segments: requests and errors, a trace with its spans, and a resent copy."""
    zone = FileLandingZone(tmp_path / "landing", "jsonl")
    requests = burst(HOUR + timedelta(minutes=1), 50, 400, service="orders", route="/orders/{id}")
    errors = burst(HOUR + timedelta(minutes=20), 5, 60, service="payments", route="/pay", error_code="PG_TIMEOUT",
                   message="card processor timed out after 5000 ms", **{"peer.service": "acme-psp"})
    traced = parse_trace_document(checkout_trace()).events
    zone.write_lines(HOUR, [e.to_json() for e in requests + traced])
    zone.write_lines(HOUR, [e.to_json() for e in errors])
    zone.write_lines(HOUR, [e.to_json() for e in errors[:10]])  # a batch sent twice
    return zone


def _load(zone, tmp_path, name, fast):
    con = connect(tmp_path / f"{name}.duckdb")
    report = load_hour(con, zone.read_hour(HOUR, canonical_as_files=fast))
    return con, report


def _rows(con, table):
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_canonical_segments_load_the_same_rows_as_the_exact_path(zone, tmp_path):
    assert all(p.name.endswith(CANONICAL) for p in zone.segments(HOUR))
    exact, by_lines = _load(zone, tmp_path, "exact", fast=False)
    fast, by_files = _load(zone, tmp_path, "fast", fast=True)
    try:
        assert by_lines.fast_lines == 0 and by_files.fast_lines == by_files.lines == by_lines.lines == 471
        for report in (by_lines, by_files):
            assert (report.loaded, report.duplicates, report.dead_lettered, report.spans) == (461, 10, 0, 5)
            assert report.accounted()
        assert _rows(fast, "raw_events") == _rows(exact, "raw_events")
        assert _rows(fast, "spans") == _rows(exact, "spans")
        attributes = orjson.loads(fast.execute("SELECT attributes FROM raw_events WHERE route = '/pay' LIMIT 1"
                                               ).fetchone()[0])
        assert attributes["peer.service"] == "acme-psp"
    finally:
        exact.close()
        fast.close()


def _append(path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _event_line(**changes) -> str:
    event = {"event_id": "hand-1", "timestamp": (HOUR + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
             "service": "orders", "route": "/orders/{id}", "duration_ms": 3.0, "level": "info", "sample_rate": 1,
             "attributes": {}}
    return orjson.dumps(event | changes).decode()


@pytest.mark.parametrize("bad, cause", [
    (_event_line(level="loud"), "validation:level"),
    (_event_line(status="abc"), "validation:status"),
    (_event_line(timestamp=(HOUR + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")), "validation:timestamp"),
    ('{"event_id": "torn", "timestamp": "2025', "torn_line"),
])
def test_a_file_with_a_line_the_contract_refuses_takes_the_exact_path_whole(zone, tmp_path, bad, cause):
    first = zone.segments(HOUR)[0]
    lines_before = len(first.read_text().splitlines())
    _append(first, bad + ("\n" if cause != "torn_line" else ""))
    con, report = _load(zone, tmp_path, "w", fast=True)
    try:
        assert report.lines == 472 and report.accounted()
        assert report.fast_lines == 471 - lines_before  # the other two files only
        (letter,) = report.dead_letters
        assert letter.cause == cause and letter.source == f"{first}:{lines_before + 1}"
        assert report.loaded == 461 and report.spans == 5  # the file's good lines are all loaded
    finally:
        con.close()


def test_a_file_not_named_canonical_is_read_line_by_line_and_its_aliases_kept(zone, tmp_path):
    """The reader ignores keys it was not asked for: a hand-placed file with a nested error object would lose
    its error code there. It is not canonical, so the contract reads it (and rewrites it canonical)."""
    hand = zone.hour_dir(HOUR) / "hand-placed.jsonl"
    hand.write_text(_event_line(event_id="hand-2", level="error", error={"code": "E42", "message": "boom"}) + "\n")
    con, report = _load(zone, tmp_path, "w", fast=True)
    try:
        assert report.fast_lines == 471 and report.lines == 472 and report.loaded == 462
        assert con.execute("SELECT error_code, error_message FROM raw_events WHERE event_id = 'hand-2'"
                           ).fetchone() == ("E42", "boom")
    finally:
        con.close()


def test_an_unreadable_file_among_readable_ones_is_found_and_read_line_by_line(zone, tmp_path):
    second = zone.segments(HOUR)[1]
    lines_before = len(second.read_text().splitlines())
    _append(second, "not json at all\n")
    con, report = _load(zone, tmp_path, "w", fast=True)
    try:
        assert report.accounted() and report.loaded == 461
        (letter,) = report.dead_letters
        assert letter.cause == "invalid_json" and letter.source.startswith(f"{second}:")
        assert report.fast_lines == 471 - lines_before
    finally:
        con.close()
