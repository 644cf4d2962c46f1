"""An incident carries on into the next hour only with the same cause: a shared symptom (a storefront that fails
with whatever fails below it) does not make one fault's incident swallow the next fault, at another service, that
began at the top of the next hour. The same cause across the hour keeps its id
(test_cluster_incidents.test_a_cluster_incident_that_crosses_the_hour_keeps_its_id)."""
from datetime import datetime, timedelta, timezone

from benchmarks.clusters import pipeline_hour
from logintel.analysis.incidents.continuation import blamed, same_cause
from logintel.analysis.incidents.incident import list_incidents
from logintel.analysis.templates import TemplateMiner
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect
from tests.support.factories import burst, steady

H10 = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


def _cause(*services: str, attribute=None, value=None) -> dict:
    return {"attribute": attribute, "value": value, "service": services[0] if services else None,
            "candidates": [{"service": s} for s in services]}


def test_the_same_cause_is_the_first_blamed_service_among_the_three_blamed_before_or_the_same_named_cause():
    assert blamed(_cause("catalog", "storefront")) == ["catalog", "storefront"]
    assert same_cause(_cause("catalog", "storefront", "search"), _cause("search", "storefront"))
    assert not same_cause(_cause("catalog", "storefront", "search"), _cause("pricing", "storefront"))
    assert not same_cause(_cause("a", "b", "c", "pricing"), _cause("pricing"))  # fourth is not among the three
    assert same_cause(_cause("catalog", attribute="db.instance", value="orders-db"),
                      _cause("pricing", attribute="db.instance", value="orders-db"))
    assert same_cause(_cause(), _cause("pricing")) and same_cause(_cause("catalog"), _cause())  # nothing says


def _failing(service: str, route: str, start: datetime, minutes: int, count: int, code: str, message: str):
    return burst(start, minutes, count, service=service, route=route, error_code=code, status=500, message=message)


def test_a_new_fault_at_the_top_of_the_hour_is_not_carried_on_by_the_last_ones_shared_symptom(tmp_path):
    services = (("storefront", "/checkout"), ("catalog", "/items/{id}"), ("pricing", "/prices/{id}"))
    events = []
    for service, route in services:
        events += steady(H10, 2, 6, service=service, route=route)
    symptom = "upstream request failed: 500 Internal Server Error"
    # 10:50-11:00 the catalog fails, 11:00-11:10 the pricing service: the storefront fails with both
    events += _failing("catalog", "/items/{id}", H10 + timedelta(minutes=50), 10, 300, "ITEM_LOOKUP_FAILED",
                       "item lookup failed: index segment missing")
    events += _failing("pricing", "/prices/{id}", H10 + timedelta(minutes=60), 8, 300, "PRICE_RULES_INVALID",
                       "price rules failed to load: unexpected token")
    events += _failing("storefront", "/checkout", H10 + timedelta(minutes=50), 18, 80, "UPSTREAM_FAILED", symptom)
    zone = FileLandingZone(tmp_path / "landing")
    zone.write(events)
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        miner = TemplateMiner()
        first = [i for i in pipeline_hour(con, zone, H10, miner) if i.kind == "cluster" and not i.merged_into]
        second = [i for i in pipeline_hour(con, zone, H10 + timedelta(hours=1), miner)
                  if i.kind == "cluster" and not i.merged_into]
        assert len(first) == len(second) == 1, (first, second)
        before, after = first[0], second[0]
        assert {"catalog", "storefront"} <= set(before.services) and {"pricing", "storefront"} <= set(after.services)
        assert blamed(before.root_cause)[0] == "catalog" and blamed(after.root_cause)[0] == "pricing"
        assert after.incident_id != before.incident_id
        assert after.first_seen == after.start_time == datetime(2026, 11, 23, 11, 0)
        assert after.evidence["cause_changed_from"]["incident_id"] == before.incident_id
        listed = {i["incident_id"]: i for i in list_incidents(con)}
        assert listed[after.incident_id]["partitions"] == ["2026-11-23-11:00"]
        assert listed[before.incident_id]["partitions"] == ["2026-11-23-10:00"]
        # what the hour folded into the new incident points at it, not at the old id
        folded = {m for (m,) in con.execute("""SELECT merged_into FROM incidents
                                                WHERE partition_hour = '2026-11-23 11:00' AND merged_into IS NOT NULL""")
                  .fetchall()}
        assert folded == {after.incident_id}
    finally:
        con.close()
