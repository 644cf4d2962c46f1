"""Segment files as the landing zone: <root>/events/hour=<YYYY-MM-DDTHH>/<segment>.canonical.parquet (or .jsonl).

Segments are written under a hidden `.partial` name, fsynced, then renamed into place, so a
reader never sees half a batch from this writer. Other writers (the SDK's local dumps, a crash)
can still leave a torn last line; `read_hour` turns it into a dead letter instead of failing.

A segment written here from validated events in canonical form is named `*.canonical.jsonl`: the
warehouse may read such a file with DuckDB's own reader instead of line by line
(`store.segment_reader`), and still falls back to the exact path for one that does not pass whole.

A writer of canonical lines may land them as a columnar segment instead, `*.canonical.parquet` with raw_events'
own columns (`store.parquet_segments`): the warehouse then reads no JSON at all, and the lake commits a big one
that passes whole as it is. `segments` (the setting LOGINTEL_LANDING_SEGMENTS) says when: "auto", the default, for
a segment of at least AUTO_COLUMNAR_LINES lines; "parquet" always; "jsonl" never. Lines the columnar form cannot
hold exactly land as a JSON segment. Every reader of lines reads a columnar segment as its canonical lines
(`read_hour`).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Iterable

from logintel.config import LANDING_SEGMENTS
from logintel.store import parquet_segments
from logintel.store.segment_adoption import MIN_ROWS
from logintel.store.dead_letters import DeadLetter
from logintel.events import WideEvent
from logintel.store.landing import (HourBatch, LandingChanges, LandingUnavailable, hour_floor, hour_key,
                                    parse_hour_key)

MAX_SEGMENT_EVENTS = 200_000
CANONICAL = ".canonical.jsonl"  # a segment of canonical lines this class wrote (`write_lines`)
COLUMNAR = parquet_segments.SUFFIX  # the same, as raw_events' columns
# "auto" lands a segment as columns when the lake would commit it as it is (`segment_adoption.MIN_ROWS`). A smaller
# one — the receiver flushes at most 2,048 events a request's wait — would be copied by the load anyway, where its
# columns save 1.2x (an hour landed 2,048 events a segment), while making them costs the writer about 8 µs an event
# on its request's path (the receiver's NDJSON answers 34% slower at one connection; docs/table-format.md).
AUTO_COLUMNAR_LINES = MIN_ROWS
WATERMARK_HOURS = 168
SEAL_MANIFEST = ".sources"  # `.<sealed segment>.sources`: the segments a seal replaces (`segment_sealing`)
SEALED_AWAY = ".sealed"  # `.<segment>.sealed`: a segment a seal replaced, kept a while for readers that listed it
LIST_ATTEMPTS = 5  # listings of an hour a reader tries while a writer seals its segments away (`segment_sealing`)
LIST_PAUSE_S = 0.02  # the pause before the next such listing, times the listings tried (a seal takes milliseconds)
SEAL_GENERATION = ".seal.generation"  # a count each seal moves on once its sources are out of view (`listed_segments`)


class SegmentVanished(FileNotFoundError):
    """A segment listed a moment ago is gone: a writer sealed it into a columnar segment (`segment_sealing`), whose
    rows a fresh listing of the hour finds."""


class FileLandingZone:
    def __init__(self, root: Path, segments: str = "auto"):
        if segments not in LANDING_SEGMENTS:
            raise ValueError(f"landing segments: one of {', '.join(LANDING_SEGMENTS)} (got {segments!r})")
        self.root = Path(root)
        self.events_dir = self.root / "events"
        self.segment_format = segments

    def describe(self) -> str:
        return str(self.events_dir)

    def hour_dir(self, hour: datetime) -> Path:
        return self.events_dir / f"hour={hour_key(hour)}"

    def write(self, events: Iterable[WideEvent]) -> int:
        by_hour: dict[datetime, list[str]] = defaultdict(list)
        written = 0
        for event in events:
            by_hour[hour_floor(event.timestamp)].append(event.to_json())
            written += 1
        for hour, lines in by_hour.items():
            for start in range(0, len(lines), MAX_SEGMENT_EVENTS):
                self.write_lines(hour, lines[start:start + MAX_SEGMENT_EVENTS])
        return written

    def write_lines(self, hour: datetime, lines: list[str]) -> Path:
        """Write already-canonical JSON lines as one segment of `hour` (columnar when this zone's `segments` says so
        and the lines allow it)."""
        folder = self.hour_dir(hour)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{datetime.utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        if self.columnar(len(lines)):
            try:
                table = parquet_segments.columns(lines, hour_floor(hour))
            except parquet_segments.SegmentFormatError:
                pass  # landed as JSON lines below, as exact as ever
            else:
                path = folder / f"{stem}{COLUMNAR}"
                tmp = folder / f".{path.name}.partial"
                parquet_segments.write(tmp, table)
                os.replace(tmp, path)
                return path
        path = folder / f"{stem}{CANONICAL}"
        tmp = folder / f".{path.name}.partial"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def columnar(self, lines: int) -> bool:
        """Whether a segment of `lines` lines is written as columns."""
        return lines > 0 and (self.segment_format == "parquet"
                              or (self.segment_format == "auto" and lines >= AUTO_COLUMNAR_LINES))

    def segments(self, hour: datetime) -> list[Path]:
        """The hour's segments, without those a sealed segment listed with them replaces (`segment_sealing`)."""
        folder = self.hour_dir(hour)
        return listed_segments(folder) if folder.exists() else []

    def hours(self) -> list[datetime]:
        if not self.events_dir.exists():
            return []
        found = []
        for folder in self.events_dir.iterdir():
            if folder.is_dir() and folder.name.startswith("hour="):
                try:
                    found.append(parse_hour_key(folder.name[5:]))
                except ValueError:
                    continue
        return sorted(found)

    def read_hour(self, hour: datetime, canonical_as_files: bool = False) -> HourBatch:
        """Every line of the hour; with `canonical_as_files`, the canonical segments are left unread, as paths in
        `files`, for the warehouse's own reader. A segment sealed away while it is read makes the hour listed again."""
        for _ in range(LIST_ATTEMPTS):
            batch = HourBatch(hour=hour_floor(hour))
            try:
                for path in self.segments(hour):
                    if canonical_as_files and path.name.endswith((CANONICAL, COLUMNAR)):
                        batch.files.append(str(path))
                    elif path.name.endswith(COLUMNAR):
                        read_columnar_segment(path, batch)
                    else:
                        read_segment(path, batch)
            except SegmentVanished:
                continue
            return batch
        raise LandingUnavailable(f"{self.hour_dir(hour)}: its segments kept vanishing while read "
                                 f"({LIST_ATTEMPTS} listings); is a writer sealing it in a loop?")

    def changes_since(self, watermark: str | None) -> LandingChanges:
        """Hours whose set of segments changed since `watermark`.

        The watermark records, per hour, how many segments there were and the newest mtime. A
        count is used, not only a time: a slow writer's segment keeps the mtime of its write, not
        of its rename into view, and two segments can share one coarse mtime tick.
        """
        previous = json.loads(watermark) if watermark else {}
        if not isinstance(previous, dict):
            raise ValueError(f"not a file landing-zone watermark: {watermark[:60]!r}")
        current: dict[str, list[int]] = {}
        hours = set()
        if self.events_dir.exists():
            for folder in self.events_dir.iterdir():
                if not folder.name.startswith("hour="):
                    continue
                try:
                    hour = parse_hour_key(folder.name[5:])
                except ValueError:
                    continue
                count, newest = 0, 0
                for entry in os.scandir(folder):
                    if _is_segment(entry.name):
                        try:
                            newest = max(newest, entry.stat().st_mtime_ns)
                        except FileNotFoundError:
                            continue  # sealed away since the listing: the sealed segment is counted instead
                        count += 1
                if not count:
                    continue
                key = folder.name[5:]
                current[key] = [count, newest]
                if previous.get(key) != [count, newest]:
                    hours.add(hour)
        # Bound the cursor: only the most recent hours are remembered (older ones rarely change,
        # and a change there is simply reported again).
        kept = dict(sorted(current.items())[-WATERMARK_HOURS:])
        return LandingChanges(watermark=json.dumps(kept, separators=(",", ":")), hours=hours)


