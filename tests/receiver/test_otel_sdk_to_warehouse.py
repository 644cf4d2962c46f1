"""Two services instrumented with the real OpenTelemetry Python SDK — spans and logs, context propagated from the
caller's CLIENT span to the callee's SERVER span — exporting over OTLP/HTTP to our receiver on 127.0.0.1, then
loaded into a DuckDB warehouse: every span in the spans table with its parent across services, one event per
request, the log lines joined to the request they were written in, and the call graph `investigate` reads."""
from __future__ import annotations

import logging
from datetime import timedelta

import orjson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from logintel.analysis.investigation.window_calls import PREPARED_CALLS, prepare_calls
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect, load_hour
from tests.support.receiver import serving

REQUESTS = 30
FAILING = {4, 11, 25}  # orders logs an error (and answers 200) on these requests


def _tracer(url: str, service: str):
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    return provider.get_tracer(f"shop.{service}"), provider


def _logger(url: str, service: str):
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{url}/v1/logs")))
    logger = logging.getLogger(f"shop.{service}.sdk-test")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    return logger, provider


def _request(n: int, storefront, orders, orders_log) -> None:
    """storefront's GET /cart calls orders' GET /orders/{id}, which queries its database and logs."""
    with storefront.start_as_current_span("GET /cart", kind=SpanKind.SERVER, attributes={
            "http.request.method": "GET", "http.route": "/cart", "http.response.status_code": 200}):
        with storefront.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes={"peer.service": "orders"}):
            caller = trace.set_span_in_context(trace.get_current_span())  # what the traceparent header carries
            with orders.start_as_current_span("GET /orders/{id}", context=caller, kind=SpanKind.SERVER, attributes={
                    "http.request.method": "GET", "http.route": "/orders/{id}", "http.response.status_code": 200}):
                with orders.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT,
                                                  attributes={"db.system": "postgresql", "db.namespace": "shop"}):
                    if n in FAILING:
                        orders_log.error("order %d not found in ledger", n)
                orders_log.info("order %d read", n)


def test_sdk_spans_and_logs_land_in_the_spans_table_joined_across_services(tmp_path):
    with serving(tmp_path) as rx:
        storefront, storefront_provider = _tracer(rx.url, "storefront")
        orders, orders_provider = _tracer(rx.url, "orders")
        orders_log, log_provider = _logger(rx.url, "orders")
        for n in range(REQUESTS):
            _request(n, storefront, orders, orders_log)
        for provider in (storefront_provider, orders_provider, log_provider):
            assert provider.force_flush(10_000)
            provider.shutdown()
    zone = FileLandingZone(tmp_path / "landing")
    con = connect(tmp_path / "warehouse.duckdb")
    try:
        reports = [load_hour(con, zone.read_hour(hour)) for hour in zone.hours()]
        assert sum(r.spans for r in reports) == 4 * REQUESTS and sum(r.failed_by_logs for r in reports) == len(FAILING)

        # every span, with the callee's SERVER span under the caller's CLIENT span
        linked = con.execute("""
            SELECT count(*) FROM spans s JOIN spans c ON c.trace_id = s.trace_id AND c.span_id = s.parent_span_id
            WHERE s.service = 'orders' AND s.kind = 'server' AND c.service = 'storefront' AND c.kind = 'client'
              AND c.peer_service = 'orders'""").fetchone()[0]
        assert linked == REQUESTS
        assert con.execute("SELECT count(DISTINCT trace_id) FROM spans").fetchone()[0] == REQUESTS

        # one event per request; log lines stay lines
        per_route = dict(con.execute("SELECT route, count(*) FROM raw_events GROUP BY route").fetchall())
        assert per_route == {"/cart": REQUESTS, "/orders/{id}": REQUESTS, "(log)": REQUESTS + len(FAILING)}

        # the requests whose logs reported an error failed, and say their logs told it
        failed = con.execute("""SELECT error_message, attributes FROM raw_events
                                WHERE route = '/orders/{id}' AND level = 'error' ORDER BY error_message""").fetchall()
        assert [m for m, _ in failed] == sorted(f"order {n} not found in ledger" for n in FAILING)
        assert {orjson.loads(a)["error.source"] for _, a in failed} == {"log"}
        assert con.execute("SELECT count(*) FROM raw_events WHERE route = '/cart' AND level = 'error'").fetchone()[0] == 0

        # the call graph as investigate reads it: storefront calls orders, every call matched by its span ids
        start, end = con.execute("SELECT min(ts), max(ts) FROM raw_events").fetchone()
        assert prepare_calls(con, start - timedelta(minutes=1), end + timedelta(minutes=1)) == REQUESTS
        calls = con.execute(f"SELECT caller, service, route, gap_ms FROM {PREPARED_CALLS}").fetchall()
        assert {(caller, callee, route) for caller, callee, route, _ in calls} == {("storefront", "orders",
                                                                                    "GET /orders/{id}")}
        assert all(gap >= 0 for *_, gap in calls)
    finally:
        con.close()
