"""The simulator's trace files through ingest, the warehouse (with its spans table) and `investigate`: each
latency-only fault is named at its service, by the kind of change it makes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from logintel.analysis.investigation import investigate
from logintel.ingest.log_files import ingest_paths
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour


@pytest.fixture(scope="module")
def warehouse(traced, tmp_path_factory):
    root = tmp_path_factory.mktemp("investigated")
    landing = FileLandingZone(root / "landing")
    ingest_paths(traced.written["paths"], landing, DeadLetterStore(root / "dead"), fmt="otlp")
    con = connect(root / "warehouse.duckdb")
    reports = [load_hour(con, landing.read_hour(hour)) for hour in landing.hours()]
    assert sum(r.spans for r in reports) > sum(r.loaded for r in reports)  # calls and queries besides requests
    yield con
    con.close()


def _label(traced, name):
    return next(label for label in traced.sim.labels if label.scenario == name)


@pytest.mark.parametrize("scenario, service, kind", [
    ("network_delay", "inventory", "network_gap"),
    ("cpu_contention", "catalog", "self_time"),
])
def test_a_latency_fault_is_named_at_its_service(traced, warehouse, scenario, service, kind):
    label = _label(traced, scenario)
    start = label.start.replace(tzinfo=None)
    result = investigate(warehouse, start, start + timedelta(minutes=5))
    first = result.candidates[0]
    assert (first["service"], first["kind"]) == (service, kind)
    assert result.baseline_source == "minutes before"


def test_every_call_between_services_is_matched_by_its_span_ids(warehouse):
    """Each SERVER span with a parent of another service hangs under a CLIENT span of its caller."""
    orphans, calls = warehouse.execute("""
        SELECT count(*) FILTER (caller.span_id IS NULL), count(*) FROM spans callee
        LEFT JOIN spans caller ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
        WHERE callee.kind = 'server' AND callee.parent_span_id IS NOT NULL""").fetchone()
    assert calls > 0 and orphans == 0
    kinds = warehouse.execute("""
        SELECT DISTINCT caller.kind FROM spans callee JOIN spans caller
          ON caller.trace_id = callee.trace_id AND caller.span_id = callee.parent_span_id
        WHERE callee.kind = 'server' AND caller.service <> callee.service""").fetchall()
    assert kinds == [("client",)]
