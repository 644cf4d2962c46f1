"""POST /v1/traces on 127.0.0.1: the real OpenTelemetry SDK's OTLP/HTTP span exporter, raw OTLP/JSON, the
partial success of a batch with a bad span, and the refusals /v1/logs makes too."""
from __future__ import annotations

import json

from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status as SpanStatus, StatusCode

from tests.support.receiver import serving
from tests.support.trace_documents import CLIENT, SERVER, TRACE, as_protobuf, checkout_trace, document, span

PROTOBUF = "application/x-protobuf"


def _tracer(url: str, **exporter_options):
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "4.2.0",
                                                        "k8s.pod.name": "checkout-7d9f-abcde"}))
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", **exporter_options)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))
    return provider.get_tracer("shop.checkout"), provider


def _place_order(tracer) -> None:
    """A request as instrumentation records it: the server span, a call to payments, a database query."""
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER,
                                      attributes={"http.request.method": "POST", "http.route": "/checkout",
                                                  "http.response.status_code": 201}):
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT, attributes={"peer.service": "payments"}):
            pass
        with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT,
                                          attributes={"db.system": "postgresql", "db.namespace": "shop"}):
            pass


def _fail_payment(tracer) -> None:
    with tracer.start_as_current_span("POST /pay", kind=SpanKind.SERVER, record_exception=False,
                                      set_status_on_exception=False,
                                      attributes={"http.route": "/pay", "http.response.status_code": 504}) as server:
        try:
            raise TimeoutError("card processor timed out")
        except TimeoutError as exc:
            server.record_exception(exc)
            server.set_status(SpanStatus(StatusCode.ERROR, "card processor timed out"))


def test_the_sdk_exporter_sends_a_trace_and_each_request_lands_as_one_event_with_its_calls(tmp_path):
    with serving(tmp_path) as rx:
        tracer, provider = _tracer(rx.url, compression=Compression.Gzip)
        for _ in range(5):
            _place_order(tracer)
        _fail_payment(tracer)
        assert provider.force_flush(10_000)
        provider.shutdown()
        landed = rx.landed()
        metrics = rx.running.receiver.metrics
        received = metrics.received.labels("/v1/traces")._value.get()
        accepted = metrics.accepted.labels("/v1/traces")._value.get()
    assert (received, accepted) == (16, 16)  # 6 requests and their 10 calls: all accepted, 6 events
    orders = [e for e in landed if e["route"] == "/checkout"]
    assert len(orders) == 5 and len({e["event_id"] for e in orders}) == 5
    for event in orders:
        attrs = event["attributes"]
        assert (event["service"], event["method"], event["status"], event["level"]) == ("checkout", "POST", 201, "info")
        assert (attrs["peer.service"], attrs["peer.call_count"]) == ("payments", 1)
        assert (attrs["db.system"], attrs["db.namespace"], attrs["db.query_count"]) == ("postgresql", "shop", 1)
        assert 0 <= attrs["self_ms"] <= event["duration_ms"]
        assert attrs["version"] == "4.2.0" and attrs["k8s.pod.name"] == "checkout-7d9f-abcde"
        assert event["event_id"] == f"span-{event['trace_id']}-{attrs['span_id']}"
    (failure,) = [e for e in landed if e["route"] == "/pay"]
    assert (failure["level"], failure["status"], failure["error.type"]) == ("error", 504, "TimeoutError")
    assert failure["error.message"] == "card processor timed out"
    assert "Traceback" in failure["attributes"]["exception.stacktrace"]


def test_json_is_answered_in_json_and_a_resent_batch_makes_the_same_event_ids(tmp_path):
    body = json.dumps(checkout_trace()).encode()
    with serving(tmp_path) as rx:
        status, headers, answer = rx.post("/v1/traces", body, "application/json")
        assert status == 200 and headers["content-type"].startswith("application/json") and json.loads(answer) == {}
        assert rx.post("/v1/traces", as_protobuf(checkout_trace()).SerializeToString(), PROTOBUF)[0] == 200
        landed = rx.landed()
    assert len(landed) == 2 and len({e["event_id"] for e in landed}) == 1  # resent, in either encoding: one event
    assert landed[0]["attributes"]["self_ms"] == 20.0



