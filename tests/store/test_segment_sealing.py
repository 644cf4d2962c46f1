"""Sealing an hour's small landed segments into columnar ones: every event read once before, during and after, a crash
at any step leaves the hour whole, a reader racing the seal reads the hour again, and the lake commits what was sealed
as it is with the rows the warehouse stores from the unsealed hour."""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from logintel.config import load_settings
from logintel.events import WideEvent
from logintel.store import parquet_segments, segment_adoption, segment_sealing
from logintel.store.lake import open_lake
from logintel.store.lake.hour_load import HOUR_LOAD_WRITES
from logintel.store.lake.hour_runs import hour_session
from logintel.store.lake.mount import mount
from logintel.store import landing_files
from logintel.store.landing import LandingUnavailable
from logintel.store.landing_files import FileLandingZone
from logintel.store.segment_sealing import recover, seal_hour
from logintel.store.warehouse import connect, load_hour, load_landed

HOUR = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)


def _events(prefix: str, n: int) -> list[WideEvent]:
    return [WideEvent(event_id=f"{prefix}-{i}", timestamp=HOUR + timedelta(seconds=i % 3600, microseconds=i),
                      service="orders" if i % 3 else "payments", route="/checkout", duration_ms=1.5 + i % 50,
                      level="error" if i % 4 == 0 else "info", status=500 if i % 4 == 0 else 200, trace_id=f"t{i}",
                      attributes={"i": i, "s": "é ,\"attributes\":" * (i % 3), "nested": {"k": [i, None]}})
            for i in range(n)]


def _landed(tmp_path, segments: int = 12, size: int = 100) -> tuple[FileLandingZone, list[str]]:
    """An hour landed as the receiver lands it: many small JSON segments."""
    zone = FileLandingZone(tmp_path / "landing")
    for part in range(segments):
        zone.write_lines(HOUR, [event.to_json() for event in _events(f"s{part:02d}", size)])
    return zone, zone.read_hour(HOUR).lines


def test_a_closed_hour_is_sealed_into_columnar_segments_read_back_as_the_same_lines(tmp_path):
    zone, before = _landed(tmp_path)
    sources = [p.name for p in zone.segments(HOUR)]
    report = seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=500)
    assert (report.sources, report.rows, len(report.sealed), report.waiting) == (12, 1200, 3, 0)
    segments = zone.segments(HOUR)
    assert segments == sorted(report.sealed) and all(p.name.endswith("-sealed.canonical.parquet") for p in segments)
    assert [parquet_segments.canonical_lines(p) for p in segments] and zone.read_hour(HOUR).lines == before
    # no partial file, no manifest; the sources stay a while under hidden names, for readers that listed them
    folder = zone.hour_dir(HOUR)
    hidden = sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    assert hidden == sorted([".seal.lock", ".seal.generation"] + [f".{name}.sealed" for name in sources])
    assert (folder / ".seal.generation").read_text() == "3"  # moved on once a seal
    assert segment_sealing.sweep(folder) == 0  # within the grace
    assert segment_sealing.sweep(folder, now=time.time() + segment_sealing.SEALED_AWAY_GRACE_S) == 12
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".seal.generation", ".seal.lock"]
    assert zone.read_hour(HOUR).lines == before


def test_an_open_hour_seals_only_whole_segments_and_the_rest_waits(tmp_path):
    zone, before = _landed(tmp_path)
    report = seal_hour(zone.hour_dir(HOUR), HOUR, final=False, max_rows=500)
    # groups of 5 segments (500 rows) are whole; the last 2 segments wait for more
    assert (report.sources, report.rows, len(report.sealed), report.waiting) == (10, 1000, 2, 200)
    assert len(zone.segments(HOUR)) == 4 and zone.read_hour(HOUR).lines == before
    assert seal_hour(zone.hour_dir(HOUR), HOUR, final=False, max_rows=500).sealed == []  # still not a whole one
    last = seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=500)
    assert (last.sources, last.rows) == (2, 200) and zone.read_hour(HOUR).lines == before


