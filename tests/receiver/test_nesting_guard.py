"""The nesting guard the receiver and the policy server put before anything recursive: measured
without recursion, as decoded values or as text, and per record in an OTLP/JSON document."""
from __future__ import annotations

import orjson

from logintel.adapters.nesting import (CUT, NestingError, clipped, parse_otlp_document_within, text_nesting_depth,
                                       too_deep)
from logintel.adapters.otel import OtlpRecordError
from logintel.events import MAX_NESTING_DEPTH, WideEvent


def _nest(depth: int, leaf="x") -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_a_value_at_the_limit_passes_and_one_level_more_is_too_deep():
    assert not too_deep(_nest(MAX_NESTING_DEPTH)) and too_deep(_nest(MAX_NESTING_DEPTH + 1))
    assert too_deep(orjson.loads("[" * 1000 + "]" * 1000)) and not too_deep("scalar")


def test_text_is_measured_outside_strings_and_need_not_be_valid():
    assert text_nesting_depth(b'{"a": "[[[{{\\"[[", "b": [[1]], "c": {}}') == 3
    assert text_nesting_depth(b"[" * 100_000) == 100_000 and text_nesting_depth(b"") == 0


def test_a_clipped_copy_keeps_order_and_cuts_what_lies_deeper():
    value = {"first": 1, "deep": _nest(10), "last": [1, {"k": 2}]}
    cut = clipped(value, 4)
    assert list(cut) == ["first", "deep", "last"] and cut["last"] == [1, {"k": 2}]
    assert cut["deep"] == _nest(3, CUT) and value["deep"] == _nest(10)  # the original is untouched
    assert orjson.loads(orjson.dumps(clipped(orjson.loads("[" * 900 + "]" * 900)))) == _nest(MAX_NESTING_DEPTH, CUT)


def test_the_error_is_a_contract_rejection_with_the_nesting_cause():
    error = NestingError()
    assert error.dead_letter_cause == "nesting" and f"nested deeper than {MAX_NESTING_DEPTH} levels" in str(error)


def _record(message: str, **extra) -> dict:
    return {"timeUnixNano": "1764979200000000000", "severityNumber": 9, "body": {"stringValue": message}, **extra}


def _document(*scopes, resource=None) -> dict:
    entry = {"scopeLogs": list(scopes)}
    if resource is not None:
        entry["resource"] = resource
    return {"resourceLogs": [entry]}


def _outcome(document) -> list:
    return [item.error_message if isinstance(item, WideEvent) else (item.location, item.dead_letter_cause)
            for item in parse_otlp_document_within(document)]


def test_each_otlp_record_is_measured_on_its_own_and_keeps_its_place():
    deep = _record("deep", attributes=[{"key": "k", "value": {"kvlistValue": _nest(MAX_NESTING_DEPTH)}}])
    document = _document({"logRecords": [_record("a"), deep, _record("b", severityNumber="x")]},
                         {"logRecords": [_record("c")]})
    assert _outcome(document) == ["a", ("resourceLogs[0].scopeLogs[0].logRecords[1]", "nesting"),
                                  ("resourceLogs[0].scopeLogs[0].logRecords[2]", "validation:level"), "c"]
    (rejected,) = [item for item in parse_otlp_document_within(document)
                   if isinstance(item, OtlpRecordError) and item.dead_letter_cause == "nesting"]
    orjson.dumps(rejected.replay_document())  # the record, cut, can still be kept as a dead letter


def test_a_resource_or_scope_too_deep_rejects_its_entry_and_the_rest_is_read():
    deep = {"attributes": [{"key": "k", "value": {"arrayValue": {"values": _nest(MAX_NESTING_DEPTH)}}}]}
    document = {"resourceLogs": [_document({"logRecords": [_record("a")]}, resource=deep)["resourceLogs"][0],
                                 _document({"scope": {"name": "s", "x": _nest(MAX_NESTING_DEPTH)},
                                            "logRecords": [_record("b")]},
                                           {"logRecords": [_record("c")]})["resourceLogs"][0]]}
    assert _outcome(document) == [("resourceLogs[0]", "nesting"), ("resourceLogs[1].scopeLogs[0]", "nesting"), "c"]