def test_a_lone_surrogate_escape_in_a_span_does_not_cost_the_batch(tmp_path):
    # as on /v1/logs: orjson refused it and the whole export was a 400, which a Collector drops
    body = json.dumps(checkout_trace()).replace('"checkout-7d9f-abcde"', '"checkout-\\ud800"').encode()
    assert b"checkout-\\ud800" in body
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/traces", body, "application/json")
        landed = rx.landed()
    assert status == 200 and json.loads(answer) == {}
    assert [e["attributes"]["k8s.pod.name"] for e in landed] == ["checkout-\ufffd"]


def test_a_protobuf_span_whose_text_is_not_utf8_does_not_cost_the_batch(tmp_path):
    body = as_protobuf(checkout_trace()).SerializeToString()
    assert body.count(b"checkout-7d9f-abcde") == 1
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/traces", body.replace(b"checkout-7d9f-abcde", b"checkout-7d9f-\xffbcde"),
                                    PROTOBUF)
        landed = rx.landed()
    assert status == 200 and not ExportTraceServiceResponse.FromString(answer).HasField("partial_success")
    assert [e["attributes"]["k8s.pod.name"] for e in landed] == ["checkout-7d9f-\ufffdbcde"]

def test_a_bad_span_is_a_partial_success_and_a_call_whose_request_comes_later_is_held_for_it(tmp_path):
    doc = document(("checkout", [
        span("a000000000000001", "GET /ok", SERVER, 0, 10),
        span("a000000000000002", "GET /bad", SERVER, 10, 5),                  # ends before it starts
        span("a000000000000003", "GET", CLIENT, 1, 2, "a0000000000000ff",     # its request comes in a later batch
             peer__service="payments"),
    ]))
    later = document(("checkout", [span("a0000000000000ff", "GET /later", SERVER, 0, 10)]))
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/traces", as_protobuf(doc).SerializeToString(), PROTOBUF)
        assert rx.post("/v1/traces", json.dumps(later).encode(), "application/json")[0] == 200
        landed = rx.landed()
    assert status == 200
    partial = ExportTraceServiceResponse.FromString(answer).partial_success
    assert partial.rejected_spans == 1
    assert "1 spans rejected (validation:duration_ms x1)" in partial.error_message
    assert "spans[1]" in partial.error_message and "1 spans held until their SERVER" in partial.error_message
    by_route = {e["route"]: e for e in landed}
    assert sorted(by_route) == ["GET /later", "GET /ok"]
    joined = by_route["GET /later"]["attributes"]
    assert (joined["peer.service"], joined["peer.call_count"], joined["self_ms"]) == ("payments", 1, 9.0)
    letters = [json.loads(line) for path in (tmp_path / "deadletters").rglob("*.jsonl")
               for line in path.read_text().splitlines()]
    assert [(letter["cause"], letter["source"]) for letter in letters] == [
        ("validation:duration_ms", "receiver /v1/traces resourceSpans[0].scopeSpans[0].spans[1]")]
    assert "resourceSpans" in json.loads(letters[0]["payload"])  # one-span OTLP/JSON, readable by logintel ingest


def test_the_refusals_of_v1_logs_apply_to_v1_traces(tmp_path):
    body = as_protobuf(checkout_trace()).SerializeToString()
    with serving(tmp_path, {"LOGINTEL_RECEIVER_TOKEN": "s3cret"}) as rx:
        auth = {"Authorization": "Bearer s3cret"}
        assert rx.post("/v1/traces", body, PROTOBUF)[0] == 401
        assert rx.post("/v1/traces", body, "text/plain", headers=auth)[0] == 415
        status, _, answer = rx.post("/v1/traces", b"\xff\xff not protobuf", PROTOBUF, headers=auth)
        assert status == 400 and "ExportTraceServiceRequest" in Status.FromString(answer).message
        status, _, answer = rx.post("/v1/traces", b'{"resourceLogs": []}', "application/json", headers=auth)
        assert status == 400 and "no resourceSpans" in json.loads(answer)["message"]
        assert rx.post("/v1/traces", body, PROTOBUF, headers=auth, gzipped=True)[0] == 200
        assert len(rx.landed()) == 1


