"""Watching the landing zone for groups over their error threshold, for the threshold sensor.

It never opens the warehouse: each touched hour (and the one before, for the lookback) is loaded
into an in-memory DuckDB with the same validation and window code as the assets. A breach fires
once per (group, window): at the onset of a run of breaching windows, and again at the first
window of each later hour the run reaches, so every affected hourly partition is materialized.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.store.landing import HOUR, LandingZone, hour_floor
from logintel.store.warehouse import load_landed

FIRED_RETENTION = timedelta(hours=48)


@dataclass(frozen=True)
class Breach:
    service: str
    route: str
    error_code: str | None
    window_start: datetime
    window_end: datetime
    errors: int
    threshold: float

    @property
    def key(self) -> str:
        return f"{self.service}|{self.route}|{self.error_code or ''}|{self.window_start.isoformat()}"

    @property
    def partition_key(self) -> str:
        """The Dagster hourly partition that owns this window (the hour of its end, exclusive)."""
        return hour_floor(self.window_end - timedelta(microseconds=1)).strftime("%Y-%m-%d-%H:00")


@dataclass
class WatchState:
    watermark: str | None = None
    fired: dict[str, str] = field(default_factory=dict)  # breach key -> window_start ISO

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "WatchState":
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(watermark=data.get("watermark"), fired=dict(data.get("fired", {})))

    def to_cursor(self) -> str:
        return json.dumps({"watermark": self.watermark, "fired": self.fired}, sort_keys=True)


def _breaches_in_hour(zone: LandingZone, hour: datetime, thresholds: Thresholds, spec: WindowSpec) -> list[Breach]:
    con = duckdb.connect()
    try:
        load_landed(con, zone, hour - HOUR)
        load_landed(con, zone, hour)
        compute_windows(con, hour, spec)
        rows = con.execute("""
            SELECT service, route, error_code, window_start, window_end, errors
            FROM windowed_aggregates ORDER BY service, route, error_code, window_start""").fetchall()
    finally:
        con.close()
    breaches, previous = [], None
    for service, route, code, start, end, errors in rows:
        limit = thresholds.for_group(service, route, code)
        group = (service, route, code)
        if errors > limit:
            onset = previous is None or previous[0] != group or start - previous[1] > timedelta(minutes=spec.step_minutes)
            if onset:
                breaches.append(Breach(service, route, code, start, end, int(errors), limit))
            previous = (group, start)
    return breaches


def evaluate(zone: LandingZone, state: WatchState, thresholds: Thresholds, spec: WindowSpec,
             now: datetime, max_age: timedelta = timedelta(hours=3)) -> tuple[list[Breach], WatchState, list[datetime]]:
    """New breaches in hours that received data since the cursor (and are at most `max_age` old)."""
    changes = zone.changes_since(state.watermark)
    oldest = hour_floor(now) - max_age
    hours = sorted(h for h in changes.hours if h >= oldest)
    new: list[Breach] = []
    fired = dict(state.fired)
    for hour in hours:
        for breach in _breaches_in_hour(zone, hour, thresholds, spec):
            if breach.key not in fired:
                fired[breach.key] = breach.window_start.isoformat()
                new.append(breach)
    horizon = (now - FIRED_RETENTION).replace(tzinfo=None).isoformat()
    fired = {k: v for k, v in fired.items() if v >= horizon}
    return new, WatchState(watermark=changes.watermark, fired=fired), hours
