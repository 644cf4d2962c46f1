"""POST /v1/metrics on 127.0.0.1: the real OpenTelemetry SDK's OTLP/HTTP metric exporter into the metric_points table,
raw OTLP/JSON with the partial success of a batch holding bad points, and the refusals /v1/logs makes too."""
from __future__ import annotations

import json

from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.adapters.test_otlp_metrics import T0, document, gauge, point
from tests.support.receiver import serving

PROTOBUF = "application/x-protobuf"


def test_the_sdk_exporter_lands_gauges_counters_and_histograms_as_metric_points(tmp_path):
    with serving(tmp_path) as rx:
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{rx.url}/v1/metrics"),
                                               export_interval_millis=3_600_000)
        provider = MeterProvider(resource=Resource.create({"service.name": "checkout",
                                                           "k8s.pod.name": "checkout-7d9f-abcde"}),
                                 metric_readers=[reader])
        meter = provider.get_meter("shop.checkout")

        def cpu(_options: CallbackOptions):
            yield Observation(0.75, {"cpu.mode": "user"})

        meter.create_observable_gauge("k8s.pod.cpu.usage", callbacks=[cpu], unit="{cpu}")
        orders = meter.create_counter("orders.placed", unit="{order}")
        latency = meter.create_histogram("http.server.request.duration", unit="s")
        for n in range(10):
            orders.add(1, {"http.route": "/checkout"})
            latency.record(0.1 * (n + 1), {"http.route": "/checkout"})
        provider.shutdown()  # one collection, exported before it returns
        accepted = rx.running.receiver.metrics.accepted.labels("/v1/metrics")._value.get()
    assert accepted == 3
    zone = FileLandingZone(tmp_path / "landing")
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        reports = [load_hour(con, zone.read_hour(hour)) for hour in zone.hours()]
        assert all(r.accounted() for r in reports) and sum(r.metric_points for r in reports) == 3
        assert con.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0  # points are no events
        rows = {row[0]: row[1:] for row in con.execute(
            "SELECT name, service, instance, kind, temporality, monotonic, value, count, attributes FROM metric_points"
        ).fetchall()}
    finally:
        con.close()
    assert rows["k8s.pod.cpu.usage"] == ("checkout", "checkout-7d9f-abcde", "gauge", None, None, 0.75, None,
                                         '{"cpu.mode":"user"}')
    assert rows["orders.placed"][2:6] == ("sum", "cumulative", True, 10.0)
    assert rows["http.server.request.duration"][2:5] == ("histogram", "cumulative", None)
    assert abs(rows["http.server.request.duration"][5] - 0.55) < 1e-9 and rows["http.server.request.duration"][6] == 10


def test_json_with_bad_points_lands_the_rest_and_answers_partial_success(tmp_path):
    doc = document(gauge("k8s.pod.cpu.usage", point(T0, 0.5), point(T0, "Infinity"), {"asDouble": 1.0},
                         point(T0 + 10**9, "NaN")))
    with serving(tmp_path) as rx:
        status, _, body = rx.post("/v1/metrics", json.dumps(doc).encode())
        again, _, _ = rx.post("/v1/metrics", json.dumps(doc).encode())  # a resend lands the same carrier
        landed = rx.landed()
    assert status == 200 and again == 200
    answer = json.loads(body)["partialSuccess"]
    assert answer["rejectedDataPoints"] == "2"
    assert "2 data points rejected" in answer["errorMessage"] and "1 data points accepted with no recorded value" \
        in answer["errorMessage"]
    assert len({event["event_id"] for event in landed}) == 1 and len(landed) == 2
    letters = [json.loads(line) for path in (tmp_path / "deadletters").rglob("*.jsonl")
               for line in path.read_text().splitlines()]
    assert sorted(letter["cause"] for letter in letters) == ["validation:timestamp"] * 2 + ["validation:value"] * 2
    assert all("resourceMetrics" in json.loads(letter["payload"]) for letter in letters)


def test_what_is_no_metrics_request_is_refused_whole(tmp_path):
    with serving(tmp_path) as rx:
        not_metrics, _, body = rx.post("/v1/metrics", json.dumps({"resourceLogs": []}).encode())
        garbage, _, proto_body = rx.post("/v1/metrics", b"\xff\x00garbage", PROTOBUF)
        wrong_type, _, _ = rx.post("/v1/metrics", b"{}", "text/plain")
        empty, _, empty_body = rx.post("/v1/metrics", b"", PROTOBUF)
    assert not_metrics == 400 and "resourceMetrics" in json.loads(body)["message"]
    assert garbage == 400 and "ExportMetricsServiceRequest" in Status.FromString(proto_body).message
    assert wrong_type == 415
    assert empty == 200 and not ExportMetricsServiceResponse.FromString(empty_body).HasField("partial_success")
