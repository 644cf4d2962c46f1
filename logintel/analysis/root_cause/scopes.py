"""What an incident's events are contrasted with: its failing events (its groups, its window) against
the same services and routes before the onset, and the same window a day and a week earlier when the
warehouse holds them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

# The before-onset baseline is as long as the incident, within these bounds: long enough to hold a
# steady sample of healthy traffic, short enough to stay the same time of day.
MIN_BASELINE = timedelta(minutes=15)
MAX_BASELINE = timedelta(minutes=60)
EARLIER_PERIODS = (timedelta(days=1), timedelta(days=7))

Group = tuple[str, str, "str | None"]  # (service, route, error_code)
# Two failures this close in time are the same minutes (a burst may start or end inside a window).
OVERLAP_SLACK = timedelta(minutes=5)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether [a_start, a_end) and [b_start, b_end) meet, give or take OVERLAP_SLACK."""
    return a_start < b_end + OVERLAP_SLACK and b_start < a_end + OVERLAP_SLACK


@dataclass(frozen=True)
class ContrastScope:
    key: str                                   # the incident (or candidate incident) this is about
    groups: tuple[Group, ...]
    start: datetime                            # the failing window [start, end), naive UTC
    end: datetime
    baselines: tuple[tuple[datetime, datetime], ...]

    @property
    def units(self) -> list[tuple[str, str]]:
        """The (service, route) pairs of its groups: what the baseline is drawn from."""
        return sorted({(service, route) for service, route, _ in self.groups})


def baseline_windows(start: datetime, end: datetime,
                     covered: Callable[[datetime, datetime], bool]) -> tuple[tuple[datetime, datetime], ...]:
    """The before-onset window, then the same window one day and one week earlier where `covered`
    says the warehouse has events."""
    length = min(max(end - start, MIN_BASELINE), MAX_BASELINE)
    windows = [(start - length, start)]
    windows += [(start - back, end - back) for back in EARLIER_PERIODS if covered(start - back, end - back)]
    return tuple(windows)


@dataclass(frozen=True)
class Episode:
    """What a scope is built from: an incident (or candidate) with its groups and window."""
    key: str
    groups: tuple[Group, ...]
    start: datetime
    end: datetime
    first_seen: datetime  # where the incident began, perhaps in an earlier hour


def onsets(episodes: list[Episode], gap: timedelta = MIN_BASELINE) -> dict[str, datetime]:
    """Where each episode's failures began: its own first_seen, or earlier when an episode of one of its
    services ran up to it. A route that breaks again after a lull, or a second route of a service whose
    first one broke minutes before (a deploy rolling out), is one episode: the minutes in between are no
    baseline."""
    units = {e.key: {s for s, _, _ in e.groups} for e in episodes}
    onset = {e.key: min(e.start, e.first_seen) for e in episodes}
    changed = True
    while changed:
        changed = False
        for a in episodes:
            for b in episodes:
                if b.key != a.key and units[a.key] & units[b.key] and onset[b.key] < onset[a.key] \
                        and b.end + gap >= onset[a.key]:
                    onset[a.key] = onset[b.key]
                    changed = True
    return onset


def contrast_scopes(episodes: list[Episode], covered: Callable[[datetime, datetime], bool]) -> list[ContrastScope]:
    """One scope per episode, its baselines ending where its failures began."""
    begun = onsets(episodes)
    return [ContrastScope(key=e.key, groups=e.groups, start=e.start, end=e.end,
                          baselines=baseline_windows(begun[e.key], e.end, covered)) for e in episodes]