def test_a_small_sealed_segment_is_sealed_again_with_late_events_and_big_ones_are_left(tmp_path, monkeypatch):
    monkeypatch.setattr(segment_adoption, "MIN_ROWS", 300)
    zone, _ = _landed(tmp_path, segments=4)
    seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=300)   # 300 rows, then a tail of 100
    zone.write_lines(HOUR, [event.to_json() for event in _events("late", 10)])
    expected = zone.read_hour(HOUR).lines
    report = seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=300)
    assert (report.sources, report.rows) == (2, 110)  # the 100-row tail and the late segment; the 300 stay
    assert sorted(zone.read_hour(HOUR).lines) == sorted(expected) and len(zone.segments(HOUR)) == 2


def test_segments_a_seal_cannot_hold_are_kept_as_they_are(tmp_path):
    zone, _ = _landed(tmp_path, segments=2)
    folder = zone.hour_dir(HOUR)
    torn = folder / "20260504T100000-torn.canonical.jsonl"
    torn.write_text(_events("torn", 1)[0].to_json() + '\n{"event_id": "half')
    hand = folder / "by-hand.jsonl"  # not a canonical writer's: never touched
    hand.write_text(json.dumps({"event_id": "h1", "timestamp": "2026-05-04T10:00:00Z", "service": "x",
                                "route": "/", "level": "info"}) + "\n")
    odd = folder / "20260504T100001-odd.canonical.jsonl"  # not canonical after all: attributes not the last key
    odd.write_text('{"event_id":"o1","attributes":{},"timestamp":"2026-05-04T10:00:00.000000Z"}\n')
    before = zone.read_hour(HOUR)
    report = seal_hour(folder, HOUR, final=True)
    assert report.sources == 2 and {k.split(":")[0] for k in report.kept} == {torn.name, odd.name}
    assert torn.exists() and hand.exists() and odd.exists()
    after = zone.read_hour(HOUR)
    assert sorted(after.lines) == sorted(before.lines) and len(after.rejects) == len(before.rejects) == 1


def test_a_crash_before_the_rename_leaves_the_sources_and_the_next_seal_cleans_up(tmp_path):
    zone, before = _landed(tmp_path, segments=3)
    folder = zone.hour_dir(HOUR)
    sources = sorted(p.name for p in zone.segments(HOUR))
    name = "20260504T110000-crash-sealed.canonical.parquet"
    (folder / f".{name}.partial").write_bytes(b"PAR1 half a file")
    (folder / f".{name}.sources").write_text(json.dumps(sources))
    assert zone.read_hour(HOUR).lines == before  # the partial file is hidden, the manifest names no visible segment
    assert recover(folder) == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(sources)
    assert zone.read_hour(HOUR).lines == before


def test_a_crash_after_the_rename_is_read_once_and_finished_by_the_next_seal(tmp_path):
    zone, before = _landed(tmp_path, segments=3)
    folder = zone.hour_dir(HOUR)
    sources = sorted(zone.segments(HOUR))
    name = "20260504T110000-crash-sealed.canonical.parquet"
    parquet_segments.write(folder / name, parquet_segments.columns(before, HOUR))
    (folder / f".{name}.sources").write_text(json.dumps([p.name for p in sources]))
    # the sources are still there, but a reader skips them: each event is read once
    assert zone.segments(HOUR) == [folder / name]
    assert zone.read_hour(HOUR).lines == before
    con = connect(tmp_path / "w.duckdb")
    report = load_landed(con, zone, HOUR)
    assert report.loaded == len(before) and report.duplicates == 0
    seal_hour(folder, HOUR, final=True)  # recovers first: the sources go, the sealed segment stays
    assert not any(p.exists() for p in sources) and zone.read_hour(HOUR).lines == before


def _midway_through_a_seal(zone: FileLandingZone, before: list[str]) -> tuple[Path, str]:
    """The hour folder as a seal leaves it between its rename into view and its end: the sealed segment in view, its
    sources out of view, the manifest still there, the generation not yet moved."""
    folder = zone.hour_dir(HOUR)
    sources = sorted(p.name for p in zone.segments(HOUR))
    name = "20260504T100000-midway-sealed.canonical.parquet"
    parquet_segments.write(folder / f".{name}.partial", parquet_segments.columns(before, HOUR))
    (folder / f".{name}.sources").write_text(json.dumps(sources))
    os.replace(folder / f".{name}.partial", folder / name)
    for source in sources:
        os.replace(folder / source, folder / landing_files.sealed_away_name(source))
    return folder, name


