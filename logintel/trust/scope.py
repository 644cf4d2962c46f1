"""What a text is about: the time range and groups its claims are checked against."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


def _naive_utc(ts: datetime | str) -> datetime:
    ts = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


@dataclass(frozen=True)
class GroundingScope:
    """[start, end) in naive UTC, and the groups in it; an empty tuple means every one.

    Only this range is counted; the previous equal-length period, for stated changes, is derived.
    """
    start: datetime
    end: datetime
    services: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    # What a root cause compared the failures with ([start, end) pairs); none: the previous equal period.
    baselines: tuple[tuple[datetime, datetime], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "start", _naive_utc(self.start))
        object.__setattr__(self, "end", _naive_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"grounding scope ends ({self.end}) before it starts ({self.start})")
        for name in ("services", "routes", "error_codes"):
            object.__setattr__(self, name, tuple(v for v in getattr(self, name) if v))
        object.__setattr__(self, "baselines", tuple((_naive_utc(a), _naive_utc(b)) for a, b in self.baselines))

    @classmethod
    def from_incident(cls, incident) -> "GroundingScope":
        """The scope of an incident's own text: its window and its group (an Incident or its dict)."""
        get = incident.get if isinstance(incident, dict) else lambda key: getattr(incident, key)
        return cls(start=get("start_time"), end=get("end_time"), services=(get("service"),),
                   routes=(get("route"),), error_codes=(get("error_code"),) if get("error_code") else ())

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous_start(self) -> datetime:
        return self.start - self.length

    @property
    def baseline_windows(self) -> tuple[tuple[datetime, datetime], ...]:
        return self.baselines or ((self.previous_start, self.start),)

    def describe(self) -> str:
        groups = " ".join(" / ".join(values) for values in (self.services, self.routes, self.error_codes) if values)
        return f"{groups or 'all groups'}, {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M} UTC"
