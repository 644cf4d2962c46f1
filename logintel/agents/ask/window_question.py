"""A question about a stretch of time ("what went wrong between 09:00 and 09:10?") is an investigation of that
window, not a question for the day's analysts: the window read from the question, in the digest's time zone
(the clock an operator reads), as UTC.

Read: "between 09:00 and 09:10", "from 9:00 to 9:10" (or "until", "till"), "09:00-09:10" and "09:00–09:10",
each time as H:MM or HH:MM[:SS], optionally followed by "UTC" (then read as UTC); an end before its start
crosses midnight. A question with a window goes to the investigation unless the router puts the security or
efficiency analyst first ("were we attacked between 02:00 and 03:00?" is still the security analyst's).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_TIME = r"(\d{1,2}:\d{2}(?::\d{2})?)"
_WINDOW = re.compile(rf"(?:between\s+{_TIME}\s+and\s+{_TIME}|from\s+{_TIME}\s+(?:to|until|till)\s+{_TIME}"
                     rf"|{_TIME}\s*[-–—]\s*{_TIME})(\s*utc\b)?", re.IGNORECASE)
# Analysts whose questions keep going to them even when a window is named.
OWN_WINDOWS = ("security", "efficiency")


def asked_window(question: str, day: date, zone: str) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC (aware) when the question names a window of `day`, else None."""
    found = _WINDOW.search(question)
    if not found:
        return None
    first, second = [g for g in found.groups()[:6] if g is not None]
    tz = timezone.utc if found.group(7) else ZoneInfo(zone)
    start, end = (datetime.combine(day, _clock(text), tz) for text in (first, second))
    if end <= start:
        end += timedelta(days=1)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def goes_to_investigation(window: tuple[datetime, datetime] | None, routing: list[tuple[str, float]]) -> bool:
    return window is not None and (not routing or routing[0][0] not in OWN_WINDOWS)


def _clock(text: str) -> time:
    parts = [int(p) for p in text.split(":")]
    if parts[0] > 23 or parts[1] > 59 or (len(parts) > 2 and parts[2] > 59):
        raise ValueError(f"{text!r} is not a time of day")
    return time(*parts)
