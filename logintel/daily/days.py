"""The digest's day: a calendar date in the digest's time zone, cut into the UTC hours it spans
(24 on most days, 23 or 25 on a daylight-saving change), and which of them the warehouse holds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DigestDay:
    day: date
    timezone: str = "UTC"

    @classmethod
    def parse(cls, text: str, timezone_name: str = "UTC") -> "DigestDay":
        """`YYYY-MM-DD` (a Dagster daily partition key), with a clear error for anything else."""
        try:
            return cls(date.fromisoformat(text.strip()), timezone_name)
        except ValueError:
            raise ValueError(f"not a day: {text!r} (expected YYYY-MM-DD)") from None

    @property
    def key(self) -> str:
        return self.day.isoformat()

    @property
    def start(self) -> datetime:
        """Local midnight, as naive UTC (the warehouse's timestamps)."""
        return _naive_utc(datetime.combine(self.day, time(), ZoneInfo(self.timezone)))

    @property
    def end(self) -> datetime:
        return _naive_utc(datetime.combine(self.day + timedelta(days=1), time(), ZoneInfo(self.timezone)))

    def hours(self) -> list[datetime]:
        """The UTC hour starts of the day; a zone offset that is not whole hours (Asia/Kolkata) gives
        the hours that overlap the day, the first and last only partly inside it."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        hours = []
        while hour < self.end:
            hours.append(hour)
            hour += HOUR
        return hours

    def local(self, moment: datetime) -> datetime:
        """A naive-UTC warehouse time as naive wall-clock time in the digest's zone (what the text shows)."""
        return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(self.timezone)).replace(tzinfo=None)

    def previous(self, days: int = 1) -> "DigestDay":
        return DigestDay(self.day - timedelta(days=days), self.timezone)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def hour_key(hour: datetime) -> str:
    """An hour as the hourly partitions name it (2026-12-01-13:00)."""
    return hour.strftime("%Y-%m-%d-%H:00")


def hours_covered(day: DigestDay, materialized: set[datetime]) -> tuple[list[datetime], list[datetime]]:
    """(covered, missing) hours of `day`, given the partition hours the warehouse holds."""
    hours = day.hours()
    return [h for h in hours if h in materialized], [h for h in hours if h not in materialized]
