"""Replay of the SDK's local dumps into the landing zone: idempotent by event_id, bad lines dead-lettered,
replayed files archived, and a report of the hourly partitions that received new events."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import stat
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.events import WideEvent
from logintel.ingest.log_files import FileTally, read_input
from logintel.ingest.reports import REPORTS, new_report_id, save_report
from logintel.store.landing import LandingZone, hour_floor, hour_key
from logintel.store.landing_files import FileLandingZone

STAGE = "replay"
ARCHIVE = "archive"
_CANONICAL_ID = re.compile(r'^\{"event_id":"([^"\\]+)"')


@dataclass
class ReplayReport:
    """What one replay did. Accounting: `lines == replayed + duplicates + dead_lettered` (per file too)."""
    replay_id: str = field(default_factory=new_report_id)
    files: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    lines: int = 0
    replayed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    partitions: list[str] = field(default_factory=list)  # hour keys (2026-11-23T10) that got new events
    by_hour: dict[str, int] = field(default_factory=dict)  # new events per hour key (PostgreSQL: offered)
    skipped: list[str] = field(default_factory=list)  # "path: reason" for what was never opened (a FIFO)

    def accounted(self) -> bool:
        return self.lines == self.replayed + self.duplicates + self.dead_lettered

    def summary(self) -> str:
        text = (f"{len(self.files)} dump file(s), {self.lines:,} line(s): {self.replayed:,} replayed, "
                f"{self.duplicates:,} already landed, {self.dead_lettered:,} dead-lettered")
        if self.by_cause:
            text += " (" + ", ".join(f"{c} {n}" for c, n in sorted(self.by_cause.items())) + ")"
        if self.partitions:
            text += f"; hours affected: {', '.join(self.partitions)}"
        if self.skipped:
            text += f"; {len(self.skipped)} path(s) skipped, never opened: " + "; ".join(self.skipped)
        return text

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def write(self, report_dir: Path) -> Path:
        return save_report(report_dir, self.replay_id, self.to_dict())


class DumpPathError(ValueError):
    """A path given to replay that is not one of the dump folder's segments: replay never moves it."""


def dump_files(paths_or_dump_dir: Path | Iterable[Path], *, within: Path | None = None,
               skipped: list[str] | None = None) -> list[Path]:
    """Finished dump segments: `*.jsonl` below the given folders (or the files given), never in-progress
    `.partial` files, hidden files, or what sits under `archive/` and `reports/`. With `within`, every
    path must lie inside that folder (DumpPathError otherwise). What is not a regular file (a FIFO, a
    socket, a link) is never opened — reading a FIFO with no writer would block — and is listed in
    `skipped` with the reason."""
    roots = [Path(paths_or_dump_dir)] if isinstance(paths_or_dump_dir, (str, Path)) else [Path(p) for p in paths_or_dump_dir]
    found: list[Path] = []
    for root in roots:
        if within is not None:
            _inside(root, within)
        if root.is_dir():  # the dump folder may itself be a link (to a bigger disk); what is inside it may not
            found += [p for p in sorted(root.rglob("*.jsonl")) if _is_segment(p.relative_to(root).parts)
                      and _regular(p, skipped)]
        elif root.exists() or root.is_symlink():
            if not _is_segment((root.name,)):
                raise DumpPathError(f"{root} is not a dump segment (a *.jsonl file the emitter wrote); "
                                    "replay moves only those")
            if _regular(root, skipped):
                found.append(root)
        else:
            raise FileNotFoundError(f"no such dump file or directory: {root}")
    return found


def _inside(path: Path, folder: Path) -> None:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        raise DumpPathError(f"{path} is outside the dump folder {folder}: replay reads and archives only "
                            "the dump folder's segments") from None


def _is_segment(parts: tuple[str, ...]) -> bool:
    return (parts[-1].endswith(".jsonl") and ".partial" not in parts[-1]
            and not any(p.startswith(".") or p in (ARCHIVE, REPORTS) for p in parts))


def _regular(path: Path, skipped: list[str] | None) -> bool:
    if path.is_symlink() or not stat.S_ISREG(path.lstat().st_mode):
        if skipped is not None:
            skipped.append(f"{path}: not a regular file")
        return False
    return True


