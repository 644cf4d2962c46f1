"""Semantic incidents on the simulator's database-bottleneck scenario: different messages in several
services become one incident whose root cause names the database, and background errors stay out."""
from datetime import datetime, timedelta, timezone

import pytest

from benchmarks.clusters import pipeline_hour
from logintel.analysis.analysis_quality import score_scenarios
from logintel.analysis.incidents import list_incidents
from logintel.analysis.templates import TemplateMiner
from logintel.simulate import simulate
from logintel.store.landing_files import FileLandingZone


@pytest.fixture(scope="module")
def scenario_warehouse(tmp_path_factory):
    from logintel.store.warehouse import connect
    tmp = tmp_path_factory.mktemp("bottleneck")
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    sim = simulate(start=start, hours=3, seed=11, scenarios=["db_bottleneck"])
    zone = FileLandingZone(tmp / "landing")
    zone.write(sim.events)
    con = connect(tmp / "warehouse.duckdb")
    miner = TemplateMiner(state_path=tmp / "templates.json")
    for i in range(3):
        pipeline_hour(con, zone, start + timedelta(hours=i), miner)
    yield con, sim.labels
    con.close()


def test_one_incident_spans_the_services_and_names_the_database(scenario_warehouse):
    con, labels = scenario_warehouse
    label = labels[0]
    clusters = [i for i in list_incidents(con) if i["kind"] == "cluster"]
    assert clusters, "the bottleneck should surface as a cluster incident"
    incident = max(clusters, key=lambda i: i["errors"])
    assert {"orders", "inventory", "payments"} <= set(incident["services"])
    assert {"DB_POOL_EXHAUSTED", "QUERY_TIMEOUT", "DB_CONN_RESET"} <= set(incident["error_codes"])
    assert label.cause_component in incident["root_cause_analysis"]
    assert incident["writer"] == "offline/v1"
    # the rule incidents of its groups are folded into it rather than listed beside it
    folded = [i for i in list_incidents(con) if i["merged_into"] == incident["incident_id"]]
    assert folded and all(i["kind"] == "threshold" for i in folded)


def test_purity_and_recall_against_the_labels(scenario_warehouse):
    con, labels = scenario_warehouse
    (row,) = score_scenarios(con, labels)
    assert row["kind"] == "cluster" and row["services"] >= 3
    assert row["purity"] >= 0.95 and row["recall"] >= 0.9 and row["names_cause"]


def test_cluster_incident_text_is_grounded(scenario_warehouse):
    con, _ = scenario_warehouse
    incident = max((i for i in list_incidents(con) if i["kind"] == "cluster"), key=lambda i: i["errors"])
    grounding = incident["grounding"]
    assert not grounding["invented"]
    assert grounding["claims"] >= 5
