"""For any input, every parser gives an event or an error with a cause — never another exception — and an
event it gives survives the landing zone's round trip."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from logintel.adapters.otel import parse_otlp_document
from logintel.adapters.plain_text import parse_plain_text
from logintel.events import EventValidationError, WideEvent, parse_event, parse_json_line
from logintel.ingest.policy import PolicyError, SamplingPolicy
from tests.attacks.strategies import GOOD, almost_events, deep, json_values

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


def outcome(parse, value):
    try:
        return parse(value)
    except EventValidationError as error:
        assert error.cause and str(error), "a rejection names its field and reason"
        return error


def assert_lands(event: WideEvent) -> None:
    line = event.to_json()
    assert "\x00" not in line and "\\u0000" not in json.dumps(event.to_record()["event_id"])
    again = parse_json_line(line, now=NOW)
    assert again.event_id == event.event_id and again.timestamp == event.timestamp
    assert again.to_json() == line  # the landed line is a fixed point


@given(almost_events())
def test_any_almost_event_is_an_event_or_a_precise_rejection(record):
    result = outcome(lambda r: parse_event(r, now=NOW), record)
    if isinstance(result, WideEvent):
        assert_lands(result)


@given(json_values())
def test_any_json_value_is_an_event_or_a_precise_rejection(value):
    outcome(lambda v: parse_event(v, now=NOW), value)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                 almost_events().map(lambda r: json.dumps(r, default=str).encode())))
def test_any_line_of_bytes_is_an_event_or_a_precise_rejection(line):
    result = outcome(lambda b: parse_json_line(b, now=NOW), line)
    if isinstance(result, WideEvent):
        assert_lands(result)


@given(st.integers(1, 3000), st.sampled_from("[{"))
def test_nesting_of_any_depth_is_an_event_or_a_rejection(depth, bracket):
    opened = "".join(bracket if bracket == "[" else '{"a":' for _ in range(depth))
    closed = ("]" if bracket == "[" else "}") * depth
    line = json.dumps(GOOD)[:-1] + f', "deep": {opened}1{closed}' + "}"  # written as text: json.dumps recurses
    result = outcome(lambda b: parse_json_line(b, now=NOW), line)
    if isinstance(result, WideEvent):
        result.to_json()


@given(st.text(max_size=400))
def test_any_text_line_is_an_event_or_a_precise_rejection(line):
    result = outcome(lambda text: parse_plain_text(text, source="attack", now=NOW), line)
    if isinstance(result, WideEvent):
        assert_lands(result)


def otlp_documents():
    record = st.fixed_dictionaries({}, optional={
        "timeUnixNano": st.one_of(st.integers(-1, 2**70), st.text(max_size=25), json_values(3)),
        "severityText": json_values(3), "severityNumber": json_values(3),
        "body": st.one_of(json_values(10), st.fixed_dictionaries({"stringValue": json_values(2)})),
        "attributes": st.one_of(json_values(10), st.lists(st.fixed_dictionaries(
            {"key": json_values(2), "value": json_values(6)}), max_size=4)),
        "traceId": json_values(2), "spanId": json_values(2)})
    scope = st.fixed_dictionaries({"logRecords": st.one_of(st.lists(record, max_size=4), json_values(3))})
    resource = st.fixed_dictionaries({"resource": st.one_of(json_values(5), st.fixed_dictionaries(
        {"attributes": json_values(6)})), "scopeLogs": st.one_of(st.lists(scope, max_size=3), json_values(3))})
    return st.one_of(st.fixed_dictionaries({"resourceLogs": st.lists(resource, max_size=3)}), json_values())


@given(otlp_documents())
def test_any_otlp_json_document_yields_events_and_rejections_only(document):
    for item in parse_otlp_document(document, now=NOW):
        assert isinstance(item, (WideEvent, EventValidationError))
        if isinstance(item, WideEvent):
            assert_lands(item)


@given(st.one_of(json_values(), st.dictionaries(st.sampled_from(
    ["version", "base_rate", "max_rate", "target_events_per_s", "buffer_high_water", "slow_ms", "always_keep",
     "min_hold_s", "hysteresis", "window_s"]), json_values(6), max_size=6)))
def test_any_policy_document_is_a_policy_or_a_policy_error(document):
    try:
        SamplingPolicy.from_dict(document)
    except PolicyError as error:
        assert str(error)
