"""The efficiency analyst on a real DuckDB file: each rule fires above its threshold and not below, bad
attribute values cannot fail it, every sentence grounds, and the simulator's N+1 route is the one it names."""
import json
from datetime import date, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from logintel.agents.analyst_report import ground_findings
from logintel.agents.efficiency.efficiency_analyst import DESCRIPTION, analyse
from logintel.agents.efficiency.efficiency_rules import EfficiencyRules
from logintel.agents.finding import Scope
from logintel.agents.rule_overrides import rules_from
from logintel.daily.days import DigestDay
from logintel.simulate.scenarios import CATALOG, SCENARIO_INDEX
from logintel.store.schema import ensure_tables
from tests.support.simulated_warehouse import simulated_day

DAY = DigestDay(date(2026, 12, 1))
WHOLE_DAY = Scope.whole_day(DAY)


@pytest.fixture()
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(con, "raw_events")
    yield con
    con.close()


def _insert(con, service, route, n, duration, method="GET", db_ms=None, queries=None, payload=None,
            sample_rate=1, per_trace=1, slow_every=0, slow_ms=0.0, start=None, extra=None):
    """n events of one route, a minute apart from 09:00 (or `start`); every `slow_every`-th takes `slow_ms`."""
    start = start or DAY.start + timedelta(hours=9)
    rows = []
    for i in range(n):
        attributes = dict(extra or {})
        if db_ms is not None:
            attributes["db.duration_ms"] = db_ms
        if queries is not None:
            attributes["db.query_count"] = queries
        if payload is not None:
            attributes["http.response.body.size"] = payload
        took = slow_ms if slow_every and i % slow_every == 0 else duration
        rows.append((f"{service}-{route}-{method}-{i}", start + timedelta(seconds=20 * i), service, route, method, took,
                     sample_rate, f"{service}{route}{method}{i // per_trace}", json.dumps(attributes)))
    names = ("event_id", "ts", "service", "route", "method", "duration_ms", "sample_rate", "trace_id", "attributes")
    batch = pa.table({name: [r[i] for r in rows] for i, name in enumerate(names)})  # noqa: F841 (read by the SQL)
    con.execute("""INSERT INTO raw_events (event_id, ts, service, route, method, status, duration_ms, level,
                   sample_rate, trace_id, attributes, partition_hour)
                   SELECT event_id, ts, service, route, method, 200, duration_ms, 'info', sample_rate, trace_id,
                          attributes, date_trunc('hour', ts) FROM batch""")


def _kinds(report) -> dict:
    return {(f.kind, f.entities["routes"][0]): f for f in report.findings}


def test_the_heaviest_routes_are_ranked_with_their_processing_time_saving(warehouse):
    _insert(warehouse, "search", "/search", 200, 100.0, slow_every=4, slow_ms=900.0)  # mean 300 ms, median 100 ms
    _insert(warehouse, "auth", "/me", 200, 5.0)  # 2% of the time: not ranked
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    heavy = found[("processing_time", "/search")]
    assert heavy.severity == "info" and ("processing_time", "/me") not in found
    assert heavy.evidence["saving"] == {"amount": pytest.approx(200 * 200.0 / 1000), "unit": "cpu_seconds_per_day"}
    assert heavy.entities == {"services": ["search"], "routes": ["/search"]}
    assert "60 CPU-seconds" in heavy.text and "40 CPU-seconds a day" in heavy.text


def test_a_database_bound_route_is_named_and_a_light_one_is_not(warehouse):
    _insert(warehouse, "orders", "/orders/{id}", 200, 100.0, db_ms=80.0, queries=2)
    _insert(warehouse, "search", "/search", 200, 100.0, db_ms=30.0, queries=2)
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    bound = found[("database_share", "/orders/{id}")]
    assert bound.evidence["saving"] == {"amount": pytest.approx(200 * 80.0 * 0.5 / 1000), "unit": "db_seconds_per_day"}
    assert bound.severity == "medium" and "add an index" in bound.action
    assert ("database_share", "/search") not in found
    assert not any(k == "n_plus_one" for k, _ in found)  # two queries a request is not N+1


