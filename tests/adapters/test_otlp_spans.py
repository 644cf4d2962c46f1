"""OTLP spans adapted to wide events: one per unit of work, its own calls folded into it."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logintel.adapters.otlp_spans import parse_trace_document, parse_trace_request
from logintel.events import MAX_NESTING_DEPTH
from tests.attacks.strategies import json_values
from tests.support.trace_documents import (CLIENT, CONSUMER, INTERNAL, SERVER, TRACE, as_protobuf, checkout_trace,
                                           document, span)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def parse(doc: dict):
    return parse_trace_document(doc, now=NOW)


def test_a_server_span_with_two_calls_and_a_query_is_one_event_with_its_self_time_slowest_peer_and_db_time():
    batch = parse(checkout_trace())
    (event,) = batch.events
    assert (batch.folded, batch.unjoined, batch.rejected) == (4, 0, [])
    assert (event.service, event.route, event.method, event.status, event.level) == (
        "checkout", "/checkout", "POST", 201, "info")
    assert event.duration_ms == 100.0 and event.trace_id == TRACE
    assert event.timestamp == datetime(2025, 6, 1, 10, 0, tzinfo=timezone.utc)  # when the span started
    assert event.event_id == f"span-{TRACE}-a000000000000001"
    attrs = event.attributes
    assert attrs["self_ms"] == 20.0  # 100 less 10–80 (two overlapping calls, counted once) and 85–95
    assert (attrs["peer.service"], attrs["peer.duration_ms"], attrs["peer.call_count"]) == (
        "payments.internal", 50.0, 2)
    assert (attrs["db.system"], attrs["db.namespace"], attrs["db.duration_ms"], attrs["db.query_count"]) == (
        "postgresql", "orders", 10.0, 1)
    assert (attrs["span_id"], attrs["parent_span_id"], attrs["span.kind"]) == (
        "a000000000000001", "f00000000000000f", "server")
    assert (attrs["version"], attrs["k8s.pod.name"]) == ("4.2.0", "checkout-7d9f-abcde")


def test_an_error_span_with_an_exception_event():
    failed = span("b000000000000001", "POST /pay", SERVER, 0, 30, http__route="/pay", http__response__status_code=503,
                  error="card processor timed out",
                  exception={"exception.type": "TimeoutError", "exception.message": "card processor timed out after 3s",
                             "exception.stacktrace": "Traceback (most recent call last): ..."})
    (event,) = parse(document(("payments", [failed]))).events
    assert (event.level, event.status, event.route) == ("error", 503, "/pay")
    assert (event.error_type, event.error_message) == ("TimeoutError", "card processor timed out after 3s")
    assert event.error_code == "TimeoutError"  # no error.code: the exception's type, few values as a code should
    assert event.attributes["exception.stacktrace"].startswith("Traceback")
    assert "parent_span_id" not in event.attributes  # a root


def test_an_error_status_alone_is_an_error_with_its_description():
    failed = span("b000000000000002", "charge", SERVER, 0, 5, "f00000000000000f", error="no funds",
                  **{"error.type": "InsufficientFunds"})
    (event,) = parse(document(("payments", [failed]))).events
    assert (event.level, event.error_message, event.error_type, event.error_code) == (
        "error", "no funds", "InsufficientFunds", "InsufficientFunds")


def test_a_grpc_server_span_gets_the_http_status_of_its_code():
    failed = span("b000000000000003", "shop.Cart/Add", SERVER, 0, 5, "f00000000000000f", error="",
                  rpc__system="grpc", rpc__grpc__status_code=14)
    (event,) = parse(document(("cart", [failed]))).events
    assert (event.status, event.error_code, event.route) == (503, "UNAVAILABLE", "shop.Cart/Add")
    assert event.attributes["rpc.grpc.status_code"] == 14


def test_a_root_client_span_is_an_event_of_its_own():
    job = span("c000000000000001", "GET", CLIENT, 0, 12, http__request__method="GET", peer__service="catalog")
    (event,) = parse(document(("nightly-sync", [job]))).events
    assert (event.route, event.method, event.duration_ms) == ("GET", "GET", 12.0)
    assert event.attributes["span.kind"] == "client" and event.attributes["peer.service"] == "catalog"
    assert event.attributes["self_ms"] == 12.0


def test_a_consumer_span_is_an_event_and_its_producer_call_is_summarised():
    spans = [span("d000000000000001", "orders process", CONSUMER, 0, 40, "e00000000000000e",
                  messaging__system="kafka", messaging__destination__name="orders"),
             span("d000000000000002", "invoices publish", 4, 20, 25, "d000000000000001", peer__service="kafka")]
    batch = parse(document(("billing", spans)))
    (event,) = batch.events
    assert (event.route, event.attributes["span.kind"], event.attributes["parent_span_id"]) == (
        "orders process", "consumer", "e00000000000000e")
    assert (event.attributes["peer.service"], event.attributes["self_ms"], batch.folded) == ("kafka", 35.0, 1)


def test_a_call_answered_by_a_server_span_in_the_batch_is_named_after_that_service():
    spans = ("frontend", [span("e000000000000001", "GET /", SERVER, 0, 50, http__route="/"),
                          span("e000000000000002", "GET", CLIENT, 5, 45, "e000000000000001")])
    callee = ("catalog", [span("e000000000000003", "GET /items", SERVER, 7, 43, "e000000000000002",
                               http__route="/items")])
    events = {event.service: event for event in parse(document(spans, callee)).events}
    assert events["frontend"].attributes["peer.service"] == "catalog"
    assert events["frontend"].attributes["self_ms"] == 10.0
    assert events["catalog"].attributes["parent_span_id"] == "e000000000000002"


def test_sql_under_an_orm_query_counts_once():
    spans = [span("f000000000000001", "GET /orders", SERVER, 0, 20),
             span("f000000000000002", "SELECT Order", CLIENT, 2, 12, "f000000000000001", db__system="mysql"),
             span("f000000000000003", "SELECT ts.orders", CLIENT, 3, 11, "f000000000000002", db__system="mysql",
                  db__namespace="ts")]
    (event,) = parse(document(("orders", spans))).events
    assert (event.attributes["db.query_count"], event.attributes["db.duration_ms"]) == (1, 10.0)
    assert event.attributes["db.namespace"] == "ts"  # the ORM names no database; the SQL under it does


def test_a_client_span_whose_request_is_in_another_batch_is_unjoined():
    batch = parse(document(("checkout", [span("a100000000000003", "GET", CLIENT, 10, 40, "a100000000000002")])))
    assert (batch.events, batch.rejected, batch.folded, batch.unjoined) == ([], [], 0, 1)


@pytest.mark.parametrize("change, cause", [
    ({"traceId": ""}, "validation:trace_id"),
    ({"traceId": "00000000000000000000000000000000"}, "validation:trace_id"),
    ({"spanId": "xyz"}, "validation:span_id"),
    ({"parentSpanId": "1234"}, "validation:parent_span_id"),
    ({"endTimeUnixNano": "1748771999000000000"}, "validation:duration_ms"),      # ends before it starts
    ({"endTimeUnixNano": str(1_748_772_000_000_000_000 + 25 * 3600 * 10**9)}, "validation:duration_ms"),  # 25 h
    ({"startTimeUnixNano": "0"}, "validation:timestamp"),
    ({"startTimeUnixNano": "946684700000000000", "endTimeUnixNano": "946684700000000001"}, "validation:timestamp"),
    ({"kind": "SPAN_KIND_SIDEWAYS"}, "validation:kind"),
])
def test_a_bad_span_is_a_dead_letter_with_its_cause_and_its_neighbours_land(change, cause):
    doc = checkout_trace()
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    bad = {**span("a0000000000000bb", "GET /health", SERVER, 0, 1, "f00000000000000f"), **change}
    spans.insert(1, bad)
    batch = parse(doc)
    (rejected,) = batch.rejected
    assert rejected.dead_letter_cause == cause
    assert rejected.location == "resourceSpans[0].scopeSpans[0].spans[1]"
    assert [event.route for event in batch.events] == ["/checkout"] and batch.folded == 4
    replayed = parse(rejected.replay_document())  # a one-span document: reads back to the same cause
    assert [error.dead_letter_cause for error in replayed.rejected] == [cause]


def _too_deep() -> dict:
    deep: dict = {"stringValue": "bottom"}
    for _ in range(MAX_NESTING_DEPTH):
        deep = {"kvlistValue": {"values": [{"key": "k", "value": deep}]}}
    return deep


def test_a_span_nested_too_deep_is_a_nesting_dead_letter_alone():
    deep = _too_deep()
    doc = checkout_trace()
    bad = span("a0000000000000cc", "GET /deep", SERVER, 0, 1)
    bad["attributes"] = [{"key": "deep", "value": deep}]
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"].append(bad)
    batch = parse(doc)
    assert [error.dead_letter_cause for error in batch.rejected] == ["nesting"]
    assert [event.route for event in batch.events] == ["/checkout"]
    json.dumps(batch.rejected[0].replay_document())  # cut, so its dead letter can still be written


def test_a_resource_nested_too_deep_rejects_its_spans_each_and_no_other():
    doc = document(("deep", [span("ac00000000000001", "GET /a", SERVER, 0, 1),
                             span("ac00000000000002", "GET /b", SERVER, 0, 1)]),
                   ("fine", [span("ac00000000000003", "GET /c", SERVER, 0, 1)]))
    doc["resourceSpans"][0]["resource"]["attributes"].append({"key": "deep", "value": _too_deep()})
    batch = parse(doc)
    assert [(error.location, error.dead_letter_cause) for error in batch.rejected] == [
        ("resourceSpans[0].scopeSpans[0].spans[0]", "nesting"), ("resourceSpans[0].scopeSpans[0].spans[1]", "nesting")]
    assert [event.service for event in batch.events] == ["fine"]


def test_the_same_batch_twice_makes_the_same_events_and_protobuf_makes_them_too():
    doc = checkout_trace()
    first, again = parse(doc), parse(copy.deepcopy(doc))
    from_protobuf = parse_trace_request(as_protobuf(doc), now=NOW)
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events] == [
        f"span-{TRACE}-a000000000000001"]
    assert first.events == again.events == from_protobuf.events
    assert from_protobuf.folded == 4


def test_a_bad_protobuf_span_is_a_dead_letter_readable_as_otlp_json():
    doc = checkout_trace()
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = "1748771999000000000"
    batch = parse_trace_request(as_protobuf(doc), now=NOW)
    (rejected,) = batch.rejected
    assert rejected.dead_letter_cause == "validation:duration_ms"
    assert batch.unjoined == 4  # the request's span is gone, so its calls have no event to join
    replayed = parse(rejected.replay_document())
    assert [error.dead_letter_cause for error in replayed.rejected] == ["validation:duration_ms"]


def test_no_resource_spans_list_is_one_rejection():
    batch = parse({"resourceSpans": {"not": "a list"}})
    assert [error.location for error in batch.rejected] == ["resourceSpans"] and batch.events == []


def test_an_internal_span_with_no_parent_in_the_batch_and_a_root_internal_span():
    spans = [span("ab00000000000001", "cron tick", INTERNAL, 0, 3),
             span("ab00000000000002", "helper", INTERNAL, 1, 2, "ab000000000000ff")]
    batch = parse(document(("scheduler", spans)))
    assert [event.route for event in batch.events] == ["cron tick"] and batch.unjoined == 1


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["traceId", "spanId", "parentSpanId", "kind", "name", "startTimeUnixNano", "endTimeUnixNano",
                        "status", "attributes", "events"]), json_values(), st.integers(0, 4))
def test_any_value_in_any_field_of_any_span_is_an_event_a_fold_or_a_dead_letter(field, value, index):
    doc = checkout_trace()
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][index][field] = value
    batch = parse(doc)  # never an exception
    assert batch.spans == 5
    assert all(error.location.startswith("resourceSpans[0]") for error in batch.rejected)
    for error in batch.rejected:
        json.dumps(error.replay_document(), default=str)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["resourceSpans", "resource", "scopeSpans", "scope", "spans"]), json_values())
def test_any_value_in_the_request_around_the_spans_is_a_rejection_never_an_exception(part, value):
    doc = checkout_trace()
    entry = doc["resourceSpans"][0]
    holder = {"resourceSpans": doc, "resource": entry, "scopeSpans": entry, "scope": entry["scopeSpans"][0],
              "spans": entry["scopeSpans"][0]}[part]
    holder[part] = value
    batch = parse(doc)
    for error in batch.rejected:
        json.dumps(error.replay_document(), default=str)