def test_an_async_child_that_ends_after_its_request_is_kept_in_the_spans_table(tmp_path):
    """orders answers at 10 ms and publishes a message whose PRODUCER span ends at 40 ms, exported a request
    later; billing consumes it. The request's event has long landed: the child cannot be summarised onto it, but
    is held, let go after the hold window, landed on a carrier, and the call graph sees orders → billing."""
    from logintel.analysis.investigation.window_calls import PREPARED_CALLS, prepare_calls
    from logintel.store.landing_files import FileLandingZone
    from logintel.store.warehouse import connect, load_hour
    from tests.support.trace_documents import CONSUMER, PRODUCER
    request = document(("orders", [span("b000000000000001", "POST /orders", SERVER, 0, 10,
                                        http__route="/orders", http__request__method="POST")]))
    late = document(("orders", [span("b000000000000002", "orders.created publish", PRODUCER, 5, 40,
                                     "b000000000000001", peer__service="billing")]),
                    ("billing", [span("b000000000000003", "orders.created process", CONSUMER, 45, 60,
                                      "b000000000000002")]))
    much_later = document(("orders", [span("b0000000000000aa", "GET /health", SERVER, 11 * 60_000,
                                           11 * 60_000 + 1, trace="9" * 32)]))
    with serving(tmp_path) as rx:
        for doc in (request, late, much_later):
            assert rx.post("/v1/traces", json.dumps(doc).encode(), "application/json")[0] == 200
        landed = rx.landed()
    routes = sorted(e["route"] for e in landed)
    assert routes == ["(spans)", "/orders", "GET /health", "orders.created process"]
    zone = FileLandingZone(tmp_path / "landing")
    con = connect(tmp_path / "w.duckdb")
    try:
        reports = [load_hour(con, zone.read_hour(hour, canonical_as_files=True)) for hour in zone.hours()]
        assert all(r.accounted() for r in reports) and sum(r.late_span_carriers for r in reports) == 1
        assert con.execute("SELECT count(*) FROM raw_events WHERE route = '(spans)'").fetchone()[0] == 0
        assert con.execute("SELECT service, kind, parent_span_id FROM spans WHERE span_id = 'b000000000000002'"
                           ).fetchone() == ("orders", "producer", "b000000000000001")
        start, end = con.execute("SELECT min(ts), max(ts) FROM raw_events").fetchone()
        prepare_calls(con, start, end)
        assert con.execute(f"SELECT caller, service FROM {PREPARED_CALLS}").fetchall() == [("orders", "billing")]
    finally:
        con.close()


def test_spans_still_held_when_the_receiver_stops_are_landed_as_late_spans(tmp_path):
    from logintel.store.landing_files import FileLandingZone
    waiting = document(("orders", [span("c000000000000002", "SELECT", CLIENT, 1, 3, "c000000000000001",
                                        db__system="postgresql")]))
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/traces", json.dumps(waiting).encode(), "application/json")
        assert status == 200 and "1 spans held" in json.loads(answer)["partialSuccess"]["errorMessage"]
        assert rx.landed() == []
    zone = FileLandingZone(tmp_path / "landing")
    (carrier,) = [json.loads(line) for hour in zone.hours() for line in zone.read_hour(hour).lines]
    assert carrier["route"] == "(spans)" and carrier["event_id"] == f"span-late-{TRACE}-c000000000000002"
    assert carrier["attributes"]["otel.spans"][0]["db"] == "postgresql"
