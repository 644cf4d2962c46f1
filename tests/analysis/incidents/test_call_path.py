"""A failure seen at several hops of a call chain is one incident blaming the deepest hop: unit rules on incident
records, and end to end from OpenTelemetry spans (a card processor slows, payments times out, orders and the
storefront fail) through a real DuckDB warehouse, the hour's incidents and their offline, grounded text."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from logintel.adapters.otlp_spans import parse_trace_document
from logintel.analysis.incidents.call_path import fold_along_calls
from logintel.analysis.incidents.hour_assembly import detect_hour_incidents
from logintel.analysis.incidents.incident import Incident
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec, compute_windows
from logintel.config import LLMConfig
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from logintel.narration.incident_text import write_summaries
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.support.trace_documents import CLIENT, SERVER, START_NS, document, span

HOUR = datetime(2026, 5, 1, 10)


def incident(name: str, service: str, peer: str | None, errors: int = 100, start: int = 20, end: int = 40,
             attribute: str = "peer.service") -> Incident:
    cause = ({"kind": "dependency", "attribute": attribute, "value": peer, "confidence": 0.9,
              "evidence": [{"attribute": attribute, "value": peer, "share_failing": 1.0, "share_baseline": 0.0}]}
             if peer else {"kind": "deploy", "attribute": "service.version", "value": "2.0", "confidence": 0.8})
    return Incident(incident_id=name, partition_hour=HOUR, service=service, route=f"/{service}", error_code=None,
                    start_time=HOUR + timedelta(minutes=start), end_time=HOUR + timedelta(minutes=end),
                    first_seen=HOUR + timedelta(minutes=start), breached_windows=3, threshold=10, peak_errors=50,
                    errors=errors, root_cause=cause)


def test_three_hops_each_blaming_its_neighbour_become_one_incident_blaming_the_deepest():
    hops = [incident("front", "storefront", "orders"), incident("orders", "orders", "payments"),
            incident("pay", "payments", "acme-psp", errors=40)]
    fold_along_calls(hops)
    standing = [i for i in hops if not i.merged_into]
    assert [i.incident_id for i in standing] == ["pay"]
    assert {i.incident_id: i.merged_into for i in hops} == {"front": "orders", "orders": "pay", "pay": None}
    cause = standing[0].root_cause
    assert cause["service"] == "acme-psp" and cause["value"] == "acme-psp" and cause["at"] == "payments"
    assert cause["path"] == ["storefront", "orders", "payments", "acme-psp"]


def test_an_incident_of_other_minutes_or_naming_no_failing_service_stays_apart():
    early = incident("early", "storefront", "orders", start=0, end=10)
    late = incident("late", "orders", "payments", start=30, end=50)
    alone = incident("alone", "search", "opensearch-data-2", attribute="server.address")
    deploy = incident("deploy", "catalog", None)
    fold_along_calls([early, late, alone, deploy])
    assert not any(i.merged_into for i in (early, late, alone, deploy))
    assert alone.root_cause["service"] == "opensearch-data-2" and "path" not in alone.root_cause
    assert deploy.root_cause["service"] == "catalog"


def test_two_incidents_naming_each_other_do_not_both_vanish():
    a, b = incident("a", "orders", "payments"), incident("b", "payments", "orders")
    fold_along_calls([a, b])
    assert sum(1 for i in (a, b) if not i.merged_into) == 1


def _cascade(n: int, at_ms: float, failing: bool, rng: random.Random) -> dict:
    trace, ids = f"{n:032x}", [f"{n:010x}{k:06x}" for k in range(6)]
    psp = 2500 + rng.uniform(0, 500) if failing else rng.uniform(40, 80)
    pay, hop = psp + 4, lambda code: ({"http__response__status_code": code, "error": "upstream failed"} if failing
                                     else {"http__response__status_code": 200})
    orders, front = pay + 6, pay + 10
    return document(
        ("storefront", [span(ids[0], "POST /checkout", SERVER, at_ms, at_ms + front, trace=trace,
                             http__route="/checkout", **hop(500)),
                        span(ids[1], "POST", CLIENT, at_ms + 1, at_ms + 1 + orders, ids[0], trace=trace,
                             peer__service="orders")]),
        ("orders", [span(ids[2], "POST /orders", SERVER, at_ms + 2, at_ms + 1 + orders, ids[1], trace=trace,
                         http__route="/orders", **hop(502)),
                    span(ids[3], "POST", CLIENT, at_ms + 3, at_ms + 3 + pay, ids[2], trace=trace,
                         peer__service="payments")]),
        ("payments", [span(ids[4], "POST /pay", SERVER, at_ms + 4, at_ms + 3 + pay, ids[3], trace=trace,
                           http__route="/pay", **hop(504)),
                      span(ids[5], "POST", CLIENT, at_ms + 5, at_ms + 5 + psp, ids[4], trace=trace,
                           peer__service="acme-psp")]))


def test_a_cascade_from_spans_is_one_incident_blaming_the_processor_with_its_path(tmp_path):
    rng, events = random.Random(3), []
    for minute in range(60):  # 30 checkouts a minute; from 10:30 to 10:45 the processor hangs on 60% of them
        for k in range(30):
            failing = 30 <= minute < 45 and rng.random() < 0.6
            events += parse_trace_document(_cascade(minute * 30 + k, minute * 60_000 + k * 2000, failing, rng)).events
    zone = FileLandingZone(tmp_path / "landing")
    zone.write(events)
    con = connect(tmp_path / "warehouse.duckdb")
    hour = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc)
    for landed in zone.hours():
        load_hour(con, zone.read_hour(landed))
    compute_windows(con, hour)
    found = detect_hour_incidents(con, hour, Thresholds(), WindowSpec(), redact=lambda text: text)
    standing = [i for i in found.clusters + found.rules if not i.merged_into]
    assert len(standing) == 1
    cause = standing[0].root_cause
    assert set(standing[0].services) == {"storefront", "orders", "payments"}
    assert (cause["service"], cause["attribute"], cause["value"]) == ("acme-psp", "peer.service", "acme-psp")
    assert cause["path"] == ["storefront", "orders", "payments", "acme-psp"]
    ranked = [(c["rank"], c["service"], c["source"]) for c in cause["candidates"]]
    assert ranked[:2] == [(1, "acme-psp", "call path"), (2, "payments", "investigation")]
    write_summaries(con, standing, LLMGateway(LLMConfig()), Redactor(secret="test"))
    assert "storefront → orders → payments → acme-psp" in standing[0].root_cause_analysis
    assert standing[0].grounding["ratio"] == 1.0