def test_many_queries_per_request_is_n_plus_one_and_a_few_are_not(warehouse):
    _insert(warehouse, "orders", "/orders", 200, 100.0, db_ms=70.0, queries=30)
    _insert(warehouse, "catalog", "/products", 200, 100.0, db_ms=70.0, queries=9)  # under 10 a request
    _insert(warehouse, "catalog", "/categories", 200, 100.0, db_ms=40.0, queries=40)  # 40% in the database
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    n1 = found[("n_plus_one", "/orders")]
    assert n1.evidence["saving"]["amount"] == pytest.approx(200 * 70.0 / 1000 * (1 - 2 / 30), abs=0.1)
    assert n1.evidence["rule"]["by"] == "query_count" and "IN list or a join" in n1.action
    assert n1.evidence["figures"]["queries_mean"] == pytest.approx(30.0)
    assert ("database_share", "/orders") not in found  # the N+1 finding says it, with the better fix
    assert ("n_plus_one", "/products") not in found and ("database_share", "/products") in found
    assert ("n_plus_one", "/categories") not in found


def test_without_query_counts_only_a_cheap_route_dominated_by_the_database_is_n_plus_one(warehouse):
    _insert(warehouse, "catalog", "/products", 300, 20.0, db_ms=18.0)  # cheap and 90% in the database
    _insert(warehouse, "orders", "/orders", 300, 120.0, db_ms=108.0)  # 90% too, but not cheap
    _insert(warehouse, "auth", "/me", 300, 20.0, db_ms=14.0)  # cheap, 70%: the count rule needs counts
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    cheap = found[("n_plus_one", "/products")]
    assert cheap.evidence["rule"]["by"] == "cheap_route_db_share"
    assert cheap.evidence["saving"]["amount"] == pytest.approx(300 * 18.0 * 0.5 / 1000, abs=0.1)
    assert ("n_plus_one", "/orders") not in found and ("database_share", "/orders") in found
    assert ("n_plus_one", "/me") not in found


def test_routes_called_more_than_once_per_trace_are_retries(warehouse):
    _insert(warehouse, "payments", "/payments/{id}", 200, 10.0, per_trace=2)
    _insert(warehouse, "auth", "/me", 200, 10.0)
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    retries = found[("retries", "/payments/{id}")]
    assert retries.evidence["saving"] == {"amount": 100.0, "unit": "requests_per_day"}
    assert "2.00 times per trace" in retries.text and ("retries", "/me") not in found


def test_large_responses_are_a_payload_finding_and_small_ones_are_not(warehouse):
    _insert(warehouse, "catalog", "/products", 200, 10.0, payload=2_500_000)
    _insert(warehouse, "catalog", "/categories", 200, 10.0, payload=100_000)
    _insert(warehouse, "catalog", "/catalog/featured", 200, 10.0,
            extra={"http.response_content_length": "3000000"})  # the older name, as a string
    found = _kinds(analyse(warehouse, WHOLE_DAY))
    big = found[("payload_size", "/products")]
    assert big.evidence["saving"] == {"amount": pytest.approx(200 * 2_500_000 * 0.5), "unit": "bytes_per_day"}
    assert "2.5 MB at the 95th percentile" in big.text
    assert ("payload_size", "/categories") not in found and ("payload_size", "/catalog/featured") in found


def test_bad_attribute_values_count_as_missing_and_do_not_fail_the_run(warehouse):
    for bad in ("abc", -5, "inf", None, {"nested": 1}, [1, 2]):
        _insert(warehouse, "orders", "/orders", 50, 100.0, db_ms=bad, queries=bad, payload=bad)
    report = analyse(warehouse, WHOLE_DAY)
    assert report.examined == {"routes": 1, "requests": 300}
    assert not any(f.kind in ("n_plus_one", "database_share", "payload_size") for f in report.findings)
    warehouse.execute("UPDATE raw_events SET attributes = NULL")
    assert analyse(warehouse, WHOLE_DAY).examined["requests"] == 300


def test_quiet_routes_give_no_findings_and_a_missing_table_is_a_note(tmp_path, warehouse):
    _insert(warehouse, "auth", "/me", 200, 10.0, db_ms=2.0, queries=1)
    _insert(warehouse, "search", "/search", 200, 10.0)
    report = analyse(warehouse, WHOLE_DAY)
    assert report.abstained and report.examined == {"routes": 2, "requests": 400}
    assert "nothing that stands out" in report.summary()
    empty = analyse(duckdb.connect(str(tmp_path / "empty.duckdb")), WHOLE_DAY)
    assert empty.abstained and "no raw_events" in empty.notes[0]


