"""File outputs: the file landing zone as a transport, and the local JSONL dump, the last resort.

Dump layout: <dump_dir>/<YYYY-MM-DD>/<uuid>.jsonl, one canonical `WideEvent.to_json()` per line,
one segment per batch, written as `.<uuid>.jsonl.partial` and renamed when complete. A crash can
leave a `.partial` whose last line is torn; every earlier line in it is whole. Past the disk
limit, events are dropped by level (debug first, error/fatal last) and counted.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from logintel.ingest.buffer import Item
from logintel.ingest.transports.base import Transport, by_hour
from logintel.ingest.transports.sealer import Sealer
from logintel.store.durable_files import fsync_dir
from logintel.store.landing_files import FileLandingZone
from logintel.store.segment_adoption import MIN_ROWS

# A level is dropped once the dump directory would grow past this share of disk_limit_bytes, so
# the space left is kept for what matters more: error and fatal are the last to go.
DROP_AT_PERCENT = {"debug": 60, "info": 80, "warn": 90, "error": 100, "fatal": 100}
RESCAN_EVERY_S = 1.0


class FileTransport(Transport):
    """The file landing zone. With `seal`, the small segments it lands are sealed into columnar ones beside the
    sends (`sealer`): the receiver's flushes are small, since a request waits on them."""
    name = "files"

    def __init__(self, root: str | Path, segments: str = "auto", seal: bool = False):
        self.zone = FileLandingZone(Path(root), segments)
        # "jsonl" asks for no columns at all; a segment the zone lands as columns already is big enough
        self.sealer = Sealer(self.zone) if seal and segments != "jsonl" else None

    def send(self, items: Sequence[Item]) -> None:
        for hour, lines in by_hour(items).items():
            self.zone.write_lines(hour, lines)
            if self.sealer is not None and len(lines) < MIN_ROWS:
                self.sealer.landed(hour, len(lines))

    def close(self) -> None:
        if self.sealer is not None:
            self.sealer.close()


class DumpWriter:
    """Thread-safe: the flusher and a caller under memory pressure may dump at the same time."""

    def __init__(self, root: str | Path, fsync: str = "batch", disk_limit_bytes: int = 1024 ** 3):
        self.root = Path(root)
        self.fsync = fsync
        self.disk_limit_bytes = disk_limit_bytes
        self.limits = {level: disk_limit_bytes * pct // 100 for level, pct in DROP_AT_PERCENT.items()}
        self._lock = threading.Lock()
        self.usage = self._scan()
        self._scanned_at = time.monotonic()

    def write(self, items: Sequence[Item]) -> tuple[int, Counter]:
        """Write what fits under the limits; returns (events written, drops by reason)."""
        written, drops = self.write_kept(items)
        return len(written), drops

    def write_kept(self, items: Sequence[Item]) -> tuple[list[Item], Counter]:
        """As write(), returning the items written (the rest were dropped, counted by reason)."""
        drops: Counter = Counter()
        with self._lock:
            kept = self._admit(items, drops)
            if not kept:
                return [], drops
            try:
                self._write_segment(kept)
            except OSError as exc:  # a full or read-only disk: nothing left to fall back to
                drops[f"dump_error:{type(exc).__name__}"] += len(kept)
                self.usage = self._scan()
                return [], drops
        return kept, drops

    def has_room(self, level: str = "error", size: int = 4096) -> bool:
        """Whether `size` more bytes of `level` events fit under the disk limit (as last measured)."""
        return self.usage + size <= self.limits.get(level, self.disk_limit_bytes)

    def _admit(self, items: Sequence[Item], drops: Counter) -> list[Item]:
        projected = self.usage
        kept: list[Item] = []
        rescanned = False
        for item in items:
            limit = self.limits.get(item.level, self.disk_limit_bytes)
            if projected + item.size > limit and not rescanned and self._rescan_due():
                # Replay may have archived dumps since we last looked: measure before dropping.
                self.usage = self._scan()
                projected = self.usage + sum(k.size for k in kept)
                rescanned = True
            if projected + item.size > limit:
                drops[f"disk_full:{item.level}"] += 1
                continue
            kept.append(item)
            projected += item.size
        return kept

    def _write_segment(self, items: list[Item]) -> None:
        folder = self.root / datetime.now(timezone.utc).strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.jsonl"
        partial = folder / f".{name}.partial"
        size = 0
        with open(partial, "w", encoding="utf-8") as fh:
            if self.fsync == "always":
                for item in items:
                    fh.write(item.line + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
            else:
                fh.write("".join(item.line + "\n" for item in items))
                fh.flush()
                if self.fsync == "batch":
                    os.fsync(fh.fileno())
            size = fh.tell()
        os.replace(partial, folder / name)
        if self.fsync != "never":
            fsync_dir(folder)  # make the rename itself durable
        self.usage += size

    def _rescan_due(self) -> bool:
        return time.monotonic() - self._scanned_at >= RESCAN_EVERY_S

    def _scan(self) -> int:
        """Apparent size of every file under the dump directory (what replay has not archived)."""
        self._scanned_at = time.monotonic()
        total = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    continue
        return total

