"""A cluster incident names its lead group the same way whatever order its patterns came in: the most errors,
then the first by name (a cascade's hops fail once per request each, so ties are the rule, not the exception)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from logintel.analysis.incidents.cluster_incidents import ClusterCandidate, build_cluster_incident
from logintel.events import WideEvent
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour

HOUR = datetime(2026, 12, 5, 15, tzinfo=timezone.utc)
GROUPS = [("payments", "/payments/charge", "PG_TIMEOUT"), ("gateway", "/checkout", "UPSTREAM_UNAVAILABLE"),
          ("orders", "/orders", "PAYMENT_UNAVAILABLE")]


def _events() -> list[str]:
    out = []
    for n in range(20):
        at = HOUR + timedelta(minutes=14, seconds=10 * n)
        for service, route, code in GROUPS:
            out.append(WideEvent(event_id=f"{service}-{n}", timestamp=at, service=service, route=route, method="POST",
                                 status=503, duration_ms=30.0, level="error", error_code=code,
                                 trace_id=f"{n:032x}").to_json())
    return out


def test_the_lead_of_tied_groups_does_not_depend_on_the_order_of_the_patterns(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    lines = _events()
    load_hour(con, HourBatch(hour=HOUR, lines=lines, sources=["t"] * len(lines)))
    rows = [(0, f"p-{s}", s, r, c, "template", 20, 20, None, None) for s, r, c in GROUPS]
    minutes = [0] * 14 + [60] * 4 + [0] * 42
    start = HOUR.replace(tzinfo=None) + timedelta(minutes=14)
    leads = set()
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        candidate = ClusterCandidate(key="k", rows=list(order), minutes=minutes, clusters=[0], start=start,
                                     end=start + timedelta(minutes=4))
        incident = build_cluster_incident(con, HOUR, candidate, None, lambda text: text)
        leads.add((incident.service, incident.route))
    con.close()
    assert leads == {("gateway", "/checkout")}