class _StaleScan:
    """os.scandir whose first scans of the hour folder return `names` (what a scan that raced a seal's renames may
    return), having first run `meanwhile` (the rest of the seal, done while it scanned); later scans are real."""

    def __init__(self, folder: Path, names: set[str], meanwhile=lambda: None, stale_scans: int = 1):
        self.folder, self.names, self.meanwhile, self.stale_scans = folder, names, meanwhile, stale_scans
        self.scans = 0

    def __call__(self, path):
        self.scans += 1
        if Path(path) == self.folder and self.scans <= self.stale_scans:
            self.meanwhile()
            return [_Entry(self.folder, name) for name in self.names]
        return _real_scandir(path)


class _Entry:
    def __init__(self, folder: Path, name: str):
        self.name, self.path = name, str(folder / name)


_real_scandir = os.scandir


@pytest.mark.parametrize("finished_while_scanning", [False, True])
def test_a_scan_that_missed_both_copies_of_a_sealed_group_is_taken_again(tmp_path, monkeypatch,
                                                                          finished_while_scanning):
    zone, before = _landed(tmp_path, segments=3)
    folder, name = _midway_through_a_seal(zone, before)
    # the scan passed the sealed segment's place before its rename and each source's place after it
    stale = {entry.name for entry in os.scandir(folder)} - {name}

    def finish():  # the seal's last steps, as segment_sealing._seal takes them
        landing_files.bump_seal_generation(folder)
        (folder / f".{name}.sources").unlink()

    scandir = _StaleScan(folder, stale, finish if finished_while_scanning else (lambda: None))
    monkeypatch.setattr(landing_files.os, "scandir", scandir)
    # the manifest still in view with its sealed segment, or the generation moved: either way listed again
    assert zone.segments(HOUR) == [folder / name]
    assert zone.read_hour(HOUR).lines == before


def test_a_scan_holding_a_source_and_its_sealed_segment_without_the_manifest_is_taken_again(tmp_path, monkeypatch):
    zone, before = _landed(tmp_path, segments=3)
    sources = {p.name for p in zone.segments(HOUR)}
    folder, name = _midway_through_a_seal(zone, before)
    # the scan passed the manifest's place before it was written, then the sealed segment's after its rename, and the
    # sources' before theirs: read as it is, every event would be read twice
    stale = sources | {name}
    monkeypatch.setattr(landing_files.os, "scandir", _StaleScan(folder, stale))
    assert zone.segments(HOUR) == [folder / name]


def test_a_folder_always_midway_through_a_seal_is_reported_not_misread(tmp_path, monkeypatch):
    zone, before = _landed(tmp_path, segments=3)
    folder, name = _midway_through_a_seal(zone, before)
    stale = {entry.name for entry in os.scandir(folder)} - {name}
    monkeypatch.setattr(landing_files, "LIST_PAUSE_S", 0.001)
    monkeypatch.setattr(landing_files.os, "scandir", _StaleScan(folder, stale, stale_scans=10 ** 6))
    with pytest.raises(LandingUnavailable, match="a seal was under way in each of 5 listings"):
        zone.segments(HOUR)


class _SealsAfterListing(FileLandingZone):
    """A landing zone whose first listing is followed at once by a seal of the hour (a writer's, racing the reader);
    `slow`: the reader is slower than the grace, so the sealed sources are gone by the time it reads them."""

    def __init__(self, root, seal_in: str, slow: bool):
        super().__init__(root)
        self.seal_in = seal_in
        self.slow = slow
        self.listings = 0

    def _seal(self, hour):
        seal_hour(self.hour_dir(hour), hour, final=True)
        if self.slow:
            segment_sealing.sweep(self.hour_dir(hour), now=time.time() + segment_sealing.SEALED_AWAY_GRACE_S)

    def segments(self, hour):
        found = super().segments(hour)
        self.listings += 1
        if self.listings == 1 and self.seal_in == "segments":
            self._seal(hour)
        return found

    def read_hour(self, hour, canonical_as_files=False):
        batch = super().read_hour(hour, canonical_as_files)
        if self.listings == 1 and self.seal_in == "load":
            self._seal(hour)
        return batch


