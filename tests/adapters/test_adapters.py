"""Plain-text and OpenTelemetry JSON log records adapted to the WideEvent contract."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from logintel.adapters import parse_otel_record, parse_otlp_document, parse_plain_text
from logintel.adapters.otel import OtlpRecordError, looks_like_otlp_record, unwrap_value
from logintel.events import MAX_MESSAGE_CHARS, EventValidationError, WideEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
TS = datetime(2026, 11, 23, 10, 0, 1, 123000, tzinfo=timezone.utc)
NANOS = "1795428001123000000"  # TS in Unix nanoseconds


def text(line: str, **kw) -> WideEvent:
    kw.setdefault("now", NOW)
    return parse_plain_text(line, **kw)


# --- plain text -------------------------------------------------------------------------------

def test_a_structured_text_line_fills_every_field():
    event = text('2026-11-23T10:00:01.123Z ERROR [payments] POST /payments/charge status=504 duration_ms=5012 '
                 'code=PG_TIMEOUT trace_id=4bf92f3577b34da6 user=u-1 ip=10.0.0.1 request_id=r-9 '
                 'error.type=Timeout ua="curl/8.1 (x86)" upstream=pg-provider msg="upstream pg-provider timed out"')
    assert event.timestamp == TS
    assert (event.level, event.service, event.method, event.route) == ("error", "payments", "POST", "/payments/charge")
    assert (event.status, event.duration_ms) == (504, 5012.0)
    assert (event.error_code, event.error_type) == ("PG_TIMEOUT", "Timeout")
    assert (event.trace_id, event.user_id) == ("4bf92f3577b34da6", "u-1")
    assert (event.client_ip, event.request_id) == ("10.0.0.1", "r-9")
    assert event.user_agent == "curl/8.1 (x86)"
    assert event.error_message == "upstream pg-provider timed out"
    assert event.attributes == {"upstream": "pg-provider"}


def test_a_loose_line_with_comma_millis_and_service_colon():
    event = text("2026-11-23 10:00:01,123 WARN orders: could not acquire connection from pool")
    assert (event.timestamp, event.level, event.service) == (TS, "warn", "orders")
    assert event.route == "(log)" and event.duration_ms == 0.0
    assert event.error_message == "could not acquire connection from pool"


def test_syslog_line_takes_its_year_from_the_reference_date():
    event = text("Nov 23 10:00:01 web-3 nginx[123]: upstream timed out", reference=date(2026, 11, 23))
    assert event.timestamp == datetime(2026, 11, 23, 10, 0, 1, tzinfo=timezone.utc)
    assert event.service == "nginx" and event.level == "info"
    assert event.attributes == {"host.name": "web-3", "process.pid": 123}
    assert event.error_message == "upstream timed out"


def test_a_december_syslog_line_read_in_january_is_from_last_year():
    new_year = datetime(2027, 1, 1, tzinfo=timezone.utc)
    event = text("Dec 31 23:59:59 h cron: job done", reference=new_year.date(), now=new_year)
    assert event.timestamp.year == 2026


def test_syslog_priority_gives_the_level_unless_the_line_names_one():
    assert text("<11>Nov 23 10:00:01 h app: boom", reference=NOW).level == "error"  # 11 % 8 == 3
    assert text("<14>Nov 23 10:00:01 h app: WARN boom", reference=NOW).level == "warn"


def test_empty_values_fill_no_field():
    event = text("2026-11-23T10:00:01Z info [svc] user= service= x")
    assert (event.user_id, event.service) == (None, "svc")
    assert event.attributes == {"user": "", "service": ""}


@pytest.mark.parametrize("line, ts", [
    ("2026-11-23T11:00:01.123+01:00 info x", TS),
    ("2026-11-23T11:00:01.123+0100 info x", TS),
    ("[2026-11-23 10:00:01.123] info x", TS),
    ("2026-11-23T10:00:01.123456789Z info x", TS.replace(microsecond=123456)),
    ("1795428001.123 info x", TS),
    ("1795428001123 info x", TS),
    ('time=2026-11-23T10:00:01.123Z level=info msg=x', TS),
])
def test_timestamp_prefixes(line, ts):
    assert text(line).timestamp == ts


@pytest.mark.parametrize("word, level", [
    ("DEBUG", "debug"), ("trace", "debug"), ("Info", "info"), ("NOTICE", "info"), ("WARNING", "warn"),
    ("[ERROR]", "error"), ("ERROR:", "error"), ("crit", "fatal"), ("FATAL", "fatal"),
])
def test_level_words_are_mapped_case_insensitively(word, level):
    assert text(f"2026-11-23T10:00:01Z {word} something").level == level


def test_missing_level_means_info_and_missing_service_the_default():
    event = text("2026-11-23T10:00:01Z something happened", default_service="batch")
    assert (event.level, event.service, event.error_message) == ("info", "batch", "something happened")


def test_a_capitalised_word_with_a_colon_is_message_not_service():
    event = text("2026-11-23T10:00:01Z ERROR Connection: refused")
    assert event.service == "unknown" and event.error_message == "Connection: refused"


@pytest.mark.parametrize("pair, ms", [
    ("duration_ms=12.5", 12.5), ("duration=250", 250.0), ("latency=1.5s", 1500.0), ("took=250us", 0.25),
    ("elapsed=1m30s", 90_000.0), ("latency_s=2", 2000.0), ("duration=3ms", 3.0),
])
def test_durations_with_units(pair, ms):
    assert text(f"2026-11-23T10:00:01Z info {pair}").duration_ms == pytest.approx(ms)


def test_words_where_numbers_are_expected_stay_as_attributes():
    event = text("2026-11-23T10:00:01Z info job done status=ok duration=fast")
    assert event.status is None and event.duration_ms == 0.0
    assert event.attributes == {"status": "ok", "duration": "fast"}


def test_attribute_values_become_numbers_only_losslessly():
    event = text('2026-11-23T10:00:01Z info n=42 ratio=0.5 version=1.10 zip=007 note="a \\"quoted\\" word"')
    assert event.attributes == {"n": 42, "ratio": 0.5, "version": "1.10", "zip": "007", "note": 'a "quoted" word'}


def test_query_string_is_split_off_the_route_and_a_route_pair_wins():
    event = text("2026-11-23T10:00:01Z info GET /orders/123?expand=items HTTP/1.1 route=/orders/{id} status=200")
    assert (event.method, event.route, event.status) == ("GET", "/orders/{id}", 200)
    assert event.attributes == {"url.query": "expand=items", "url.path": "/orders/123"}


def test_free_text_and_msg_and_err_are_all_kept_in_the_message():
    event = text('2026-11-23T10:00:01Z error [db] query failed msg="pool exhausted" err="timeout after 5s"')
    assert event.error_message == "query failed: pool exhausted: timeout after 5s"


def test_event_id_is_deterministic_per_source_and_line():
    line = "2026-11-23T10:00:01Z info x"
    first, again = text(line, source="a.log:1"), text(line, source="a.log:1")
    assert first.event_id == again.event_id and first.event_id.startswith("txt-")
    assert text(line, source="a.log:2").event_id != first.event_id
    assert text(line + " event_id=given").event_id == "given"


def test_a_line_without_timestamp_is_a_timestamp_error():
    with pytest.raises(EventValidationError) as info:
        text("    at com.example.Foo.bar(Foo.java:42)")
    assert info.value.field == "timestamp" and info.value.cause == "validation:timestamp"


@pytest.mark.parametrize("line, field", [
    ("1999-12-31T23:59:59Z info x", "timestamp"),
    ("2026-11-23T10:00:01Z info status=700", "status"),
    ("2026-11-23T10:00:01Z info duration=90000000", "duration_ms"),
    ("2026-11-23T10:00:01Z info level=loud", "level"),
    ("2026-02-30T10:00:01Z info x", "timestamp"),
    ("2026-11-23T10:00:01Z info " + "x" * (MAX_MESSAGE_CHARS + 1), "error.message"),
])
def test_text_that_breaks_the_contract_names_the_field(line, field):
    with pytest.raises(EventValidationError) as info:
        text(line)
    assert info.value.field == field


# --- OpenTelemetry ----------------------------------------------------------------------------

def kv(key, **value):
    return {"key": key, "value": value}


def otel_record(**overrides):
    rec = {
        "timeUnixNano": NANOS, "observedTimeUnixNano": NANOS, "severityNumber": 17, "severityText": "ERROR",
        "body": {"stringValue": "upstream pg-provider timed out"},
        "attributes": [
            kv("http.route", stringValue="/payments/charge"), kv("http.request.method", stringValue="post"),
            kv("http.response.status_code", intValue="504"), kv("http.server.request.duration", doubleValue=5.012),
            kv("error.type", stringValue="TimeoutError"), kv("error.code", stringValue="PG_TIMEOUT"),
            kv("user.id", intValue="42"), kv("client.address", stringValue="10.0.0.1"),
            kv("user_agent.original", stringValue="curl/8"), kv("db.system", stringValue="postgresql"),
        ],
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
    }
    rec.update(overrides)
    return rec


def document(*records, service="payments"):
    resource = {"attributes": [kv("service.name", stringValue=service),
                               kv("deployment.environment", stringValue="prod")]}
    return {"resourceLogs": [{"resource": resource, "scopeLogs": [
        {"scope": {"name": "payments.http"}, "logRecords": list(records)}]}]}


def test_an_otel_record_maps_to_every_contract_field():
    [event] = parse_otlp_document(document(otel_record()), now=NOW)
    assert event.timestamp == TS and event.service == "payments"
    assert (event.route, event.method, event.status, event.level) == ("/payments/charge", "POST", 504, "error")
    assert event.duration_ms == pytest.approx(5012.0)
    assert (event.error_type, event.error_code) == ("TimeoutError", "PG_TIMEOUT")
    assert event.error_message == "upstream pg-provider timed out"
    assert (event.user_id, event.client_ip, event.user_agent) == ("42", "10.0.0.1", "curl/8")
    assert event.trace_id == "5b8efff798038103d269b633813fc60c"
    assert event.attributes == {"db.system": "postgresql", "deployment.environment": "prod",
                                "span_id": "eee19b7ec3c1b174", "otel.scope.name": "payments.http"}


@pytest.mark.parametrize("number, level", [(1, "debug"), (4, "debug"), (5, "debug"), (9, "info"), (12, "info"),
                                           (13, "warn"), (17, "error"), (20, "error"), (21, "fatal"), (24, "fatal"),
                                           ("SEVERITY_NUMBER_WARN", "warn"), ("SEVERITY_NUMBER_ERROR3", "error")])
def test_severity_number_ranges(number, level):
    assert parse_otel_record(otel_record(severityNumber=number, severityText="ignored"), [], now=NOW).level == level


@pytest.mark.parametrize("text_level, level", [("Information", "info"), ("WARNING", "warn"), ("", "info")])
def test_severity_text_is_used_without_a_number(text_level, level):
    rec = otel_record(severityText=text_level)
    del rec["severityNumber"]
    assert parse_otel_record(rec, [], now=NOW).level == level


def test_observed_time_stands_in_for_a_zero_time_and_route_defaults():
    rec = otel_record(timeUnixNano="0", attributes=[], body={"stringValue": ""})
    event = parse_otel_record(rec, {"service.name": "jobs"}, now=NOW)
    assert event.timestamp == TS and event.route == "(log)" and event.service == "jobs"
    assert event.error_message is None and event.duration_ms == 0.0


def test_url_path_and_exception_fields_fill_in():
    rec = otel_record(body={}, attributes=[
        kv("url.path", stringValue="/health"), kv("exception.type", stringValue="KeyError"),
        kv("exception.message", stringValue="'x'"), kv("duration_ms", intValue="7")])
    event = parse_otel_record(rec, [], now=NOW)
    assert (event.route, event.error_type) == ("/health", "KeyError")
    assert (event.error_message, event.duration_ms) == ("'x'", 7.0)


def test_typed_values_are_unwrapped():
    assert unwrap_value({"intValue": "9007199254740993"}, "a") == 9007199254740993  # beyond float precision
    assert unwrap_value({"doubleValue": "NaN"}, "a") != unwrap_value({"doubleValue": "NaN"}, "a")
    assert unwrap_value({"arrayValue": {"values": [{"boolValue": True}, {"stringValue": "s"}]}}, "a") == [True, "s"]
    assert unwrap_value({"kvlistValue": {"values": [kv("k", intValue=1)]}}, "a") == {"k": 1}
    assert unwrap_value({}, "a") is None
    with pytest.raises(EventValidationError, match="intValue is not an integer"):
        unwrap_value({"intValue": "x"}, "a")


def test_event_id_from_attribute_or_a_stable_hash():
    with_id = otel_record(attributes=[kv("log.record.uid", stringValue="01JD-UID")])
    assert parse_otel_record(with_id, [], now=NOW).event_id == "01JD-UID"
    first = parse_otel_record(otel_record(), [kv("service.name", stringValue="a")], now=NOW)
    again = parse_otel_record(otel_record(), [kv("service.name", stringValue="a")], now=NOW)
    other = parse_otel_record(otel_record(), [kv("service.name", stringValue="b")], now=NOW)
    assert first.event_id == again.event_id != other.event_id
    assert first.event_id.startswith("otel-")


def test_a_bad_record_yields_its_error_and_the_others_still_come():
    items = list(parse_otlp_document(document(
        otel_record(),
        otel_record(timeUnixNano="0", observedTimeUnixNano="0"),
        otel_record(severityNumber=99),
        otel_record(attributes=[kv("http.response.status_code", intValue="9999999999999999999999")]),
        otel_record(attributes="nope"),
        otel_record(timeUnixNano="soon"),
        otel_record(body={"stringValue": "x" * (MAX_MESSAGE_CHARS + 1)}),
        otel_record(),
    ), now=NOW))
    assert [type(i).__name__ for i in items] == ["WideEvent"] + ["OtlpRecordError"] * 6 + ["WideEvent"]
    errors = items[1:-1]
    assert [e.cause for e in errors] == ["validation:timestamp", "validation:level", "validation:status",
                                         "validation:attributes", "validation:timestamp", "validation:error.message"]
    assert errors[1].location == "resourceLogs[0].scopeLogs[0].logRecords[2]"
    replay = errors[1].replay_document()
    assert replay["resourceLogs"][0]["scopeLogs"][0]["logRecords"] == [otel_record(severityNumber=99)]
    assert replay["resourceLogs"][0]["resource"]["attributes"][0]["key"] == "service.name"


def test_structural_problems_in_a_document_are_errors_not_crashes():
    [error] = parse_otlp_document({"resourceLogs": "x"})
    assert isinstance(error, OtlpRecordError) and error.field == "resourceLogs"
    items = list(parse_otlp_document({"resourceLogs": [5, {"scopeLogs": [{"logRecords": None}]},
                                                       {"scopeLogs": [{"logRecords": [otel_record()]}]}]}, now=NOW))
    assert [type(i).__name__ for i in items] == ["OtlpRecordError", "OtlpRecordError", "WideEvent"]
    assert items[2].service == "unknown"


def test_bare_records_are_told_apart_from_wide_events():
    assert looks_like_otlp_record(otel_record())
    assert not looks_like_otlp_record({"event_id": "e", "timeUnixNano": "1"})
    assert not looks_like_otlp_record({"timestamp": "2026-11-23T10:00:01Z", "service": "s"})
