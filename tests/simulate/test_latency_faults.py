"""The opt-in latency-only faults: they slow the right requests without failing any, label the slowed
service, and and leave everything before them exactly as it was."""
from datetime import datetime, timezone

import numpy as np
import pytest

from logintel.simulate import SCENARIOS, simulate
from logintel.simulate.scenarios import CATALOG

DAY = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def quiet():
    return simulate(DAY, hours=3, seed=5, scenarios=[])


def _inside(sim, label, **match):
    return [e for e in sim.events if label.start <= e.timestamp < label.end
            and all((e.attributes.get(k) if "." in k else getattr(e, k)) == v for k, v in match.items())]


def _median(events, key="duration_ms"):
    values = [e.attributes.get(key) if "." in key else getattr(e, key) for e in events]
    return float(np.median([v for v in values if v is not None]))


def test_latency_faults_are_opt_in():
    assert "network_delay" not in SCENARIOS and "cpu_contention" not in SCENARIOS
    assert {s.name for s in CATALOG if not s.default} >= {"network_delay", "cpu_contention"}


def test_network_delay_slows_inventorys_callers_not_inventory(quiet):
    sim = simulate(DAY, hours=3, seed=5, scenarios=["network_delay"])
    (label,) = sim.labels
    assert label.error_codes == [] and label.cause_component == "inventory"
    assert (label.cause_kind, label.cause_attribute, label.cause_value) == ("dependency", "peer.service", "inventory")
    assert {"catalog", "inventory"} <= set(label.services)
    callers = _inside(sim, label, service="catalog", route="/products/{id}", **{"peer.service": "inventory"})
    before = _inside(quiet, label, service="catalog", route="/products/{id}", **{"peer.service": "inventory"})
    assert _median(callers, "peer.duration_ms") > _median(before, "peer.duration_ms") + 80
    assert _median(callers) > 2 * _median(before)
    # inventory's own times do not see the wire
    own = _inside(sim, label, service="inventory", route="/inventory/{sku}")
    assert _median(own) == pytest.approx(_median(_inside(quiet, label, service="inventory", route="/inventory/{sku}")))
    assert sum(1 for e in sim.events if e.error_code) == sum(1 for e in quiet.events if e.error_code)


def test_cpu_contention_slows_catalog_and_its_caller_not_its_database(quiet):
    sim = simulate(DAY, hours=3, seed=5, scenarios=["cpu_contention"])
    (label,) = sim.labels
    assert label.error_codes == [] and label.cause_component == "catalog"
    assert set(label.services) == {"catalog", "gateway"}
    for route in ("/products", "/categories/{slug}/products"):
        slow, calm = (_inside(s, label, service="catalog", route=route) for s in (sim, quiet))
        assert _median(slow) > 1.8 * _median(calm)
        assert _median(slow, "db.duration_ms") == pytest.approx(_median(calm, "db.duration_ms"))
    home, calm = (_inside(s, label, service="gateway", route="/api/v1/home") for s in (sim, quiet))
    assert _median(home, "peer.duration_ms") > 2 * _median(calm, "peer.duration_ms")
    assert sum(1 for e in sim.events if e.error_code) == sum(1 for e in quiet.events if e.error_code)


@pytest.mark.parametrize("scenario", ["network_delay", "cpu_contention"])
def test_a_fault_changes_nothing_before_it_and_adds_no_request(quiet, scenario):
    sim = simulate(DAY, hours=3, seed=5, scenarios=[scenario])
    (label,) = sim.labels
    assert len(sim.events) == len(quiet.events)
    earlier = [e.to_json() for e in sim.events if e.timestamp < label.start]
    assert earlier and earlier == [e.to_json() for e in quiet.events if e.timestamp < label.start]
