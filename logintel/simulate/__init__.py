"""A realistic multi-service workload of wide events, with labelled, injectable incidents.

`simulate()` produces a day (or any number of hours) of a small shop's traffic: eight services,
33 routes, diurnal load, background errors, and the scenarios in SCENARIOS with ground truth;
`write_traces()` writes the same requests as OpenTelemetry spans (OTLP/JSON files).
"""
from logintel.simulate.labels import ScenarioLabel
from logintel.simulate.scenarios import SCENARIOS
from logintel.simulate.simulation import Simulation, simulate, write_simulation
from logintel.simulate.trace_files import write_traces

__all__ = ["SCENARIOS", "ScenarioLabel", "Simulation", "simulate", "write_simulation", "write_traces"]
