"""The simulator's labelled hour (all six default scenarios in one hour) after an hour of healthy traffic,
through the whole hourly pipeline into a real DuckDB warehouse: what batched stages are compared on."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from benchmarks.clusters import pipeline_hour
from logintel.analysis.templates import TemplateMiner
from logintel.simulate import simulate
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect

HOUR = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


@dataclass
class LabelledHour:
    con: duckdb.DuckDBPyConnection
    hour: datetime          # the labelled hour (naive UTC)
    incidents: list         # its incidents as the incidents asset wrote them (texts and grounding included)


def labelled_hour(folder: Path, seed: int = 7, requests_per_minute: float = 120.0) -> LabelledHour:
    zone = FileLandingZone(folder / "landing")
    # The hour before is healthy traffic only, so baselines and previous periods hold real events.
    zone.write(simulate(start=HOUR - timedelta(hours=1), hours=1, seed=seed, scenarios=[],
                        requests_per_minute=requests_per_minute).events)
    zone.write(simulate(start=HOUR, hours=1, seed=seed, requests_per_minute=requests_per_minute).events)
    con = connect(folder / "warehouse.duckdb")
    miner = TemplateMiner(state_path=folder / "templates.json")
    pipeline_hour(con, zone, HOUR - timedelta(hours=1), miner)
    found = pipeline_hour(con, zone, HOUR, miner)
    return LabelledHour(con=con, hour=HOUR.replace(tzinfo=None), incidents=found)
