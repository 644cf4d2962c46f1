"""Simulated days loaded into a real DuckDB warehouse, hour by hour as raw_events' partitions are."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import duckdb

from logintel.simulate import simulate
from logintel.simulate.simulation import Simulation
from logintel.store.warehouse import HourBatch, ensure_schema, load_hour


def load_simulation(con: duckdb.DuckDBPyConnection, sim: Simulation) -> int:
    """Every event of `sim` into raw_events; returns how many."""
    ensure_schema(con)
    lines = defaultdict(list)
    for event in sim.events:
        hour = event.timestamp.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        lines[hour].append(event.to_json())
    for hour, batch in sorted(lines.items()):
        load_hour(con, HourBatch(hour=hour, lines=batch, sources=["sim"] * len(batch)))
    return len(sim.events)


def simulated_day(con: duckdb.DuckDBPyConnection, start: datetime, *, seed: int = 7, scenarios=None,
                  hours: int = 24, requests_per_minute: float = 60.0) -> Simulation:
    sim = simulate(start, hours=hours, seed=seed, scenarios=scenarios, requests_per_minute=requests_per_minute)
    load_simulation(con, sim)
    return sim
