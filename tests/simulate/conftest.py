"""A short simulated workload written as trace files once for the trace tests: a cascade (the orders-db
bottleneck: orders fail, and the gateway's checkout with them) and both latency-only faults."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logintel.simulate import Simulation, simulate, write_traces

# Safely in the past: the contract refuses events more than a day ahead.
TRACED_START = datetime(2025, 6, 2, 12, tzinfo=timezone.utc)
TRACED_SCENARIOS = ["db_bottleneck", "network_delay", "cpu_contention"]


@dataclass
class TracedSimulation:
    sim: Simulation
    folder: Path
    written: dict


@pytest.fixture(scope="session")
def traced(tmp_path_factory) -> TracedSimulation:
    sim = simulate(TRACED_START, hours=2, seed=5, scenarios=TRACED_SCENARIOS, requests_per_minute=60,
                   keep_workload=True)
    folder = tmp_path_factory.mktemp("traces")
    return TracedSimulation(sim, folder, write_traces(sim, folder))
