"""The files transport's sealer: a thread that seals the hours its transport landed small segments in
(`store.segment_sealing`), so the hour the pipeline loads is a few big columnar segments, not thousands of flushes.

An hour is sealed when its small segments hold a whole sealed segment's worth of rows (SEAL_LINES, counted from what
this transport landed: the seal itself takes every small segment of the folder, another worker's and an earlier
process's included), and once more when it has closed and has been quiet for QUIET_S, for its tail. The sends never
wait for it: a flush that must be durable before a request is answered lands as it always did, and the seal runs
beside it. A seal that fails (a full disk) leaves the segments as they are and is tried again after RETRY_S.

The small segments a seal replaced stay readable under hidden names for SEALED_AWAY_GRACE_S, for readers that listed
them; the thread deletes them after that (`sweep_due`), and on starting plans the same for what an earlier process
left (`schedule_leftovers`), since a closed hour is not sealed again to do it.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from logintel.store.landing_files import FileLandingZone
from logintel.store.segment_sealing import (SEAL_LINES, SEALED_AWAY_GRACE_S, holds_sealed_away, seal_hour,
                                            sweep_hour)

log = logging.getLogger(__name__)

QUIET_S = 60.0   # a closed hour is sealed once nothing has landed in it for this long (late events then wait for it)
POLL_S = 5.0
RETRY_S = 30.0
HOUR = timedelta(hours=1)
NICE = 10  # the sealer thread's niceness (see _lower_priority)


@dataclass
class SealStats:
    seals: int = 0          # sealed segments written
    rows: int = 0           # rows in them
    sources: int = 0        # small segments they replaced
    failures: int = 0
    last_error: str | None = None


class Sealer:
    def __init__(self, zone: FileLandingZone, rows: int = SEAL_LINES, quiet_s: float = QUIET_S,
                 poll_s: float = POLL_S, clock: Callable[[], float] = time.time, background: bool = True):
        """`background`: seal on a thread of its own, started with the first landing (else only `seal_due` seals)."""
        self.zone = zone
        self.rows = rows
        self.quiet_s = quiet_s
        self.poll_s = poll_s
        self.clock = clock
        self.stats = SealStats()
        self._pending: dict[datetime, int] = {}     # rows landed in small segments since the hour's last seal
        self._last_landed: dict[datetime, float] = {}
        self._retry_at: dict[datetime, float] = {}
        self._sweep_at: dict[datetime, float] = {}  # when the sources an hour's seal put out of view may go
        self._cond = threading.Condition()
        self._closing = not background
        self._thread: threading.Thread | None = None

    def landed(self, hour: datetime, rows: int) -> None:
        """Note `rows` landed in a small segment of `hour` (the transport calls it after each write)."""
        with self._cond:
            self._pending[hour] = self._pending.get(hour, 0) + rows
            self._last_landed[hour] = self.clock()
            if self._thread is None and not self._closing:
                self._thread = threading.Thread(target=self._run, name="logintel-sealer", daemon=True)
                self._thread.start()
            if self._pending[hour] >= self.rows:
                self._cond.notify()

    def due(self) -> list[tuple[datetime, bool]]:
        """The hours to seal now, each with whether it is final (closed and quiet)."""
        now = self.clock()
        found = []
        with self._cond:
            for hour, rows in self._pending.items():
                if self._retry_at.get(hour, 0) > now:
                    continue
                closed = now >= (hour + HOUR).timestamp() and now - self._last_landed[hour] >= self.quiet_s
                if closed or rows >= self.rows:
                    found.append((hour, closed))
        return sorted(found)

    def seal_due(self) -> int:
        """Seal every hour that is due (what the thread does each poll); the sealed segments written."""
        written = 0
        for hour, final in self.due():
            with self._cond:
                taken = self._pending.get(hour, 0)
            try:
                report = seal_hour(self.zone.hour_dir(hour), hour, final=final, max_rows=self.rows)
            except Exception as exc:  # noqa: BLE001 - a full disk, a vanished folder: the segments stay whole
                with self._cond:
                    self.stats.failures += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                    self._retry_at[hour] = self.clock() + RETRY_S
                log.warning("sealing %s failed (its segments are kept as they are): %s", hour, exc)
                continue
            with self._cond:
                self._retry_at.pop(hour, None)
                if report.sealed:
                    self._sweep_at[hour] = self.clock() + SEALED_AWAY_GRACE_S
                self.stats.seals += len(report.sealed)
                self.stats.rows += report.rows
                self.stats.sources += report.sources
                left = self._pending.get(hour, 0) - taken  # landed while it sealed
                if final and left <= 0:
                    self._pending.pop(hour, None)
                    self._last_landed.pop(hour, None)
                else:
                    self._pending[hour] = max(left, 0) + (0 if final else report.waiting)
            written += len(report.sealed)
        return written

    def sweep_due(self) -> int:
        """Delete the sources of this transport's seals once their grace is over (a closed hour is not sealed again,
        so its own seals would never sweep them); how many files."""
        now = self.clock()
        with self._cond:
            hours = [hour for hour, at in self._sweep_at.items() if at <= now]
            for hour in hours:
                del self._sweep_at[hour]
        swept = 0
        for hour in hours:
            try:
                swept += sweep_hour(self.zone.hour_dir(hour), now)
            except OSError as exc:
                log.warning("deleting the sealed sources of %s failed (tried again at its next seal): %s", hour, exc)
        return swept

    def schedule_leftovers(self) -> int:
        """Plan a sweep of every hour holding sources an earlier process sealed (it may have stopped within their
        grace); how many hours."""
        at = self.clock() + SEALED_AWAY_GRACE_S
        found = [hour for hour in self.zone.hours() if holds_sealed_away(self.zone.hour_dir(hour))]
        with self._cond:
            for hour in found:
                self._sweep_at.setdefault(hour, at)
        return len(found)

    def describe(self) -> dict:
        with self._cond:
            return {"segments_written": self.stats.seals, "segments_replaced": self.stats.sources,
                    "events": self.stats.rows, "failures": self.stats.failures, "last_error": self.stats.last_error,
                    "hours_pending": len(self._pending)}

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (a seal under way finishes, or is finished by the next seal of its hour)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        _lower_priority()
        try:
            self.schedule_leftovers()
        except OSError as exc:
            log.warning("could not look for an earlier process's sealed sources: %s", exc)
        while True:
            with self._cond:
                if self._closing:
                    return
                self._cond.wait(self.poll_s)
                if self._closing:
                    return
            self.seal_due()
            self.sweep_due()


def _lower_priority() -> None:
    """Give this thread (a task of its own on Linux) a lower CPU priority than the requests' threads: a seal uses the
    time they leave. Where that cannot be done, it runs at their priority."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        pass
