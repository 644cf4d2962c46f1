"""The real OpenTelemetry Python SDK, logging through its OTLP/HTTP exporter to our receiver on 127.0.0.1."""
from __future__ import annotations

import logging

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from tests.support.receiver import serving


def _logger(url: str, name: str, **exporter_options) -> tuple[logging.Logger, LoggerProvider]:
    provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "service.version": "4.2.0"}))
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", **exporter_options)
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_export_batch_size=256))
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    return logger, provider


def test_every_record_logged_through_the_sdk_lands_with_its_severity_and_exception(tmp_path):
    with serving(tmp_path) as rx:
        logger, provider = _logger(rx.url, "shop.checkout", compression=Compression.Gzip)
        for i in range(1000):
            logger.info("order %d placed", i, extra={"http.route": "/checkout", "http.response.status_code": 200,
                                                     "duration_ms": 10 + i % 7, "user.id": f"u{i % 50}"})
        for i in range(40):
            try:
                raise TimeoutError(f"card processor timed out after {i} retries")
            except TimeoutError:
                logger.exception("payment %d failed", i, extra={"http.route": "/pay", "http.response.status_code": 504,
                                                                "peer.service": "pg-provider"})
        logger.warning("stock low")
        assert provider.force_flush(10_000)
        provider.shutdown()
        landed = rx.landed()
        stats = rx.running.emitter.stats()
    assert len(landed) == 1041 and len({e["event_id"] for e in landed}) == 1041
    assert stats["delivered"] == {"files": 1041} and stats["balanced"]
    orders = [e for e in landed if e["route"] == "/checkout"]
    assert sorted(e["error.message"] for e in orders) == sorted(f"order {i} placed" for i in range(1000))
    assert {e["level"] for e in orders} == {"info"} and {e["service"] for e in orders} == {"checkout"}
    assert {e["attributes"]["version"] for e in landed} == {"4.2.0"}
    failures = [e for e in landed if e["route"] == "/pay"]
    assert len(failures) == 40 and {e["level"] for e in failures} == {"error"} and {e["status"] for e in failures} == {504}
    assert {e["error.type"] for e in failures} == {"TimeoutError"}
    assert all("card processor timed out" in e["attributes"]["exception.message"] for e in failures)
    assert all("Traceback" in e["attributes"]["exception.stacktrace"] for e in failures)
    assert {e["attributes"]["peer.service"] for e in failures} == {"pg-provider"}
    (warning,) = [e for e in landed if e["error.message"] == "stock low"]
    assert warning["level"] == "warn" and warning["route"] == "(log)"


def test_the_exporter_sends_the_token_in_its_headers_and_without_it_nothing_lands(tmp_path):
    with serving(tmp_path, {"LOGINTEL_RECEIVER_TOKEN": "t0ken"}) as rx:
        logger, provider = _logger(rx.url, "shop.anonymous", timeout=2)
        logger.info("no token")
        provider.force_flush(5_000)
        provider.shutdown()
        assert rx.landed() == []
        logger, provider = _logger(rx.url, "shop.authorized", headers={"Authorization": "Bearer t0ken"})
        logger.info("with token")
        assert provider.force_flush(10_000)
        provider.shutdown()
        assert [e["error.message"] for e in rx.landed()] == ["with token"]


def test_the_exporter_retries_a_503_from_a_landing_outage_and_its_records_land_once_it_recovers(tmp_path):
    import shutil
    import threading

    landing = tmp_path / "landing"
    env = {"LOGINTEL_EMIT_DISK_LIMIT_BYTES": "1", "LOGINTEL_EMIT_BACKOFF_CAP_S": "0.5"}  # the dump has no room either
    with serving(tmp_path, env) as rx:
        logger, provider = _logger(rx.url, "shop.outage")
        logger.info("before the outage")
        assert provider.force_flush(10_000)
        assert [e["error.message"] for e in rx.landed()] == ["before the outage"]
        shutil.rmtree(landing)
        landing.write_text("the landing disk is gone")
        recovered = threading.Timer(1.5, landing.unlink)
        recovered.start()
        for i in range(30):
            logger.error("during the outage %d", i, extra={"http.route": "/pay", "http.response.status_code": 503})
        assert provider.force_flush(15_000)  # the exporter got 503, waited Retry-After, resent
        recovered.join()
        provider.shutdown()
        landed = rx.landed()
        refused = rx.running.receiver.metrics.refused.labels("/v1/logs")._value.get()
    messages = sorted(e["error.message"] for e in landed)  # the outage took the first one's folder with it
    assert messages == sorted(f"during the outage {i}" for i in range(30))  # each once: none lost, none twice
    assert refused >= 30  # at least one attempt was answered 503 before the landing zone came back
