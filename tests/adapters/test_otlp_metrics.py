"""OTLP metrics → carrier events: every kind of data point, what is empty, what is rejected (with a document that
reads back), ids that a resend repeats, and the protobuf form read as the JSON one."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import orjson
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from logintel.adapters.otlp_metrics import KEPT_POINTS, is_metrics_document, parse_metrics_document, parse_metrics_request
from logintel.events import METRICS_KEY, METRICS_PREFIX, METRICS_ROUTE, parse_json_line

T0 = 1_750_000_000 * 10**9  # 2025-06-15 15:06:40 UTC


def _resource(service="payments", pod="payments-7d9-x1"):
    attrs = [{"key": "service.name", "value": {"stringValue": service}}]
    if pod:
        attrs.append({"key": "k8s.pod.name", "value": {"stringValue": pod}})
    return {"attributes": attrs}


def document(*metrics, resource=None):
    return {"resourceMetrics": [{"resource": resource or _resource(),
                                 "scopeMetrics": [{"scope": {"name": "test"}, "metrics": list(metrics)}]}]}


def gauge(name, *points, unit="{cpu}"):
    return {"name": name, "unit": unit, "gauge": {"dataPoints": list(points)}}


def point(t, value, **extra):
    return {"timeUnixNano": str(t), "asDouble": value, **extra}


def _points(batch):
    return [p for event in batch.events for p in event.attributes[METRICS_KEY]]


def test_every_kind_of_point_lands_on_a_carrier_with_its_value_and_series():
    doc = document(
        gauge("k8s.pod.cpu.usage", point(T0, 0.25), point(T0 + 60 * 10**9, 0.5)),
        {"name": "process.cpu.time", "unit": "s", "sum": {
            "aggregationTemporality": "AGGREGATION_TEMPORALITY_CUMULATIVE", "isMonotonic": True,
            "dataPoints": [{"startTimeUnixNano": str(T0 - 10**9), "timeUnixNano": str(T0), "asInt": "42",
                            "attributes": [{"key": "state", "value": {"stringValue": "user"}}]}]}},
        {"name": "http.server.request.duration", "unit": "s", "histogram": {
            "aggregationTemporality": 1, "dataPoints": [{"timeUnixNano": str(T0), "count": "4", "sum": 2.0,
                                                        "bucketCounts": ["1", "3"], "explicitBounds": [0.5]}]}},
        {"name": "rpc.latency", "summary": {"dataPoints": [{"timeUnixNano": str(T0), "count": "2", "sum": 0.5}]}},
    )
    batch = parse_metrics_document(doc)
    assert batch.rejected == [] and batch.points == 5 and batch.empty == 0
    assert len(batch.events) == 1
    carrier = batch.events[0]
    assert carrier.event_id.startswith(METRICS_PREFIX) and carrier.route == METRICS_ROUTE
    assert carrier.service == "payments" and carrier.timestamp == datetime.fromtimestamp(T0 / 1e9, tz=timezone.utc)
    by_name = {(p["n"], p["t"]): p for p in _points(batch)}
    assert by_name[("k8s.pod.cpu.usage", T0 + 60 * 10**9)]["v"] == 0.5
    counter = by_name[("process.cpu.time", T0)]
    assert (counter["k"], counter["temp"], counter["mono"], counter["v"], counter["s"], counter["a"]) == (
        "sum", "cumulative", True, 42.0, T0 - 10**9, {"state": "user"})
    histogram = by_name[("http.server.request.duration", T0)]
    assert (histogram["v"], histogram["c"], histogram["temp"]) == (0.5, 4, "delta")
    assert by_name[("rpc.latency", T0)]["v"] == 0.25
    assert {p["i"] for p in _points(batch)} == {"payments-7d9-x1"}
    # the carrier is an ordinary canonical line: it lands and reads back as every event does
    assert parse_json_line(carrier.to_json()).attributes == carrier.attributes


def test_points_with_no_recorded_value_are_counted_empty_and_kept_nowhere():
    doc = document(gauge("k8s.pod.cpu.usage", point(T0, "NaN"), point(T0, 1.0, flags=1), point(T0 + 1, 0.3)),
                   {"name": "h", "histogram": {"dataPoints": [{"timeUnixNano": str(T0), "count": "0"}]}})
    batch = parse_metrics_document(doc)
    assert (batch.points, batch.empty, batch.rejected) == (1, 3, [])


def test_a_bad_point_or_metric_is_rejected_alone_with_a_document_that_reads_back():
    good = point(T0, 0.1)
    doc = document(gauge("k8s.pod.cpu.usage", good, {"asDouble": 1.0}, point(T0, "Infinity"), point(T0, "abc"),
                         point(10**9, 1.0), {"timeUnixNano": str(T0)},
                         point(T0, 1.0, attributes=[{"key": 7, "value": {}}])),
                   {"unit": "1", "gauge": {"dataPoints": [good]}},
                   {"name": "no.data"})
    batch = parse_metrics_document(doc)
    assert batch.points == 1
    reasons = sorted((e.location.rsplit(".", 1)[-1], e.field) for e in batch.rejected)
    assert reasons == [("dataPoints[1]", "timestamp"), ("dataPoints[2]", "value"), ("dataPoints[3]", "value"),
                       ("dataPoints[4]", "timestamp"), ("dataPoints[5]", "value"), ("dataPoints[6]", "attributes"),
                       ("metrics[1]", "name"), ("metrics[2]", "<metric>")]
    for error in batch.rejected:
        replay = error.replay_document()
        assert is_metrics_document(replay)
        again = parse_metrics_document(orjson.loads(orjson.dumps(replay)))
        assert again.points == 0 and len(again.rejected) == 1  # the same verdict when read back
    one = next(e for e in batch.rejected if e.location.endswith("dataPoints[2]")).replay_document()
    assert one["resourceMetrics"][0]["resource"] == _resource()
    assert one["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"] == [point(T0, "Infinity")]


def test_a_resource_that_is_not_otlp_rejects_its_entry_whole_and_keeps_it():
    doc = document(gauge("k8s.pod.cpu.usage", point(T0, 0.1)), resource={"attributes": "not a list"})
    doc["resourceMetrics"].append(document(gauge("k8s.pod.cpu.usage", point(T0, 0.2)))["resourceMetrics"][0])
    batch = parse_metrics_document(doc)
    assert batch.points == 1 and len(batch.rejected) == 1
    assert batch.rejected[0].replay_document() == {"resourceMetrics": [doc["resourceMetrics"][0]]}


def test_a_resend_makes_the_same_carriers_and_other_points_other_ones():
    doc = document(gauge("k8s.pod.cpu.usage", point(T0, 0.1), point(T0 + 10**9, 0.2)))
    first, again = parse_metrics_document(doc), parse_metrics_document(copy.deepcopy(doc))
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]
    other = parse_metrics_document(document(gauge("k8s.pod.cpu.usage", point(T0, 0.1), point(T0 + 10**9, 0.3))))
    assert other.events[0].event_id != first.events[0].event_id


def test_carriers_split_by_hour_and_size_and_default_the_service():
    hour = 3600 * 10**9
    points = [point(T0 + i * 10**6, float(i)) for i in range(KEPT_POINTS + 5)] + [point(T0 + hour, 1.0)]
    batch = parse_metrics_document(document(gauge("g", *points), resource={"attributes": []}),
                                   default_service="fallback")
    assert batch.points == KEPT_POINTS + 6
    assert sorted(len(e.attributes[METRICS_KEY]) for e in batch.events) == [1, 5, KEPT_POINTS]
    assert {e.service for e in batch.events} == {"fallback"}
    for event in batch.events:  # every carrier lies in the hour of its points
        hours = {p["t"] // hour for p in event.attributes[METRICS_KEY]}
        assert hours == {int(event.timestamp.timestamp() * 10**9) // hour}


def test_the_protobuf_request_reads_as_its_json_form():
    doc = document(gauge("k8s.pod.cpu.usage", point(T0, 0.25)),
                   {"name": "c", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                         "dataPoints": [{"timeUnixNano": str(T0), "asInt": "7"}]}})
    request = Parse(orjson.dumps(doc), ExportMetricsServiceRequest())
    from_proto, from_json = parse_metrics_request(request), parse_metrics_document(doc)
    assert [e.to_json() for e in from_proto.events] == [e.to_json() for e in from_json.events]


def test_a_point_too_big_for_a_carrier_is_rejected_alone_and_its_neighbours_land():
    from logintel.adapters.otlp_metrics import MAX_POINT_BYTES
    from logintel.events import MAX_RECORD_BYTES
    huge = [{"key": "sql", "value": {"stringValue": "x" * (MAX_POINT_BYTES + 1)}}]
    batch = parse_metrics_document(document(gauge("k8s.pod.cpu.usage", point(T0, 0.1), point(T0, 0.2, attributes=huge),
                                                  point(T0 + 1, 0.3))))
    assert batch.points == 2 and [e.field for e in batch.rejected] == ["attributes"]
    assert all(len(e.to_json()) < MAX_RECORD_BYTES for e in batch.events)
