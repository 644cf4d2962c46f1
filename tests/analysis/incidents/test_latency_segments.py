"""What raw_events say about a slow route's dependencies (a real DuckDB file): each `<ns>.duration_ms` compared per
value of its namespace's attributes, from flat dotted keys and from a nested object alike, with the number of values
an attribute takes (its specificity); attributes outside every namespace are not read."""
from __future__ import annotations

from datetime import datetime, timedelta

from logintel.analysis.incidents.latency_segments import LatencySegment, latency_facts
from logintel.events import parse_event
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour

T0 = datetime(2025, 6, 1, 10, 0)


def _warehouse(tmp_path, attributes_at):
    """`/pay` of orders: one request every 10 s from 10:00 to 10:40, attributes from `attributes_at(minute, k)`."""
    records = []
    for k in range(240):
        minute = k // 6
        records.append({"event_id": f"e{k}", "timestamp": (T0 + timedelta(seconds=10 * k)).isoformat() + "Z",
                        "service": "orders", "route": "/pay", "duration_ms": 20.0, "level": "info", "status": 200,
                        "attributes": attributes_at(minute, k)})
    zone = FileLandingZone(tmp_path / "landing")
    zone.write([parse_event(r) for r in records])
    con = connect(tmp_path / "warehouse.duckdb")
    for hour in zone.hours():
        load_hour(con, zone.read_hour(hour))
    return con


SEGMENT = LatencySegment("orders", "/pay", start=T0 + timedelta(minutes=30), end=T0 + timedelta(minutes=40),
                         onset=T0 + timedelta(minutes=30), before=T0)


def test_a_dependency_that_slowed_is_found_from_flat_and_nested_attributes(tmp_path):
    def attributes(minute, k):
        slow = minute >= 30
        if k % 2:  # flat dotted keys, as the OpenTelemetry adapters write them
            return {"peer.service": "psp", "peer.duration_ms": 150.0 if slow else 10.0, "host": f"h{k % 7}",
                    "region": "eu"}
        return {"db": {"instance": f"db-{(k // 2) % 4}", "duration_ms": 3.0}, "host": f"h{k % 7}"}  # nested, unchanged

    facts = latency_facts(_warehouse(tmp_path, attributes), [SEGMENT])[0]
    found = {(s.metric, s.by, s.value): s for s in facts.slowdowns}
    psp = found[("peer.duration_ms", "peer.service", "psp")]
    assert (psp.before_ms, psp.after_ms) == (10.0, 150.0)
    assert psp.failing_n == 30 and psp.baseline_n == 90 and psp.specificity == 1
    db = found[("db.duration_ms", "db.instance", "db-0")]
    assert db.before_ms == db.after_ms == 3.0 and db.specificity == 4
    assert {s.by for s in facts.slowdowns} == {"peer.service", "db.instance"}
    assert "region" not in facts.cardinality  # outside every namespace: never read
    assert facts.events == 60 and facts.during.requests == 60 and facts.before.requests == 180


def test_odd_keys_and_no_dependency_at_all(tmp_path):
    def attributes(minute, k):
        return {'q"x.duration_ms': 5.0 if minute < 30 else 50.0, 'q"x': "a", "note": "{not an object}"}

    facts = latency_facts(_warehouse(tmp_path, attributes), [SEGMENT])[0]
    [only] = facts.slowdowns
    assert (only.metric, only.by, only.value, only.before_ms, only.after_ms) == ('q"x.duration_ms', 'q"x', "a", 5.0, 50.0)

    plain = latency_facts(_warehouse(tmp_path / "plain", lambda minute, k: {"host": "h1"}), [SEGMENT])[0]
    assert plain.slowdowns == [] and plain.events == 60
