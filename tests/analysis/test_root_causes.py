"""Root causes on a real DuckDB warehouse, from hand-built events: a deploy that breaks two routes of one
service is one incident naming the new version; a database that slowed is named by its instance, not its
technology; another service failing in the same minutes for its own reason is its own incident; and a
warehouse without clusters still gets its rule incidents."""
from datetime import datetime, timedelta

from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from logintel.store.landing import HourBatch
from logintel.store.warehouse import load_hour
from tests.support.factories import burst, steady

H = datetime(2026, 11, 23, 10)


def warehouse(con, events):
    load_hour(con, HourBatch(hour=H, lines=[e.to_json() for e in events], sources=[str(i) for i in range(len(events))]))
    compute_windows(con, H)
    found = detect_hour_incidents(con, H, Thresholds(), WindowSpec(), Redactor("t").redact)
    write_summaries(con, found.all, LLMGateway(LLMConfig()), Redactor("t"))
    return found


def standing(found):
    return [i for i in found.all if not i.merged_into]


def catalog_deploy():
    """catalog 4.1.3 all hour on two routes; from 10:20, 4.2.0 and both routes fail on it."""
    events = []
    for route in ("/products/{id}", "/categories"):
        events += steady(H, 1, 6, service="catalog", route=route, version="4.1.3", region="eu-west-1")
        events += burst(H + timedelta(minutes=20), 20, 240, service="catalog", route=route, version="4.2.0",
                        region="eu-west-1", error_code="INTERNAL_ERROR", status=500, message="TypeError")
    return events


def test_a_deploy_breaking_two_routes_is_one_incident_naming_the_version(con):
    found = warehouse(con, catalog_deploy())
    [incident] = standing(found)
    assert incident.kind == "cause" and set(incident.routes) == {"/products/{id}", "/categories"}
    cause = incident.root_cause
    assert (cause["kind"], cause["attribute"], cause["value"]) == ("deploy", "version", "4.2.0")
    assert cause["evidence"][0]["share_failing"] == 1.0 and cause["evidence"][0]["share_baseline"] == 0.0
    # region=eu-west-1 is carried by every request, failing or not: it is not named
    assert "region" not in incident.root_cause_analysis
    assert "version=4.2.0" in incident.root_cause_analysis and incident.grounding["ratio"] == 1.0
    assert all(r.merged_into == incident.incident_id for r in found.rules)


def orders_db(start, minutes, slow_ms, errors=0):
    common = dict(service="orders", route="/orders", **{"db.system": "postgresql", "db.instance": "orders-db-primary"})
    events = steady(start, minutes / 60, 8, **common, **{"db.duration_ms": 5.0})
    if errors:
        events += burst(start, minutes, errors, error_code="DB_POOL_EXHAUSTED", status=503, **common,
                        **{"db.duration_ms": slow_ms})
    return events


def test_the_slowed_database_is_named_by_its_instance_with_its_latencies(con):
    events = orders_db(H, 20, 5.0) + orders_db(H + timedelta(minutes=20), 15, 4600.0, errors=300)
    # another service on another PostgreSQL, healthy: db.system=postgresql is not what broke
    events += steady(H, 1, 8, service="catalog", route="/products",
                     **{"db.system": "postgresql", "db.instance": "catalog-db-primary", "db.duration_ms": 4.0})
    found = warehouse(con, events)
    [incident] = standing(found)
    cause = incident.root_cause
    assert (cause["kind"], cause["attribute"], cause["value"]) == ("dependency", "db.instance", "orders-db-primary")
    top = cause["evidence"][0]
    assert top["attribute"] == "db.duration_ms" and top["before_ms"] == 5.0 and top["after_ms"] == 4600.0
    assert "p50 5 ms before" in incident.root_cause_analysis and "4.6 s" in incident.root_cause_analysis
    assert incident.grounding["ratio"] == 1.0, incident.grounding


