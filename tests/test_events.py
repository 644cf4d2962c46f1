"""The WideEvent contract: what parse_event accepts, and the exact field and reason of each rejection."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from logintel.events import (MAX_MESSAGE_CHARS, MAX_RECORD_BYTES, MAX_STRING_CHARS, EventValidationError,
                             WideEvent, format_timestamp, parse_event, parse_json_line, parse_timestamp)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def record(**overrides):
    base = {"event_id": "e-1", "timestamp": "2026-11-23T10:00:01.123Z", "service": "payments",
            "route": "/payments/charge", "duration_ms": 12.5, "level": "info"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def rejection(rec, now=NOW) -> EventValidationError:
    with pytest.raises(EventValidationError) as info:
        parse_event(rec, now=now)
    return info.value


def test_a_flat_record_becomes_an_event_with_every_field():
    event = parse_event(record(**{
        "method": "POST", "status": 504, "error.code": "PG_TIMEOUT", "error.type": "Timeout",
        "error.message": "upstream timed out", "trace_id": "t1", "request_id": "r1", "user_id": "u-1",
        "client_ip": "10.0.0.1", "user_agent": "curl/8", "sample_rate": 10}), now=NOW)
    assert event.timestamp == datetime(2026, 11, 23, 10, 0, 1, 123000, tzinfo=timezone.utc)
    assert (event.service, event.route, event.method, event.status) == ("payments", "/payments/charge", "POST", 504)
    assert (event.error_code, event.error_type, event.error_message) == ("PG_TIMEOUT", "Timeout", "upstream timed out")
    assert (event.trace_id, event.request_id, event.user_id) == ("t1", "r1", "u-1")
    assert (event.client_ip, event.user_agent, event.sample_rate) == ("10.0.0.1", "curl/8", 10)
    assert event.is_error


def test_nested_error_object_is_read_like_dotted_keys():
    event = parse_event(record(error={"code": "E1", "type": "T", "message": "m", "hint": "retry"}), now=NOW)
    assert (event.error_code, event.error_type, event.error_message) == ("E1", "T", "m")
    assert event.attributes == {"error.hint": "retry"}


@pytest.mark.parametrize("order", ["flat_first", "nested_first"])
def test_a_flat_key_wins_over_the_nested_one_in_either_order(order):
    items = [("error.code", "FLAT"), ("error", {"code": "NESTED"})]
    if order == "nested_first":
        items.reverse()
    rec = record()
    rec.update(items)
    assert parse_event(rec, now=NOW).error_code == "FLAT"


def test_unknown_keys_become_attributes_and_explicit_attributes_win():
    event = parse_event(record(region="eu-west-1", attributes={"region": "explicit", "db.duration_ms": 3}), now=NOW)
    assert event.attributes == {"region": "explicit", "db.duration_ms": 3}


def test_to_record_round_trips_through_json():
    event = parse_event(record(status=200, attributes={"k": [1, 2]}), now=NOW)
    again = parse_json_line(event.to_json(), now=NOW)
    assert again == event
    assert event.to_record()["timestamp"] == "2026-11-23T10:00:01.123000Z"


@pytest.mark.parametrize("name", ["event_id", "timestamp", "service", "route", "duration_ms", "level"])
def test_each_missing_required_field_is_named(name):
    error = rejection(record(**{name: ...}))
    assert error.field == name
    assert error.cause == f"validation:{name}"
    assert "required" in error.reason


@pytest.mark.parametrize("name, value, reason", [
    ("service", 42, "expected a string, got int"),
    ("route", ["/a"], "expected a string, got list"),
    ("service", "   ", "must not be empty"),
    ("method", 1, "expected a string, got int"),
    ("user_id", 7, "expected a string, got int"),
    ("duration_ms", "12", "expected a number, got str"),
    ("duration_ms", True, "expected a number, got bool"),
    ("duration_ms", -1, "must be between 0 and 86,400,000 ms"),
    ("duration_ms", 86_400_001, "must be between 0 and 86,400,000 ms"),
    ("duration_ms", float("nan"), "not a finite number"),
    ("status", "200", "expected an integer status code"),
    ("status", 200.5, "expected an integer status code"),
    ("status", True, "expected an integer status code"),
    ("status", 99, "must be between 100 and 599"),
    ("status", 600, "must be between 100 and 599"),
    ("level", "verbose", "unknown level"),
    ("level", 3, "expected a string, got int"),
    ("sample_rate", 0, "expected an integer >= 1"),
    ("sample_rate", 1.5, "expected an integer >= 1"),
    ("attributes", [1], "expected an object"),
])
def test_wrong_types_and_values_are_rejected_with_field_and_reason(name, value, reason):
    error = rejection(record(**{name: value}))
    assert error.field == name
    assert reason in error.reason
    assert str(error).startswith(f"{name}: ")


def test_a_record_that_is_not_an_object_is_rejected_as_a_whole():
    error = rejection([1, 2])
    assert error.field == "<record>" and "expected a JSON object, got list" in error.reason


@pytest.mark.parametrize("raw, level", [("INFO", "info"), ("Warning", "warn"), ("err", "error"),
                                        ("CRITICAL", "fatal"), (" trace ", "debug")])
def test_level_aliases_and_case(raw, level):
    assert parse_event(record(level=raw), now=NOW).level == level


def test_lengths_are_bounded_per_field():
    assert rejection(record(**{"error.message": "x" * (MAX_MESSAGE_CHARS + 1)})).field == "error.message"
    assert rejection(record(trace_id="x" * (MAX_STRING_CHARS + 1))).field == "trace_id"
    assert rejection(record(event_id="x" * 129)).field == "event_id"
    # The shown value is a size, not a megabyte of text.
    assert len(str(rejection(record(**{"error.message": "x" * 1_000_000})))) < 200


def test_optional_empty_strings_mean_absent():
    assert parse_event(record(method="", trace_id=""), now=NOW).method is None


def test_status_given_as_an_integral_float_is_an_int():
    assert parse_event(record(status=503.0), now=NOW).status == 503


@pytest.mark.parametrize("value", [
    "2026-11-23T10:00:01Z", "2026-11-23T11:00:01+01:00", "2026-11-23T10:00:01", "2026-11-23 10:00:01z",
    1795428001, 1795428001000, 1795428001000000, 1795428001000000000,
    datetime(2026, 11, 23, 10, 0, 1), datetime(2026, 11, 23, 19, 0, 1, tzinfo=timezone(timedelta(hours=9))),
])
def test_timestamp_forms_all_mean_the_same_instant(value):
    assert parse_timestamp(value, now=NOW) == datetime(2026, 11, 23, 10, 0, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, reason", [
    ("1999-12-31T23:59:59Z", "out of range"),
    (format_timestamp(NOW + timedelta(days=1, minutes=1)), "in the future"),
    (0, "out of range"),
    ("yesterday", "not an ISO-8601 timestamp"),
    (True, "expected an ISO-8601 string or epoch number"),
    (float("inf"), "not a finite number"),
    ({"s": 1}, "expected an ISO-8601 string or epoch number"),
    (datetime(1999, 12, 31, tzinfo=timezone.utc), "out of range"),
    (datetime.max.replace(tzinfo=timezone(timedelta(hours=-1))), "out of range"),
])
def test_timestamps_out_of_range_or_malformed_are_rejected(value, reason):
    error = rejection(record(timestamp=value))
    assert error.field == "timestamp" and reason in error.reason


def test_a_day_of_clock_skew_is_tolerated():
    ahead = format_timestamp(NOW + timedelta(hours=23))
    assert parse_event(record(timestamp=ahead), now=NOW).timestamp > NOW


def test_json_line_problems_are_record_level_validation_errors():
    with pytest.raises(EventValidationError, match="invalid JSON") as info:
        parse_json_line('{"event_id": ', now=NOW)
    assert info.value.cause == "validation:<record>"
    with pytest.raises(EventValidationError, match="not valid UTF-8 at byte 1"):
        parse_json_line(b'{\xff}', now=NOW)
    with pytest.raises(EventValidationError, match="record larger than"):
        parse_json_line(b" " * (MAX_RECORD_BYTES + 1), now=NOW)


def test_is_error_follows_level_code_or_5xx():
    def event(**kw):
        return parse_event(record(**kw), now=NOW)
    assert not event(status=404).is_error
    assert event(status=500).is_error
    assert event(level="fatal").is_error
    assert event(**{"error.code": "E"}).is_error


def test_events_are_immutable():
    event = parse_event(record(), now=NOW)
    with pytest.raises(AttributeError):
        event.service = "other"  # type: ignore[misc]
    assert isinstance(event, WideEvent)


# Edge cases that once escaped as OverflowError/ValueError or were dropped silently.

@pytest.mark.parametrize("name, value", [("status", math.inf), ("status", math.nan), ("sample_rate", math.inf)])
def test_non_finite_integers_are_validation_errors(name, value):
    assert rejection(record(**{name: value})).field == name


@pytest.mark.parametrize("name", ["duration_ms", "timestamp"])
def test_huge_integers_are_validation_errors(name):
    assert rejection(record(**{name: 10 ** 400})).field == name


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_edge_of_range_iso_timestamps_are_validation_errors(value):
    assert rejection(record(timestamp=value)).field == "timestamp"


def test_a_string_error_value_is_not_lost():
    event = parse_event(record(error="boom"), now=NOW)
    assert "boom" in json.dumps(event.to_record())


def test_canonical_json_matches_the_stdlib_reading_of_the_same_record():
    event = parse_event({**record(), "attributes": {"naïve": "ünïcode ✓", "nested": {"a": [1, 2.5, None]},
                                                  "quote": 'say "hi"\n\ttab', "line_sep": "a\u2028b"}}, now=NOW)
    line = event.to_json()
    assert json.loads(line) == json.loads(json.dumps(event.to_record(), ensure_ascii=False))
    assert line.startswith('{"event_id":') and " " not in line.split('"attributes"')[0]
    assert "ünïcode ✓" in line  # UTF-8 text, not \\u escapes


def test_encoding_edge_cases_keep_the_stdlib_answers_or_better():
    base = parse_event(record(), now=NOW)
    as_json = lambda attributes: json.loads(replace(base, attributes=attributes).to_json())["attributes"]  # noqa: E731
    assert as_json({1: "a", None: "b"}) == {"1": "a", "null": "b"}      # keys made strings, like json.dumps
    # past 64 bits: the digits as a string, since orjson (and DuckDB) would read a number back as a float
    assert as_json({"x": 2 ** 70, "y": -2 ** 63 - 1, "z": 2 ** 64 - 1}) == {"x": str(2 ** 70), "y": str(-2 ** 63 - 1),
                                                                            "z": 2 ** 64 - 1}
    landed = replace(base, attributes={"x": -2 ** 63 - 1}).to_json()
    assert parse_json_line(landed, now=NOW).to_json() == landed  # re-read without losing a digit
    assert as_json({"x": float("nan"), "y": float("inf")}) == {"x": None, "y": None}  # valid JSON, not NaN
    # the same beside an integer past 64 bits, which takes the other encoder (found by Hypothesis: it wrote Infinity)
    wide = replace(base, attributes={"": [-2 ** 63 - 1, float("inf")], "n": float("nan")}).to_json()
    assert json.loads(wide)["attributes"] == {"": [str(-2 ** 63 - 1), None], "n": None}
    assert "Infinity" not in wide and "NaN" not in wide and parse_json_line(wide, now=NOW).to_json() == wide
    with pytest.raises((TypeError, ValueError)):
        replace(base, attributes={"obj": object()}).to_json()


@pytest.mark.parametrize("ts", [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 5, 4, 5, 1, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 1, 2, 3, 4, 5, 1),  # naive means UTC, whatever the machine's zone
])
def test_timestamps_are_written_in_utc_with_six_fractional_digits(ts):
    text = format_timestamp(ts)
    utc = ts.astimezone(timezone.utc) if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    assert text == utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert parse_timestamp(text, now=NOW + timedelta(days=3650)) == utc


@pytest.mark.parametrize("line, field, reason", [
    ('{"event_id": "e", "timestamp": "2026-11-23T10:00:01Z", "service": "s", "route": "/r", "level": "info", '
     '"duration_ms": NaN}', "duration_ms", "not a finite number"),
    ('{"event_id": "e", "timestamp": "2026-11-23T10:00:01Z", "service": "s", "route": "/r", "level": "info", '
     '"duration_ms": 1, "status": 1' + "0" * 30 + '}', "status", "between 100 and 599"),
])
def test_json_the_fast_decoder_refuses_is_still_read_and_judged_by_the_contract(line, field, reason):
    with pytest.raises(EventValidationError) as info:
        parse_json_line(line, now=NOW)
    assert info.value.field == field and reason in info.value.reason


def test_lone_surrogates_and_big_attribute_numbers_still_decode():
    line = ('{"event_id": "e", "timestamp": "2026-11-23T10:00:01Z", "service": "s", "route": "/r", "level": "info", '
            '"duration_ms": 1, "attributes": {"n": ' + "9" * 25 + ', "odd": "\\ud800 x"}}')
    event = parse_json_line(line, now=NOW)
    assert event.attributes["n"] == int("9" * 25) and event.attributes["odd"] == "\ud800 x"


@pytest.mark.parametrize("line, cause", [
    (b"\xff{}", "encoding"),
    ("{not json", "invalid_json"),
    (b"x" * (MAX_RECORD_BYTES + 1), "oversized"),
    ('"a string"', "validation:<record>"),
])
def test_a_line_that_is_not_a_record_names_its_cause(line, cause):
    import pickle
    with pytest.raises(EventValidationError) as info:
        parse_json_line(line, now=NOW)
    assert info.value.dead_letter_cause == cause
    assert pickle.loads(pickle.dumps(info.value)).dead_letter_cause == cause


@pytest.mark.parametrize("name", ["event_id", "service", "route", "method", "error.code", "error.message",
                                  "user_id", "client_ip", "user_agent", "trace_id"])
def test_a_nul_character_in_a_string_field_becomes_the_replacement_character(name):
    # PostgreSQL text cannot hold U+0000 (COPY refuses the whole batch): the contract keeps no NUL.
    event = parse_json_line(json.dumps(record(**{name: "a\u0000b"})), now=NOW)
    shown = event.to_record()[name]
    assert shown == "a\ufffdb"
    assert "\u0000" not in event.to_json() and "\\u0000" not in event.to_json()


def test_attribute_keys_past_the_cap_move_whole_into_one_overflow_attribute():
    from logintel.events import MAX_ATTRIBUTE_KEYS, OVERFLOW_KEY
    many = {f"k{i}": i for i in range(5000)}
    event = parse_event(record(attributes=many), now=NOW)
    assert len(event.attributes) == MAX_ATTRIBUTE_KEYS
    assert [k for k in event.attributes][:3] == ["k0", "k1", "k2"]  # first come, first kept
    overflow = json.loads(event.attributes[OVERFLOW_KEY])
    assert len(overflow) == 5000 - (MAX_ATTRIBUTE_KEYS - 1) and overflow["k4999"] == 4999
    assert {**{k: v for k, v in event.attributes.items() if k != OVERFLOW_KEY}, **overflow} == many  # nothing lost
    # parsing the landed line again keeps it as it is
    assert parse_json_line(event.to_json(), now=NOW).attributes == event.attributes


def test_an_objects_own_keys_count_toward_the_cap():
    from logintel.events import MAX_ATTRIBUTE_KEYS, OVERFLOW_KEY
    wide = {f"n{i}": i for i in range(MAX_ATTRIBUTE_KEYS * 2)}
    event = parse_event(record(attributes={"region": "eu", "big": wide, "tier": "gold"}), now=NOW)
    assert event.attributes["region"] == "eu" and event.attributes["tier"] == "gold"
    assert json.loads(event.attributes[OVERFLOW_KEY]) == {"big": wide}
    small = parse_event(record(attributes={"db": {"system": "postgresql", "instance": "a"}}), now=NOW)
    assert small.attributes == {"db": {"system": "postgresql", "instance": "a"}}  # under the cap: untouched


@pytest.mark.parametrize("depth", [70, 1_500, 100_000])
def test_a_record_nested_past_the_limit_is_a_nesting_rejection_at_any_depth(depth):
    from logintel.events import MAX_NESTING_DEPTH
    deep = 1
    for _ in range(depth):
        deep = [deep]
    line = json.dumps(record(attributes={"deep": deep}), default=str) if depth < 900 else \
        json.dumps(record()).replace('"level": "info"', '"level": "info", "deep": ' + "[" * depth + "1" + "]" * depth)
    error = rejection_of_line(line)
    assert error.dead_letter_cause == "nesting" and f"deeper than {MAX_NESTING_DEPTH} levels" in error.reason
    with pytest.raises(EventValidationError, match="nested deeper"):
        parse_event(record(attributes={"deep": deep}), now=NOW)


def test_nesting_up_to_the_limit_is_kept():
    from logintel.events import MAX_NESTING_DEPTH, nesting_depth
    deep = 1
    for _ in range(MAX_NESTING_DEPTH - 2):  # record → attributes → 62 lists: 64 levels
        deep = [deep]
    event = parse_event(record(attributes={"deep": deep}), now=NOW)
    assert nesting_depth(event.to_record(), 1000) == MAX_NESTING_DEPTH
    assert parse_json_line(event.to_json(), now=NOW) == event


def rejection_of_line(line) -> EventValidationError:
    with pytest.raises(EventValidationError) as info:
        parse_json_line(line, now=NOW)
    return info.value