@pytest.mark.parametrize("slow", [False, True])
@pytest.mark.parametrize("seal_in", ["segments", "load"])
def test_a_reader_racing_a_seal_reads_what_it_listed_or_the_hour_again(tmp_path, seal_in, slow):
    _landed(tmp_path)
    expected = _landed(tmp_path / "copy")[1]
    zone = _SealsAfterListing(tmp_path / "landing", seal_in, slow)
    # in time, a sealed source is read under its hidden name (one listing); too late, the hour is listed again
    listings = 2 if slow else 1
    if seal_in == "segments":  # the reader of lines
        assert sorted(zone.read_hour(HOUR).lines) == sorted(expected) and zone.listings == listings
    else:  # the warehouse's load, handed files a seal then replaced
        con = connect(tmp_path / "w.duckdb")
        report = load_landed(con, zone, HOUR)
        assert report.loaded == len(expected) and report.accounted() and zone.listings == listings
        assert con.execute("SELECT count(DISTINCT event_id) FROM raw_events").fetchone()[0] == len(expected)


def _seal_in_process(folder: str, rows: int) -> None:
    seal_hour(Path(folder), HOUR, final=True, max_rows=rows)


def test_two_processes_sealing_one_hour_at_once_neither_lose_nor_double_an_event(tmp_path):
    zone, before = _landed(tmp_path, segments=40, size=200)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_seal_in_process, args=(str(zone.hour_dir(HOUR)), 1000)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    lines = zone.read_hour(HOUR).lines
    assert sorted(lines) == sorted(before) and len(zone.segments(HOUR)) == 8


def test_the_lake_commits_sealed_segments_as_they_are_with_the_warehouses_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(segment_adoption, "MIN_ROWS", 400)
    zone, _ = _landed(tmp_path)
    reference = connect(tmp_path / "reference.duckdb")
    load_hour(reference, zone.read_hour(HOUR))  # the unsealed hour, line by line
    expected = reference.execute("SELECT * FROM raw_events ORDER BY event_id").fetchall()
    reference.close()
    seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=500)  # 500, 500 and 200 rows
    lake = open_lake(load_settings({"LOGINTEL_HOME": str(tmp_path / "home"),
                                    "LOGINTEL_TABLE_FORMAT": "iceberg"}).lake_location)
    with hour_session(lake, HOUR, HOUR_LOAD_WRITES) as con:
        report = load_landed(con, zone, HOUR)
    assert report.adopted_lines == 1000 and report.loaded == 1200 and report.accounted()
    assert (report.segment_files, report.columnar_files) == (3, 3)  # 12 small segments before the seal
    con = duckdb.connect()
    mount(con, lake)
    assert con.execute("SELECT * FROM raw_events ORDER BY event_id").fetchall() == expected


def test_changes_since_sees_a_seal_and_tolerates_segments_vanishing_under_it(tmp_path, monkeypatch):
    zone, _ = _landed(tmp_path, segments=3)
    first = zone.changes_since(None)
    seal_hour(zone.hour_dir(HOUR), HOUR, final=True)
    assert zone.changes_since(first.watermark).hours == {HOUR}
    # a segment unlinked between the listing and its stat is skipped, not raised
    real_scandir = os.scandir

    def scandir_then_vanish(path):
        entries = list(real_scandir(path))
        for entry in entries:
            if entry.name.endswith(".canonical.parquet"):
                os.unlink(entry.path)
        return iter(entries)
    zone.write_lines(HOUR, [event.to_json() for event in _events("more", 3)])
    monkeypatch.setattr(os, "scandir", scandir_then_vanish)
    assert zone.changes_since(None).hours == {HOUR}