def test_an_hour_scope_scales_its_savings_to_a_day_and_says_so(warehouse):
    hour = DAY.start + timedelta(hours=9)
    _insert(warehouse, "orders", "/orders", 150, 100.0, db_ms=70.0, queries=30, start=hour)  # 20 s apart: 50 min
    (n1,) = [f for f in analyse(warehouse, Scope.hour(DAY, hour)).findings if f.kind == "n_plus_one"]
    assert n1.evidence["saving"]["scaled_from_hours"] == 1.0
    assert n1.evidence["saving"]["amount"] == pytest.approx(24 * 150 * 70.0 / 1000 * (1 - 2 / 30), abs=1)
    assert "between 09:00 and 10:00" in n1.text and "a day at this rate" in n1.text


def test_every_finding_grounds_in_its_own_facts(warehouse):
    _insert(warehouse, "search", "/search", 200, 100.0, slow_every=4, slow_ms=900.0)
    _insert(warehouse, "orders", "/orders/{id}", 200, 100.0, db_ms=80.0, queries=2)
    _insert(warehouse, "orders", "/orders", 200, 100.0, db_ms=70.0, queries=30)
    _insert(warehouse, "catalog", "/products", 300, 20.0, db_ms=18.0)
    _insert(warehouse, "payments", "/payments/{id}", 200, 10.0, per_trace=2)
    _insert(warehouse, "catalog", "/categories", 200, 10.0, payload=2_500_000)
    for scope in (WHOLE_DAY, Scope.hour(DAY, DAY.start + timedelta(hours=9))):
        report = ground_findings(warehouse, analyse(warehouse, scope))
        assert {f.kind for f in report.findings} == {"processing_time", "database_share", "n_plus_one", "retries",
                                                     "payload_size"}
        for f in report.findings:
            assert f.grounding["grounded"] is True, (f.text, f.grounding["reason"])
        assert report.grounding()["ratio"] == 1.0


def test_rules_can_be_overridden_and_the_description_names_what_it_answers(warehouse):
    _insert(warehouse, "orders", "/orders", 200, 100.0, db_ms=70.0, queries=30)
    strict = rules_from(EfficiencyRules(), {"n_plus_one_queries": 50}, "efficiency")
    assert not any(f.kind == "n_plus_one" for f in analyse(warehouse, WHOLE_DAY, strict).findings)
    assert all(word in DESCRIPTION for word in ("N+1", "retries", "payload", "database time", "CPU"))


# The simulator: the opt-in n_plus_one scenario, three hours at 60 events a minute.

def _simulated(con, scenarios):
    start = datetime.combine(DAY.day, datetime.min.time())
    return simulated_day(con, start, seed=7, scenarios=scenarios, hours=3, requests_per_minute=60)


def test_the_simulated_n_plus_one_route_is_the_one_the_analyst_names(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    sim = _simulated(con, ["n_plus_one"])
    (label,) = sim.labels
    assert (label.start, label.end) == (sim.start, sim.start + timedelta(hours=3))  # structural: the whole span
    assert CATALOG[SCENARIO_INDEX["n_plus_one"]].finding == "efficiency:n_plus_one"
    report = ground_findings(con, analyse(con, WHOLE_DAY))
    n1 = [f for f in report.findings if f.kind == "n_plus_one"]
    assert [(f.entities["services"], f.entities["routes"], f.evidence["figures"]["method"]) for f in n1] == [
        (["orders"], ["/orders"], "GET")]
    assert 20 <= n1[0].evidence["figures"]["queries_mean"] <= 60 and n1[0].grounding["grounded"] is True
    counts = [e.attributes["db.query_count"] for e in sim.events
              if "db.duration_ms" in e.attributes and (e.service, e.method, e.route) != ("orders", "GET", "/orders")]
    assert counts and set(counts) <= {1, 2, 3, 4}
    assert not any("db.query_count" in e.attributes for e in sim.events if "db.duration_ms" not in e.attributes)


def test_a_quiet_simulated_day_has_no_n_plus_one(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    _simulated(con, [])
    report = analyse(con, WHOLE_DAY)
    assert report.examined["routes"] > 20
    assert not any(f.kind == "n_plus_one" for f in report.findings)
