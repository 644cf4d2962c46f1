"""Sealing: an hour's small canonical segments merged into columnar ones, so a writer that must land small batches
(the receiver answers a request only once its events are durable: 2,048 events at most a flush) still leaves the
hour in the few big columnar segments the load reads fastest and the lake commits as they are (`segment_adoption`).

A seal never risks an event. Under the hour folder's seal lock (`file_lock`), for each group of small segments:

1. their rows are written as one columnar segment under a hidden `.partial` name and fsynced;
2. a hidden manifest (`.<sealed name>.sources`) names the segments it replaces, fsynced;
3. the columnar segment is renamed into view: from here a reader lists it and skips the sources the manifest names
   (`sealed_away`), so no event is read twice;
4. the sources are renamed out of view (`.<name>.sealed`), the folder's seal generation is moved on, then the manifest
   is removed; what was put out of view more than SEALED_AWAY_GRACE_S ago is deleted by the next seal of the folder or
   by the sealer's sweep (`sweep_hour`).

A crash at any step leaves every event readable: before (3) the sources are whole and the partial file hidden; after
it the manifest says which copies to skip, and the next seal of the hour finishes the job (`recover`). A reader that
listed a source before (3) and opens it after (4) reads it under its hidden name (`landing_files.read_segment`), so
the hour it reads is the one it listed. Only a reader slower than the grace finds one gone for good:
`FileLandingZone.read_hour` then lists the hour again, and the warehouse's load of an hour reads it again
(`warehouse.load_landed`). A listing whose scan overlapped steps 3-4 (POSIX leaves open whether it returns an entry
renamed meanwhile: it could miss both copies, or hold both and no manifest) is taken again: the generation or the
manifest in view tells it (`landing_files.listed_segments`).

Only what a canonical writer landed is sealed: `*.canonical.jsonl` segments read whole as lines (a torn or undecodable
file is left where it is, for the load to dead-letter line by line), and columnar segments under MIN_ROWS rows. Lines
the columnar form cannot hold exactly (`parquet_segments.SegmentFormatError`) keep their segment as it is.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from logintel.store import parquet_segments, segment_adoption
from logintel.store.durable_files import fsync_dir
from logintel.store.file_lock import folder_lock
from logintel.store.landing import hour_floor
from logintel.store.landing_files import (CANONICAL, COLUMNAR, MAX_SEGMENT_EVENTS, SEAL_MANIFEST, FileLandingZone,
                                          bump_seal_generation, is_sealed_away, listed_segments,
                                          seal_manifest_sources, sealed_away_name, sealed_by_manifest)

SEAL_LINES = MAX_SEGMENT_EVENTS  # the most rows a sealed segment holds: as many as `logintel ingest` lands in one
LOCK = ".seal.lock"
# How long a sealed source stays readable under its hidden name, for readers that listed it before the seal: a load of
# an hour lists and reads its files within seconds; a reader slower than this lists the hour again.
SEALED_AWAY_GRACE_S = 300


@dataclass
class SealReport:
    hour: datetime
    sealed: list[Path] = field(default_factory=list)   # the columnar segments written
    sources: int = 0        # segments they replace
    rows: int = 0           # rows in them
    waiting: int = 0        # rows of small segments left for a later seal (fewer than a whole segment's worth)
    kept: list[str] = field(default_factory=list)      # segments that cannot be sealed, and why

    def describe(self) -> str:
        text = f"{self.rows:,} events of {self.sources:,} segments sealed into {len(self.sealed)}"
        if self.waiting:
            text += f"; {self.waiting:,} wait for more"
        if self.kept:
            text += f"; {len(self.kept)} kept as they are"
        return text


def recover(folder: Path) -> int:
    """Finish or undo the seals a crash interrupted in `folder` (call under the seal lock); how many."""
    done = 0
    for entry in list(os.scandir(folder)):
        if entry.name.startswith(".") and entry.name.endswith(f"-sealed{COLUMNAR}.partial"):
            os.unlink(entry.path)  # a seal that died writing (under the lock, no seal is under way)
            continue
        sealed_name = sealed_by_manifest(entry.name)
        if sealed_name is None:
            continue
        sealed = folder / sealed_name
        if sealed.exists():  # renamed into view: the sources are copies now
            for name in seal_manifest_sources(Path(entry.path)):
                _put_out_of_view(folder / name)
            fsync_dir(folder)
            bump_seal_generation(folder)
        else:                # never renamed: the sources are the data
            (folder / f".{sealed.name}.partial").unlink(missing_ok=True)
            fsync_dir(folder)
        os.unlink(entry.path)
        done += 1
    return done


def sweep(folder: Path, now: float | None = None) -> int:
    """Delete the sources sealed more than SEALED_AWAY_GRACE_S ago (call under the seal lock); how many."""
    now = time.time() if now is None else now
    swept = 0
    for entry in list(os.scandir(folder)):
        if is_sealed_away(entry.name):
            try:
                if now - entry.stat().st_ctime >= SEALED_AWAY_GRACE_S:  # a rename sets ctime: when it was sealed
                    os.unlink(entry.path)
                    swept += 1
            except FileNotFoundError:
                continue
    return swept


def sweep_hour(folder: Path, now: float | None = None) -> int:
    """`sweep` of the hour folder `folder`, under its seal lock (0 when there is no such folder)."""
    if not folder.is_dir():
        return 0
    with folder_lock(folder, LOCK):
        return sweep(folder, now)


def holds_sealed_away(folder: Path) -> bool:
    """Whether `folder` holds sources a seal put out of view (that a later sweep deletes)."""
    try:
        return any(is_sealed_away(entry.name) for entry in os.scandir(folder))
    except FileNotFoundError:
        return False


def _put_out_of_view(path: Path) -> None:
    try:
        os.replace(path, path.parent / sealed_away_name(path.name))
    except FileNotFoundError:
        pass


def seal_hour(folder: Path, hour: datetime, final: bool, max_rows: int = SEAL_LINES) -> SealReport:
    """Seal the small segments of the hour folder `folder` into columnar segments of up to `max_rows` rows, in the
    order of their names (the order readers list them in). Unless `final` (the hour has closed), the last group,
    not yet a whole segment's worth, waits for more."""
    report = SealReport(hour=hour_floor(hour))
    if not folder.is_dir():
        return report
    with folder_lock(folder, LOCK):
        recover(folder)
        sweep(folder)
        groups: list[list[Path]] = [[]]
        rows = 0
        for path, count in _small_segments(folder, min(max_rows, segment_adoption.MIN_ROWS)):  # nothing parsed
            if groups[-1] and rows + count > max_rows:
                groups.append([])
                rows = 0
            groups[-1].append(path)
            rows += count
        if not final and rows < max_rows:
            report.waiting = rows
            groups.pop()
        for group in groups:
            if len(group) == 1 and group[0].name.endswith(COLUMNAR):
                continue  # a columnar segment alone: nothing to merge it with
            tables = [(path, table) for path in group if (table := _rows(path, report)) is not None]
            if tables:
                _seal(folder, tables, report)
    return report


