"""Run the simulator end to end: traffic, calls, background errors, incidents, events and labels."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from logintel.events import WideEvent
from logintel.simulate.calltree import expand_calls, settle
from logintel.simulate.injection import Injection, to_us
from logintel.simulate.labels import ScenarioLabel, label_from_events
from logintel.simulate.materialize import materialize
from logintel.simulate.noise import add_background_errors
from logintel.simulate.population import build_population
from logintel.simulate.scenarios import ALL_SCENARIOS, CATALOG, SCENARIO_INDEX, SCENARIOS
from logintel.simulate.table import EventTable
from logintel.simulate.traffic import client_requests, sample_latency, stamp_runtime


@dataclass
class Simulation:
    """Events sorted by timestamp; labels in the order their windows start; with `keep_workload`, the settled
    workload the events were made from (what `write_traces` writes spans from)."""
    events: list[WideEvent]
    labels: list[ScenarioLabel]
    start: datetime
    hours: int
    seed: int
    workload: EventTable | None = None


def simulate(start: datetime, hours: int = 24, seed: int = 7, scenarios: list[str] | None = None,
             requests_per_minute: float = 200.0, keep_workload: bool = False) -> Simulation:
    """Simulate `hours` of the shop from `start` (UTC); `requests_per_minute` counts events at the daily mean.

    `scenarios=None` injects the default day's SCENARIOS; name others of ALL_SCENARIOS (the attacks and
    waste the analysts find) to add them; `[]` gives background traffic only. `keep_workload` keeps the
    workload table for `write_traces` (a day's is about 40 MB).
    """
    start = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start.astimezone(timezone.utc)
    if hours < 1:
        raise ValueError(f"hours must be at least 1 (got {hours})")
    if not requests_per_minute > 0:
        raise ValueError(f"requests_per_minute must be positive (got {requests_per_minute})")
    chosen = list(SCENARIOS) if scenarios is None else list(scenarios)
    unknown = [name for name in chosen if name not in SCENARIO_INDEX]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; known: {', '.join(ALL_SCENARIOS)}")

    # Separate streams: the background is the same whichever scenarios are injected, and each
    # scenario draws the same numbers whatever the others do.
    traffic_seed, *scenario_seeds = np.random.SeedSequence(seed).spawn(1 + len(CATALOG))
    rng = np.random.default_rng(traffic_seed)
    population = build_population(rng, active_users=max(500, int(100 * requests_per_minute)),
                                  visitors=max(500, int(75 * requests_per_minute)))
    table, load = client_requests(start, hours, requests_per_minute, population, rng)
    table = expand_calls(table, rng)
    sample_latency(table, load, to_us(start), rng)
    stamp_runtime(table, rng)
    add_background_errors(table, rng)

    windows = {}
    for index, scenario in enumerate(CATALOG):
        if scenario.name not in chosen:
            continue
        windows[index] = scenario.window(start, hours)
        injection = Injection(table, windows[index], index, np.random.default_rng(scenario_seeds[index]), population)
        table = scenario.inject(injection)
    settle(table)
    # A call made in the last moments of the span starts after it ends: it belongs to the next span.
    alive = table["alive"]
    alive &= table["ts_us"] < to_us(start + timedelta(hours=hours))
    events, touched_by, failed_by = materialize(table, population)

    touched: dict[int, list[WideEvent]] = {index: [] for index in windows}
    failed: dict[int, list[WideEvent]] = {index: [] for index in windows}
    for event, toucher, culprit in zip(events, touched_by, failed_by):
        if toucher >= 0:
            touched[toucher].append(event)
        if culprit >= 0:
            failed[culprit].append(event)
    labels = [label_from_events(CATALOG[i].name, CATALOG[i].cause, CATALOG[i].cause_component,
                                windows[i].start, windows[i].end, touched[i], failed[i], CATALOG[i].cause_kind,
                                CATALOG[i].cause_attribute, CATALOG[i].cause_value)
              for i in sorted(windows, key=lambda i: windows[i].start)]
    return Simulation(events=events, labels=labels, start=start, hours=hours, seed=seed,
                      workload=table if keep_workload else None)


def write_simulation(sim: Simulation, out_dir: Path) -> dict:
    """Write events.jsonl (one event per line) and labels.json into `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events_path, labels_path = out_dir / "events.jsonl", out_dir / "labels.json"
    with events_path.open("w", encoding="utf-8") as f:
        for event in sim.events:
            f.write(event.to_json())
            f.write("\n")
    labels_path.write_text(json.dumps([label.to_dict() for label in sim.labels], indent=2) + "\n",
                           encoding="utf-8")
    return {"events": events_path, "labels": labels_path, "count": len(sim.events)}
