"""How the digest writes numbers and times: one formatter per kind, so the text a reader sees and the
figure its grounding compares agree on rounding."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta


def count(value: float) -> str:
    return f"{round(value):,}"


def percent(share: float) -> str:
    """A share (0.31) as "31%", with a decimal below 10% ("2.3%") and two below 1% ("0.25%")."""
    value = share * 100
    digits = 0 if abs(value) >= 10 else 1 if abs(value) >= 1 else 2
    return f"{value:.{digits}f}%"


def objective(share: float) -> str:
    """An availability objective as written in an SLO: 0.999 as "99.9%", 0.9995 as "99.95%"."""
    return f"{share * 100:.6g}%"


def change(percent_change: float) -> str:
    """A change in percent, signed: "+35%", "−40%" written "-40%"."""
    digits = 0 if abs(percent_change) >= 10 else 1
    return f"{percent_change:+.{digits}f}%"


def duration(ms: float) -> str:
    if ms >= 10_000:
        return f"{ms / 1000:.0f} s"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def seconds(value: float) -> str:
    return f"{value:,.0f}"


def clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def window(start: datetime, end: datetime, day: date) -> str:
    """"from 02:06 to 02:26" on `day`: an end on another day than the start with its date, and the start's
    date where it is not `day` (a window from the evening before), so no end is read as the wrong day; the
    midnight that closes the start's day is 24:00 ("from 00:00 to 00:00" would be no time at all)."""
    first = clock(start) if start.date() == day else f"{start:%Y-%m-%d} {clock(start)}"
    if end.date() == start.date():
        last = clock(end)
    elif end == datetime.combine(start.date() + timedelta(days=1), time(), end.tzinfo):
        last = "24:00"
    else:
        last = f"{end:%Y-%m-%d} {clock(end)}"
    return f"from {first} to {last}"


def where(service: str, route: str | None) -> str:
    return service if not route or route == "*" else f"{service} {route}"