def _small_segments(folder: Path, big: int) -> list[tuple[Path, int]]:
    """The folder's canonical segments a seal may replace, each with its rows (counted from newlines and footers):
    every JSON one, and the columnar ones of fewer than `big` rows."""
    found = []
    for path in listed_segments(folder):
        name = path.name
        try:
            if name.endswith(CANONICAL):
                found.append((path, path.read_bytes().count(b"\n")))
            elif name.endswith(COLUMNAR) and (rows := _rows_in_footer(path)) < big:
                found.append((path, rows))
        except FileNotFoundError:
            continue
    return found


def _rows_in_footer(path: Path) -> int:
    try:
        return pq.read_metadata(path).num_rows
    except FileNotFoundError:
        raise
    except Exception:  # noqa: BLE001 - a file Arrow cannot read is not sealed (the load dead-letters it)
        return 1 << 62


def _rows(path: Path, report: SealReport) -> pa.Table | None:
    """The rows of one segment as raw_events' columns, or None (with the reason in report.kept) when it stays."""
    hour = report.hour
    try:
        if path.name.endswith(COLUMNAR):
            table = pq.read_table(path)
            if not table.schema.remove_metadata().equals(parquet_segments.SCHEMA):
                report.kept.append(f"{path.name}: not raw_events' columns")
                return None
            return table
        data = path.read_bytes()
    except FileNotFoundError:
        return None  # sealed by another writer between the listing and now
    except Exception as exc:  # noqa: BLE001 - unreadable: left for the load, which dead-letters it by name
        report.kept.append(f"{path.name}: {type(exc).__name__}")
        return None
    if not data:
        report.kept.append(f"{path.name}: empty")
        return None
    if not data.endswith(b"\n"):
        report.kept.append(f"{path.name}: torn last line")
        return None
    try:
        lines = data.decode("utf-8").split("\n")[:-1]
        return parquet_segments.columns(lines, hour)
    except (UnicodeDecodeError, parquet_segments.SegmentFormatError) as exc:
        report.kept.append(f"{path.name}: {exc}")
        return None


def _seal(folder: Path, group: list[tuple[Path, pa.Table]], report: SealReport) -> None:
    table = pa.concat_tables([table for _, table in group])
    # named after its first source, so the hour's segments list in the order they landed in
    name = f"{'-'.join(group[0][0].name.split('.')[0].split('-')[:2])}-{uuid.uuid4().hex[:8]}-sealed{COLUMNAR}"
    partial = folder / f".{name}.partial"
    manifest = folder / f".{name}{SEAL_MANIFEST}"
    try:
        parquet_segments.write(partial, table)
        with open(manifest, "w", encoding="utf-8") as fh:
            json.dump([path.name for path, _ in group], fh)
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(folder)
    except BaseException:  # a full disk, a signal: nothing was renamed, so the sources are the data
        partial.unlink(missing_ok=True)
        manifest.unlink(missing_ok=True)
        raise
    os.replace(partial, folder / name)
    fsync_dir(folder)
    for path, _ in group:
        _put_out_of_view(path)
    fsync_dir(folder)
    bump_seal_generation(folder)  # before the manifest goes: a scan that overlapped this seal sees one or the other
    manifest.unlink()
    report.sealed.append(folder / name)
    report.sources += len(group)
    report.rows += table.num_rows


def seal_closed_hours(zone: FileLandingZone, ended_by: datetime) -> list[SealReport]:
    """Seal every hour of `zone` that ended by `ended_by` (what `logintel seal` does for the hours a writer without a
    sealer landed, or one that stopped before it sealed them); a report for each hour that had small segments."""
    reports = []
    for hour in zone.hours():
        if hour + timedelta(hours=1) <= ended_by:
            report = seal_hour(zone.hour_dir(hour), hour, final=True)
            if report.sources or report.kept:
                reports.append(report)
    return reports