def test_a_failure_in_the_same_minutes_without_the_cause_is_its_own_incident(con):
    events = catalog_deploy()
    # search fails in the same minutes because one node is gone; it carries no catalog version
    events += steady(H, 1, 6, service="search", route="/search", **{"server.address": "opensearch-data-1"})
    events += steady(H, 1, 6, service="search", route="/search", **{"server.address": "opensearch-data-2"})
    events += burst(H + timedelta(minutes=22), 15, 150, service="search", route="/search", error_code="SEARCH_UNAVAILABLE",
                    status=503, **{"server.address": "opensearch-data-2"})
    found = warehouse(con, events)
    by_service = {tuple(i.services): i for i in standing(found)}
    assert set(by_service) == {("catalog",), ("search",)}
    assert by_service[("catalog",)].root_cause["value"] == "4.2.0"
    search = by_service[("search",)].root_cause
    assert (search["attribute"], search["value"]) == ("server.address", "opensearch-data-2")


def test_nothing_standing_out_is_said_not_guessed(con):
    events = steady(H, 1, 6, service="auth", route="/me", region="eu-west-1")
    events += burst(H + timedelta(minutes=30), 10, 120, service="auth", route="/me", region="eu-west-1",
                    error_code="INTERNAL_ERROR", status=500)
    [incident] = standing(warehouse(con, events))
    assert incident.root_cause["kind"] == "unknown" and incident.root_cause["value"] is None
    assert incident.root_cause_analysis.startswith("No single cause stands out")


def test_bad_attribute_values_never_fail_the_run(con):
    events = steady(H, 1, 6, service="orders", route="/orders", shard=3)
    odd = [{"deep": {"er": [1, 2]}}, None, 1.5, True, "x" * 5000, {"a": {"b": {"c": 1}}}]
    events += [e for i, e in enumerate(burst(H + timedelta(minutes=30), 10, 200, service="orders", route="/orders",
                                              error_code="E", status=500)) if e.attributes.update(
        {"mixed": odd[i % len(odd)], "request.key": f"k-{i}"}) or True]  # 200 distinct values too
    [incident] = standing(warehouse(con, events))
    assert incident.root_cause["kind"] in ("unknown", "infrastructure", "deploy", "dependency", "client")


def test_incidents_on_a_warehouse_where_clusters_never_ran(con):
    found = warehouse(con, catalog_deploy())
    assert found.notes and "clusters" in found.notes[0]
    assert standing(found)  # the rule incidents, grouped by their cause, instead of a catalog error


def test_the_root_cause_text_names_values_as_they_are_not_as_redacted(con):
    agent = "Mozilla/5.0 (Macintosh) Chrome/124.0.0.0 Safari/537.36"  # 124.0.0.0 reads like an address
    events = steady(H, 1, 6, service="catalog", route="/home", user_agent="curl/8.0")
    events += burst(H + timedelta(minutes=30), 10, 150, service="catalog", route="/home", user_agent=agent,
                    error_code="INTERNAL_ERROR", status=500)
    [incident] = standing(warehouse(con, events))
    assert agent in incident.root_cause_analysis and incident.grounding["invented"] == []


def test_what_describes_a_failure_is_never_its_cause(con):
    """Two services fail one after the other, each for a reason of its own; their failed requests carry what
    describes the failure — OpenTelemetry's error.type and exception.type, logintel's error.source=log (known
    only from their log lines), OpenTracing's error=true, the span status as Jaeger exporters tag it. Those are
    on every failure because it failed: no incident names them, and the two failures are not one incident
    through them."""
    describing = {"error.source": "log", "error.type": "java.lang.RuntimeException",
                  "exception.type": "java.lang.RuntimeException", "error": True, "otel.status_code": "ERROR",
                  "otel.status_description": "java.lang.RuntimeException: lookup failed"}
    events = steady(H, 1, 6, service="travel", route="/trips") + steady(H, 1, 6, service="route", route="/routes")
    events += burst(H + timedelta(minutes=10), 5, 60, service="travel", route="/trips", status=500,
                    message="trip lookup failed", **describing)
    events += burst(H + timedelta(minutes=17), 5, 60, service="route", route="/routes", status=500,
                    message="route lookup failed", **describing)
    found = warehouse(con, events)
    named = {(i.root_cause or {}).get("attribute") for i in found.all}
    assert not {a for a in named if a and (a.startswith(("error.", "exception.", "otel.")) or a == "error")}, named
    standing_services = [set(i.services) for i in standing(found)]
    assert {"travel"} in standing_services and {"route"} in standing_services, standing_services
