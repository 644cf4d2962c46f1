"""OTLP/protobuf log records → WideEvents: the mapping the README's table states, field by field."""
from __future__ import annotations

import json
import time

import pytest

from logintel.adapters.otel import parse_otlp_document
from logintel.adapters.otlp_proto import OtlpBodyError, decode_request, parse_export_request
from logintel.events import WideEvent
from tests.receiver.otlp_requests import SPAN_ID, TRACE_ID, kv, record, request


def _events(message):
    return list(parse_export_request(decode_request(message.SerializeToString())))


def test_every_mapped_field_lands_where_the_contract_wants_it():
    rec = record("payment declined", severity=17, **{
        "http.route": "/pay", "http.request.method": "post", "http.response.status_code": 502,
        "exception.type": "CardDeclined", "exception.message": "issuer said no", "exception.stacktrace": "Traceback…",
        "client.address": "203.0.113.9", "user.id": 4711, "user_agent.original": "curl/8", "duration_ms": 812.5,
        "peer.service": "pg-provider", "db.duration_ms": 3.25})
    rec.attributes.append(kv("http.server.request.duration", 9.0))  # a later alternative stays in attributes
    (event,) = _events(request([rec], service="payments", version="2.4.1"))
    assert isinstance(event, WideEvent)
    assert (event.service, event.route, event.method, event.status, event.level) == ("payments", "/pay", "POST", 502, "error")
    assert (event.error_type, event.error_message) == ("CardDeclined", "payment declined")
    assert event.attributes["exception.message"] == "issuer said no"  # the body is the message; this one is kept
    assert event.attributes["exception.stacktrace"] == "Traceback…"
    assert (event.trace_id, event.attributes["span_id"]) == (TRACE_ID.hex(), SPAN_ID.hex())
    assert (event.client_ip, event.user_id, event.user_agent) == ("203.0.113.9", "4711", "curl/8")
    assert event.duration_ms == 812.5
    assert event.attributes["version"] == "2.4.1" and "service.version" not in event.attributes
    assert event.attributes["peer.service"] == "pg-provider" and event.attributes["db.duration_ms"] == 3.25
    assert event.attributes["otel.scope.name"] == "checkout.http"


def test_a_record_without_a_route_or_duration_is_a_log_line_and_severity_text_alone_is_read():
    rec = record("cache warmed", severity=0)
    rec.severity_text = "WARNING"
    (event,) = _events(request([rec]))
    assert (event.route, event.duration_ms, event.level, event.error_message) == ("(log)", 0.0, "warn", "cache warmed")


def test_the_event_id_comes_from_the_record_so_a_resent_batch_repeats_it_and_other_records_differ():
    when = time.time_ns()
    message = request([record("a", when_ns=when), record("a", when_ns=when + 1)])
    first, second = _events(message), _events(message)
    assert [e.event_id for e in first] == [e.event_id for e in second]
    assert first[0].event_id != first[1].event_id
    other_service = _events(request([record("a", when_ns=when)], service="orders"))
    assert other_service[0].event_id != first[0].event_id


def test_an_event_id_attribute_wins_over_the_hash():
    (event,) = _events(request([record("x", **{"log.record.uid": "01HZX"})]))
    assert event.event_id == "01HZX"


def test_a_bad_record_is_rejected_alone_with_its_place_and_a_replayable_json_document():
    bad = record("no time at all", when_ns=0)
    bad.observed_time_unix_nano = 0
    items = _events(request([record("fine"), bad, record("also fine")]))
    assert [type(i).__name__ for i in items] == ["WideEvent", "OtlpRecordError", "WideEvent"]
    error = items[1]
    assert error.location == "resourceLogs[0].scopeLogs[0].logRecords[1]" and error.cause == "validation:timestamp"
    document = json.loads(json.dumps(error.replay_document()))
    (replayed,) = list(parse_otlp_document(document))
    assert replayed.cause == "validation:timestamp"  # the same record, read back through the JSON adapter
    assert document["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["traceId"] == TRACE_ID.hex()


def test_a_body_that_is_no_protobuf_request_is_refused_whole():
    with pytest.raises(OtlpBodyError, match="not an OTLP ExportLogsServiceRequest"):
        decode_request(b"\xff\xff\xff\xff garbage")
