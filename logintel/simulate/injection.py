"""What an injected incident works with: its time window, the workload rows and its own random stream."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from logintel.simulate.population import Population
from logintel.simulate.table import EventTable
from logintel.simulate.topology import ROUTE_COLUMNS, SERVICE_INDEX


def to_us(ts: datetime) -> int:
    return int(round(ts.timestamp() * 1_000_000))


@dataclass(frozen=True)
class ScenarioWindow:
    start: datetime
    end: datetime

    @property
    def start_us(self) -> int:
        return to_us(self.start)

    @property
    def end_us(self) -> int:
        return to_us(self.end)

    def contains(self, ts_us: np.ndarray) -> np.ndarray:
        return (ts_us >= self.start_us) & (ts_us < self.end_us)

    def progress(self, ts_us: np.ndarray) -> np.ndarray:
        """0 at the start of the window, 1 at its end."""
        return np.clip((ts_us - self.start_us) / (self.end_us - self.start_us), 0.0, 1.0)

    def intensity(self, ts_us: np.ndarray, rise: float = 0.15, fall: float = 0.15) -> np.ndarray:
        """A trapezoid: ramps up over the first `rise` of the window, down over the last `fall`, 0 outside."""
        x = self.progress(ts_us)
        level = np.minimum(np.clip(x / rise, 0.0, 1.0), np.clip((1.0 - x) / fall, 0.0, 1.0))
        return np.where(self.contains(ts_us), level, 0.0)


@dataclass
class Injection:
    table: EventTable
    window: ScenarioWindow
    tag: int  # the scenario's index, written to the rows it touches
    rng: np.random.Generator
    population: Population

    def rows_on(self, routes: list[int]) -> np.ndarray:
        """Rows of `routes` that start inside the window."""
        t = self.table
        return np.flatnonzero(np.isin(t["route"], routes) & self.window.contains(t["ts_us"]) & t["alive"])

    def rows_of_service(self, service: str) -> np.ndarray:
        t = self.table
        return np.flatnonzero((ROUTE_COLUMNS.service[t["route"]] == SERVICE_INDEX[service])
                              & self.window.contains(t["ts_us"]) & t["alive"])

    def service_of(self, rows: np.ndarray) -> np.ndarray:
        return ROUTE_COLUMNS.service[self.table["route"][rows]]