def listed_segments(folder: Path) -> list[Path]:
    """The segments of one consistent listing of the hour folder `folder`, in name order, without those a sealed
    segment in the same listing replaces: those its manifest (`.<sealed name>.sources`, `segment_sealing`) names.

    POSIX leaves open whether a scan of a folder returns an entry renamed during the scan, so a scan that overlaps a
    seal could pass a source's place after it was put out of view and the sealed segment's place before it came into
    view, and miss that group's rows (or see a source, its sealed segment and no manifest, and read them twice). A
    seal bumps the folder's generation (`SEAL_GENERATION`) after its sources are out of view and before its manifest
    goes; a scan is taken only when the generation did not move while it ran and no seal is between its rename into
    view and the end (a manifest whose sealed segment is in view, not both in the scan). Otherwise the folder is
    listed again, a moment later; LandingUnavailable after LIST_ATTEMPTS listings."""
    for attempt in range(LIST_ATTEMPTS):
        generation = seal_generation(folder)
        names = {entry.name for entry in os.scandir(folder)}
        if not _seal_under_way(folder, names) and seal_generation(folder) == generation:
            replaced: set[str] = set()
            for name in names:
                if sealed_by_manifest(name) in names:
                    replaced.update(seal_manifest_sources(folder / name))
            return sorted(folder / name for name in names if _is_segment(name) and name not in replaced)
        time.sleep(LIST_PAUSE_S * (attempt + 1))
    raise LandingUnavailable(f"{folder}: a seal was under way in each of {LIST_ATTEMPTS} listings; is a writer "
                             f"sealing it in a loop?")