def test_a_seal_that_cannot_write_leaves_every_segment_as_it_was(tmp_path, monkeypatch):
    zone, before = _landed(tmp_path, segments=3)

    def disk_full(path, table):
        Path(path).write_bytes(b"PAR1")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(segment_sealing.parquet_segments, "write", disk_full)
    with pytest.raises(OSError):
        seal_hour(zone.hour_dir(HOUR), HOUR, final=True)
    assert zone.read_hour(HOUR).lines == before and len(zone.segments(HOUR)) == 3
    monkeypatch.undo()
    report = seal_hour(zone.hour_dir(HOUR), HOUR, final=True)
    assert report.sources == 3 and zone.read_hour(HOUR).lines == before
    assert not [p for p in zone.hour_dir(HOUR).iterdir() if p.name.endswith(".partial")]


def _seal_forever(folder: str, ready) -> None:
    ready.set()
    while True:
        seal_hour(Path(folder), HOUR, final=True, max_rows=700)
        # fresh small segments keep the seals coming (each a new file of events already there: a resend)
        zone = FileLandingZone(Path(folder).parent.parent)
        lines = zone.read_hour(HOUR).lines
        for start in range(0, min(len(lines), 1000), 100):
            zone.write_lines(HOUR, lines[start:start + 100])


def test_a_sealer_killed_at_any_moment_never_loses_an_event(tmp_path):
    import random
    import signal
    import time
    zone, before = _landed(tmp_path, segments=30, size=100)
    expected = sorted(set(before))
    context = multiprocessing.get_context("spawn")
    rng = random.Random(7)
    for _ in range(6):
        ready = context.Event()
        worker = context.Process(target=_seal_forever, args=(str(zone.hour_dir(HOUR)), ready))
        worker.start()
        ready.wait(60)
        time.sleep(rng.uniform(0.05, 1.5))
        os.kill(worker.pid, signal.SIGKILL)  # mid-write, mid-rename or mid-unlink: wherever it is
        worker.join(30)
        # every event is there, and a reader that skips what a manifest names reads each at most as often as it
        # was landed (the worker re-lands copies on purpose: the load keeps one of each id)
        lines = zone.read_hour(HOUR).lines
        assert sorted(set(lines)) == expected
        con = connect(tmp_path / "w.duckdb")
        report = load_landed(con, zone, HOUR)
        assert report.loaded == len(expected) and report.accounted()
        con.close()
    report = seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=10_000)  # recovers, then seals the rest
    assert sorted(set(zone.read_hour(HOUR).lines)) == expected
    # nothing of a killed seal is left (a killed writer's own `.partial` may be: it is the writer's)
    assert not [p.name for p in zone.hour_dir(HOUR).iterdir() if p.name.endswith(("-sealed.canonical.parquet.partial",
                                                                                   ".sources"))]


def test_readers_during_writes_and_seals_see_every_event_landed_before_they_started(tmp_path):
    """(A listing that crosses a seal's rename may see a copy twice, which the load de-duplicates: not asserted.)"""
    import threading
    zone = FileLandingZone(tmp_path / "landing")
    landed: list[str] = []
    stop = threading.Event()
    problems: list[str] = []

    def write() -> None:
        part = 0
        while not stop.is_set() and part < 300:
            lines = [event.to_json() for event in _events(f"w{part:03d}", 50)]
            zone.write_lines(HOUR, lines)
            landed.extend(lines)
            part += 1

    def seal() -> None:
        while not stop.is_set():
            seal_hour(zone.hour_dir(HOUR), HOUR, final=False, max_rows=400)

    threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=seal, daemon=True)]
    for thread in threads:
        thread.start()
    reads = 0
    try:
        while threads[0].is_alive():
            seen_before = set(landed)
            if not zone.hour_dir(HOUR).exists():
                continue
            lines = zone.read_hour(HOUR).lines
            reads += 1
            if not seen_before <= set(lines):
                problems.append(f"read {reads}: {len(seen_before - set(lines))} landed events missing")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert reads > 5 and problems == []
    seal_hour(zone.hour_dir(HOUR), HOUR, final=True, max_rows=400)
    assert sorted(zone.read_hour(HOUR).lines) == sorted(landed)
