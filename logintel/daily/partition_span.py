"""The span the partitions cover (from LOGINTEL_PARTITIONS_START to the current hour, UTC; days to today in the
digest's zone), so a command can refuse a time outside it with the valid range instead of a traceback."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)


def hour_range(partitions_start: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[first, end) of the hourly partitions as naive UTC: end is the hour after the current one
    (the partitions' end_offset=1 keeps the hour in progress)."""
    first = datetime.fromisoformat(partitions_start.replace("Z", "+00:00"))
    first = (first.astimezone(timezone.utc).replace(tzinfo=None) if first.tzinfo else first).replace(
        minute=0, second=0, microsecond=0)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    return first, now.replace(minute=0, second=0, microsecond=0) + HOUR


def day_range(partitions_start: str, zone: str, now: datetime | None = None) -> tuple[date, date]:
    """[first, last] of the daily partitions: today in the digest's zone is the last."""
    now = now or datetime.now(timezone.utc)
    return date.fromisoformat(partitions_start[:10]), now.astimezone(ZoneInfo(zone)).date()


def check_hours(start: datetime, end: datetime, partitions_start: str, now: datetime | None = None) -> None:
    """ValueError naming the valid range when [start, end) reaches outside the hourly partitions."""
    first, last = hour_range(partitions_start, now)
    if start < first or end > last:
        raise ValueError(f"[{start:%Y-%m-%dT%H:%M}, {end:%Y-%m-%dT%H:%M}) is outside the hourly partitions: "
                         f"they run from {first:%Y-%m-%dT%H:%M} to {last:%Y-%m-%dT%H:%M} (UTC; the first is "
                         "LOGINTEL_PARTITIONS_START)")


def check_day(day: date, partitions_start: str, zone: str, now: datetime | None = None) -> None:
    first, last = day_range(partitions_start, zone, now)
    if not first <= day <= last:
        raise ValueError(f"--date {day.isoformat()} is outside the daily partitions: they run from "
                         f"{first.isoformat()} to {last.isoformat()} ({zone}; the first is LOGINTEL_PARTITIONS_START)")