def seal_generation(folder: Path) -> str:
    """The folder's seal generation: the text of its SEAL_GENERATION file ("" before any seal)."""
    try:
        return (folder / SEAL_GENERATION).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def bump_seal_generation(folder: Path) -> None:
    """Move the folder's seal generation on (the sealer, under the folder's seal lock)."""
    current = seal_generation(folder)
    following = int(current) + 1 if current.isdigit() else 1
    staged = folder / f"{SEAL_GENERATION}.partial"
    staged.write_text(str(following), encoding="utf-8")
    os.replace(staged, folder / SEAL_GENERATION)


def _seal_under_way(folder: Path, names: set[str]) -> bool:
    """Whether, now, a manifest and its sealed segment are both in view without both being in the scan `names`: a seal
    that renamed its segment into view and has not finished since the scan began. (A seal that died after that
    rename leaves both in view, and a scan that holds both reads it right.)"""
    for entry in os.scandir(folder):
        sealed = sealed_by_manifest(entry.name)
        if sealed is not None and (entry.name not in names or sealed not in names) and (folder / sealed).exists():
            return True
    return False


def sealed_by_manifest(name: str) -> str | None:
    """The sealed segment a seal manifest's file name stands for, or None when `name` is no manifest."""
    return name[1:-len(SEAL_MANIFEST)] if name.startswith(".") and name.endswith(SEAL_MANIFEST) else None


def seal_manifest_sources(path: Path) -> list[str]:
    """The segment names a seal manifest lists ([] when it cannot be read: a half-written one was never acted on,
    since the sealed segment is renamed into view only after its manifest is durable)."""
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [name for name in names if isinstance(name, str) and "/" not in name] if isinstance(names, list) else []


def sealed_away_name(name: str) -> str:
    """The hidden name a segment is kept under for a while once a seal has replaced it."""
    return f".{name}{SEALED_AWAY}"


def is_sealed_away(name: str) -> bool:
    return name.startswith(".") and name.endswith(SEALED_AWAY)


def _read_listed(path: Path, read):
    """`read(path)`, or `read` of the name a seal put it under since it was listed; SegmentVanished when neither
    is there any more."""
    try:
        return read(path)
    except FileNotFoundError:
        pass
    try:
        return read(path.parent / sealed_away_name(path.name))
    except FileNotFoundError:
        raise SegmentVanished(str(path)) from None


def _is_segment(name: str) -> bool:
    return name.endswith((".jsonl", COLUMNAR)) and not name.startswith(".")


def read_columnar_segment(path: Path, batch: HourBatch) -> None:
    """Add the rows of one columnar segment to `batch` as canonical lines (source `file:row`); a file that cannot
    be read as one is a single dead letter naming it (the file itself stays in the landing zone)."""
    try:
        lines = _read_listed(path, parquet_segments.canonical_lines)
    except SegmentVanished:
        raise
    except Exception as exc:  # noqa: BLE001 - Arrow's errors, OSError, a foreign file: each says what it is
        batch.rejects.append(DeadLetter(
            stage="raw_events", source=str(path), cause="unreadable_segment",
            reason=f"columnar segment cannot be read ({type(exc).__name__}: {str(exc)[:300]}); the file is kept "
                   "in the landing zone", payload=str(path), partition=hour_key(batch.hour)))
        return
    for index, line in enumerate(lines):
        batch.lines.append(line)
        batch.sources.append(f"{path}:{index + 1}")


def read_segment(path: Path, batch: HourBatch) -> None:
    """Add the lines of one segment to `batch` (an undecodable or torn line as a dead letter)."""
    data = _read_listed(path, Path.read_bytes)
    if not data:
        return
    torn = not data.endswith(b"\n")
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    try:
        text_lines = data.decode("utf-8").split("\n")
        if text_lines and text_lines[-1] == "":
            text_lines.pop()
        decoded = True
    except UnicodeDecodeError:
        decoded = False
    last = len(raw_lines) - 1
    for index, raw in enumerate(raw_lines):
        source = f"{path}:{index + 1}"
        if not raw.strip():
            continue
        if decoded:
            line = text_lines[index]
        else:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                batch.rejects.append(DeadLetter(
                    stage="raw_events", source=source, cause="encoding",
                    reason=f"line is not valid UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})",
                    payload=raw, partition=hour_key(batch.hour)))
                continue
        if torn and index == last and not _is_json_object(line):
            batch.rejects.append(DeadLetter(
                stage="raw_events", source=source, cause="torn_line",
                reason="last line of the segment has no newline and is not a complete JSON object "
                       "(an interrupted write)",
                payload=raw, partition=hour_key(batch.hour)))
            continue
        batch.lines.append(line)
        batch.sources.append(source)


def _is_json_object(line: str) -> bool:
    import json
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
