"""The workload simulator: determinism, the WideEvent contract, realism, and each scenario's signature."""
from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from logintel.events import parse_event
from logintel.simulate import SCENARIOS, ScenarioLabel, Simulation, simulate, write_simulation

DAY = datetime(2024, 5, 6, tzinfo=timezone.utc)
THRESHOLD = 10


@pytest.fixture(scope="module")
def day() -> Simulation:
    return simulate(DAY, hours=24)


@pytest.fixture(scope="module")
def quiet_day() -> Simulation:
    return simulate(DAY, hours=24, scenarios=[])


@pytest.fixture(scope="module")
def morning() -> Simulation:
    return simulate(DAY + timedelta(hours=9), hours=3, seed=11)


def label(sim: Simulation, name: str) -> ScenarioLabel:
    return next(lab for lab in sim.labels if lab.scenario == name)


def within(sim: Simulation, lab: ScenarioLabel) -> list:
    return [e for e in sim.events if lab.start <= e.timestamp < lab.end]


def window_counts(events, minutes: int = 5, step: int | None = None) -> Counter:
    """Errors per (service, route, error code, window start); tumbling unless `step` is given."""
    counts: Counter = Counter()
    step = step or minutes
    for e in events:
        if e.error_code is None:
            continue
        minute = int(e.timestamp.timestamp() // 60)
        for start in range(minute - minute % step - (minutes - step), minute + 1, step):
            counts[(e.service, e.route, e.error_code, start)] += 1
    return counts


def p99(values) -> float:
    return float(np.percentile(values, 99))


def test_same_seed_gives_identical_events_and_another_seed_differs():
    first = simulate(DAY, hours=2, seed=3)
    again = simulate(DAY, hours=2, seed=3)
    other = simulate(DAY, hours=2, seed=4)
    assert [e.to_json() for e in first.events] == [e.to_json() for e in again.events]
    assert [lab.to_dict() for lab in first.labels] == [lab.to_dict() for lab in again.labels]
    assert {e.event_id for e in first.events}.isdisjoint({e.event_id for e in other.events})


def test_every_event_round_trips_through_the_contract(morning):
    for event in morning.events:
        assert parse_event(json.loads(event.to_json())) == event


def test_ids_are_well_formed_and_events_sorted_inside_the_span(morning):
    events = morning.events
    assert len({e.event_id for e in events}) == len(events)
    assert len({e.request_id for e in events}) == len(events)
    uuid7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(uuid7.match(e.event_id) for e in events)
    assert all(re.fullmatch(r"[0-9a-f]{32}", e.trace_id) for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    end = morning.start + timedelta(hours=morning.hours)
    assert morning.start <= events[0].timestamp and events[-1].timestamp < end
    assert {e.sample_rate for e in events} == {1}


@pytest.mark.slow
def test_topology_is_a_realistic_shop(day):
    events = day.events
    assert len({e.service for e in events}) >= 6
    assert len({(e.service, e.method, e.route) for e in events}) >= 30
    assert {"region", "version", "host"} <= set(events[0].attributes)
    assert any("db.duration_ms" in e.attributes and "db.instance" in e.attributes for e in events)
    assert any(e.attributes.get("upstream") == "pg-provider" for e in events)
    levels = Counter(e.level for e in events)
    assert levels["info"] > levels["warn"] > levels["error"] > 0 and levels["debug"] > 0
    assert all((e.level == "error") == (e.status >= 500) for e in events)
    assert all(e.error_code is None or e.error_type and e.error_message for e in events)


@pytest.mark.slow
def test_latency_bodies_are_log_normal_with_heavy_tails(quiet_day):
    search = np.array([e.duration_ms for e in quiet_day.events if e.route == "/search" and e.status == 200])
    median, p90, p999 = np.percentile(search, [50, 90, 99.9])
    assert 30 < median < 70
    assert p999 / median > 3 * (p90 / median)


@pytest.mark.slow
def test_users_repeat_and_mostly_keep_one_ip(quiet_day):
    by_user: dict[str, Counter] = defaultdict(Counter)
    for e in quiet_day.events:
        if e.user_id and e.attributes.get("caller") is None:
            by_user[e.user_id][e.client_ip] += 1
    requests = np.array([sum(ips.values()) for ips in by_user.values()])
    assert len(by_user) > 5000 and requests.max() > 20 * np.median(requests)
    main_ip_share = sum(max(ips.values()) for ips in by_user.values()) / requests.sum()
    assert main_ip_share > 0.8


@pytest.mark.slow
def test_traffic_is_diurnal(quiet_day):
    per_hour = Counter(e.timestamp.hour for e in quiet_day.events)
    night = sum(per_hour[h] for h in (1, 2, 3))
    midday = sum(per_hour[h] for h in (12, 13, 14))
    assert night < 0.45 * midday


@pytest.mark.slow
def test_background_alone_never_reaches_the_default_threshold(quiet_day):
    assert quiet_day.labels == []
    tumbling = window_counts(quiet_day.events)
    sliding = window_counts(quiet_day.events, step=1)
    assert max(tumbling.values()) <= THRESHOLD
    assert max(sliding.values()) <= THRESHOLD
    assert sum(e.error_code is not None for e in quiet_day.events) > 1000  # there is noise, just not much


@pytest.mark.slow
def test_labels_cover_all_scenarios_in_separate_windows(day):
    assert sorted(lab.scenario for lab in day.labels) == sorted(SCENARIOS)
    # Separate, except the one scenario made to burst inside the database bottleneck's window.
    by_name = {lab.scenario: lab for lab in day.labels}
    inside, host = by_name["search_index_outage"], by_name["db_bottleneck"]
    assert host.start < inside.start and inside.end < host.end
    spans = sorted((lab.start, lab.end) for lab in day.labels if lab is not inside)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    named = {lab.scenario: (lab.cause_kind, lab.cause_attribute, lab.cause_value) for lab in day.labels}
    assert named["db_bottleneck"] == ("dependency", "db.instance", "orders-db-primary")
    assert named["deploy_regression"] == ("deploy", "version", "2.5.0")
    assert named["slow_degradation"] == (None, None, None)  # no errors, so no cause an incident could name
    assert DAY <= spans[0][0] and spans[-1][1] <= DAY + timedelta(hours=24)
    traces = {e.trace_id for e in day.events}
    for lab in day.labels:
        assert lab.cause and lab.cause_component and lab.services and lab.routes and lab.trace_ids
        assert set(lab.trace_ids) <= traces
        as_dict = json.loads(json.dumps(lab.to_dict()))
        assert as_dict["start"].endswith("Z") and as_dict["trace_ids"] == lab.trace_ids


@pytest.mark.slow
def test_db_bottleneck_surfaces_differently_in_three_services(day, quiet_day):
    lab = label(day, "db_bottleneck")
    assert lab.cause_component == "orders-db"
    events = within(day, lab)
    injected = [e for e in events if e.error_code in {"DB_POOL_EXHAUSTED", "QUERY_TIMEOUT", "DB_CONN_RESET"}]
    codes_by_service = defaultdict(set)
    for e in injected:
        codes_by_service[e.service].add(e.error_code)
        assert e.attributes["db.instance"] == "orders-db-primary"
    assert len(codes_by_service) >= 3
    assert len(set().union(*codes_by_service.values())) >= 3
    assert max(window_counts(events).values()) > THRESHOLD
    slow = np.median([e.attributes["db.duration_ms"] for e in events if e.service == "orders"])
    usual = np.median([e.attributes["db.duration_ms"] for e in quiet_day.events if e.service == "orders"])
    assert slow > 10 * usual


@pytest.mark.slow
def test_payment_provider_latency_times_out_charges(day):
    lab = label(day, "payment_provider_latency")
    assert lab.cause_component == "pg-provider" and "PG_TIMEOUT" in lab.error_codes
    charges = [e for e in day.events if e.route == "/payments/charge"]
    inside = [e for e in charges if lab.start <= e.timestamp < lab.end]
    outside = [e for e in charges if not lab.start <= e.timestamp < lab.end]
    timeouts = [e for e in inside if e.error_code == "PG_TIMEOUT"]
    assert len(timeouts) > THRESHOLD
    assert all(e.status == 504 and e.error_type == "UpstreamTimeout" for e in timeouts)
    assert all(e.attributes["upstream"] == "pg-provider" for e in inside)
    assert np.median([e.duration_ms for e in inside]) > 5 * np.median([e.duration_ms for e in outside])


@pytest.mark.slow
def test_credential_stuffing_tries_many_users_from_few_ips(day):
    lab = label(day, "credential_stuffing")
    traces = set(lab.trace_ids)
    attack = [e for e in day.events if e.trace_id in traces]
    assert {e.route for e in attack} == {"/login"} and {e.method for e in attack} == {"POST"}
    assert len({e.user_id for e in attack}) > 300
    attack_ips = {e.client_ip for e in attack}
    assert len(attack_ips) <= 10
    assert {e.user_agent for e in attack} == {"python-requests/2.31.0"}
    assert Counter(e.error_code for e in attack).most_common(1)[0][0] == "INVALID_CREDENTIALS"
    assert not any(e.client_ip in attack_ips for e in day.events if e.trace_id not in traces)


@pytest.mark.slow
def test_slow_degradation_stretches_the_tail_for_hours_without_errors(day):
    lab = label(day, "slow_degradation")
    assert lab.end - lab.start >= timedelta(hours=3) and lab.error_codes == []
    search = [e for e in within(day, lab) if e.route == "/search" and e.method == "GET"]
    hour = timedelta(hours=1)
    first = [e.duration_ms for e in search if e.timestamp < lab.start + hour]
    last = [e.duration_ms for e in search if e.timestamp >= lab.end - hour]
    assert p99(last) >= 2 * p99(first)
    heap_first = np.mean([e.attributes["runtime.heap_used_mb"] for e in search if e.timestamp < lab.start + hour])
    heap_last = np.mean([e.attributes["runtime.heap_used_mb"] for e in search if e.timestamp >= lab.end - hour])
    assert heap_last > heap_first + 500
    assert max(window_counts(search).values(), default=0) <= THRESHOLD


@pytest.mark.slow
def test_deploy_regression_changes_version_then_rolls_back(day):
    lab = label(day, "deploy_regression")
    catalog = [e for e in day.events if e.service == "catalog"]
    before = {e.attributes["version"] for e in catalog if e.timestamp < lab.start}
    after = {e.attributes["version"] for e in catalog if e.timestamp >= lab.end}
    during = Counter(e.attributes["version"] for e in catalog if lab.start <= e.timestamp < lab.end)
    assert before == after == {"2.4.1"}
    assert during.most_common(1)[0][0] == "2.5.0"
    failures = [e for e in catalog if e.attributes["version"] == "2.5.0" and e.error_code == "INTERNAL_ERROR"]
    assert {e.error_type for e in failures} == {"TypeError"} and all(e.status == 500 for e in failures)
    assert max(window_counts(failures).values()) > THRESHOLD


def test_short_span_still_holds_every_scenario(morning):
    end = morning.start + timedelta(hours=3)
    assert len(morning.labels) == len(SCENARIOS)
    for lab in morning.labels:
        assert morning.start <= lab.start < lab.end <= end and lab.trace_ids
    slow = label(morning, "slow_degradation")
    search = [e for e in within(morning, slow) if e.route == "/search"]
    quarter = (slow.end - slow.start) / 4
    first = [e.duration_ms for e in search if e.timestamp < slow.start + quarter]
    last = [e.duration_ms for e in search if e.timestamp >= slow.end - quarter]
    assert p99(last) >= 2 * p99(first)


def test_scenarios_add_to_the_same_background():
    quiet = simulate(DAY, hours=3, scenarios=[])
    attacked = simulate(DAY, hours=3, scenarios=["credential_stuffing"])
    assert [lab.scenario for lab in attacked.labels] == ["credential_stuffing"]
    assert {e.event_id for e in quiet.events} < {e.event_id for e in attacked.events}


def test_unknown_scenario_is_rejected():
    with pytest.raises(ValueError, match="unknown scenarios"):
        simulate(DAY, hours=1, scenarios=["alien_invasion"])


def test_write_simulation_writes_jsonl_and_labels(tmp_path):
    sim = simulate(DAY, hours=1, requests_per_minute=50)
    result = write_simulation(sim, tmp_path / "out")
    lines = result["events"].read_text().splitlines()
    assert result["count"] == len(lines) == len(sim.events)
    assert parse_event(json.loads(lines[0])) == sim.events[0]
    labels = json.loads(result["labels"].read_text())
    assert [lab["scenario"] for lab in labels] == [lab.scenario for lab in sim.labels]