def replay_dumps(paths_or_dump_dir: Path | Iterable[Path], landing_zone: LandingZone,
                 dead_letters: DeadLetterStore, archive_dir: Path, *, dump_root: Path | None = None) -> ReplayReport:
    """Load dump files into the landing zone, skipping event_ids already landed, and archive each file.

    Each file is archived only after its events and dead letters are written, so a crash mid-way leaves
    it to be replayed again, which adds no events twice. `dump_root` keeps the archive's sub-folders
    (`<date>/<name>.jsonl`); by default, a folder argument is its own root.
    """
    if dump_root is None and isinstance(paths_or_dump_dir, (str, Path)) and Path(paths_or_dump_dir).is_dir():
        dump_root = Path(paths_or_dump_dir)
    report = ReplayReport()
    causes: Counter[str] = Counter()
    hours: Counter[datetime] = Counter()
    seen = _LandedIds(landing_zone)
    within = dump_root if dump_root is not None and not isinstance(paths_or_dump_dir, (str, Path)) else None
    for path in dump_files(paths_or_dump_dir, within=within, skipped=report.skipped):
        tally = FileTally()
        events: list[WideEvent] = []
        letters: list[DeadLetter] = []
        for item in read_input(path, "jsonl", tally=tally):
            if isinstance(item, WideEvent):
                if seen.add(item):
                    events.append(item)
                else:
                    report.duplicates += 1
            else:
                letters.append(dataclasses.replace(item, stage=STAGE))
        landed = landing_zone.write(events) if events else 0
        # PostgreSQL skips ids it already holds (ON CONFLICT): what it did not insert was a duplicate.
        report.duplicates += len(events) - landed
        report.replayed += landed
        hours.update(hour_floor(e.timestamp) for e in events)  # Counter.update counts
        dead_letters.write(letters)
        report.dead_lettered += len(letters)
        causes.update(letter.cause for letter in letters)
        report.lines += tally.lines
        report.files.append(str(path))
        report.archived.append(str(_archive(path, Path(archive_dir), dump_root)))
    report.by_cause = dict(causes)
    # An approximation for PostgreSQL: an hour whose every event was a conflict is still listed.
    report.partitions = sorted(hour_key(h) for h in hours)
    report.by_hour = {hour_key(h): hours[h] for h in sorted(hours)}
    return report


def land_new_events(zone: LandingZone, events: Iterable[WideEvent]) -> int:
    """Write only the events whose event_id has not landed yet; returns how many were new."""
    seen = _LandedIds(zone)
    fresh = [event for event in events if seen.add(event)]
    return zone.write(fresh) if fresh else 0


class _LandedIds:
    """event_ids already in the landing zone, read lazily per hour, plus those added by this replay.

    The file zone keeps every write, so it must be asked; PostgreSQL dedupes on insert, so only ids
    repeated within this replay are filtered before the write.
    """

    def __init__(self, zone: LandingZone):
        self.zone = zone
        self.reads_zone = isinstance(zone, FileLandingZone)
        self.by_hour: dict[datetime, set[str]] = {}

    def add(self, event: WideEvent) -> bool:
        """True when the id is new (and remember it)."""
        hour = hour_floor(event.timestamp)
        ids = self.by_hour.get(hour)
        if ids is None:
            ids = self.by_hour[hour] = self._landed(hour)
        if event.event_id in ids:
            return False
        ids.add(event.event_id)
        return True

    def _landed(self, hour: datetime) -> set[str]:
        if not self.reads_zone:
            return set()
        ids = set()
        for line in self.zone.read_hour(hour).lines:
            match = _CANONICAL_ID.match(line)
            if match:
                ids.add(match.group(1))
                continue
            try:  # a line not written by `to_json` (another writer): decode it properly
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("event_id"), str):
                ids.add(value["event_id"])
        return ids


def _archive(path: Path, archive_dir: Path, dump_root: Path | None) -> Path:
    try:
        relative = path.resolve().relative_to(dump_root.resolve()) if dump_root else Path(path.name)
    except ValueError:
        relative = Path(path.name)
    target = archive_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # the same name replayed before (a re-dumped segment): keep both
        target = target.with_name(f"{target.stem}-{uuid.uuid4().hex[:8]}{target.suffix}")
    shutil.move(str(path), str(target))
    return target
