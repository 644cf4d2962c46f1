"""POST /v1/events (NDJSON and JSON arrays of wide events) and the receiver's /metrics, over real HTTP."""
from __future__ import annotations

import gzip
import http.client
import json
import re
import threading
import time
from datetime import datetime, timezone

import pytest

import logintel.receiver.app as receiver_app
from logintel.events import MAX_NESTING_DEPTH, MAX_RECORD_BYTES
from tests.support.factories import event
from tests.support.receiver import serving


def _event(i: int, **overrides) -> dict:
    record = event(datetime.now(timezone.utc), **overrides).to_record()
    record["event_id"] = f"ev-{i}"
    return record


def test_ndjson_lands_the_good_lines_and_names_each_bad_one_with_its_line_and_reason(tmp_path):
    lines = [_event(1), "{not json", _event(2), {"event_id": "ev-x", "service": "s"}, _event(3, status=503, level="error"),
             {**_event(4), "duration_ms": "slow"}]
    with serving(tmp_path) as rx:
        status, answer = rx.post_events(lines)
        landed = rx.landed()
    assert status == 200
    assert answer["accepted"] == 3 and answer["rejected"] == 3
    assert [(e["line"], e["cause"]) for e in answer["errors"]] == [
        (2, "invalid_json"), (4, "validation:timestamp"), (6, "validation:duration_ms")]
    assert sorted(e["event_id"] for e in landed) == ["ev-1", "ev-2", "ev-3"]
    letters = [json.loads(line) for path in (tmp_path / "deadletters").rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert sorted(letter["source"] for letter in letters) == [
        "receiver /v1/events line 2", "receiver /v1/events line 4", "receiver /v1/events line 6"]


def test_a_json_array_is_taken_too_and_a_broken_one_is_refused_whole(tmp_path):
    with serving(tmp_path) as rx:
        status, _, body = rx.post("/v1/events", json.dumps([_event(1), _event(2)]).encode())
        assert status == 200 and json.loads(body)["accepted"] == 2
        status, _, body = rx.post("/v1/events", b'[{"event_id": "a"}, ')
        assert status == 400 and "JSON array" in json.loads(body)["error"]
        assert len(rx.landed()) == 2


def test_an_otlp_json_document_on_a_line_is_adapted_as_logintel_ingest_adapts_it(tmp_path):
    document = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
                                  "scopeLogs": [{"logRecords": [{"timeUnixNano": "1764979200000000000", "severityText": "ERROR",
                                                                 "body": {"stringValue": "ledger write failed"}}]}]}]}
    with serving(tmp_path) as rx:
        status, answer = rx.post_events([document])
        (event,) = rx.landed()
    assert status == 200 and answer["accepted"] == 1
    assert (event["service"], event["level"]) == ("billing", "error")


def test_metrics_count_received_accepted_rejected_by_cause_landed_and_latency(tmp_path):
    with serving(tmp_path) as rx:
        rx.post_events([_event(1), _event(2), "nope"])
        rx.post("/v1/logs", b"\x00bad", "application/x-protobuf")
        status, headers, body = rx.get("/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")

    def value(pattern: str) -> float:
        match = re.search(r"^" + pattern + r" ([0-9.e+]+)$", text, re.MULTILINE)
        assert match, pattern
        return float(match.group(1))

    assert value(r'logintel_receiver_records_received_total\{endpoint="/v1/events"\}') == 3
    assert value(r'logintel_receiver_records_accepted_total\{endpoint="/v1/events"\}') == 2
    assert value(r'logintel_receiver_records_rejected_total\{cause="invalid_json",endpoint="/v1/events"\}') == 1
    assert value(r'logintel_receiver_events_landed_total\{transport="files"\}') == 2
    assert value(r'logintel_receiver_requests_total\{code="400",endpoint="/v1/logs"\}') == 1
    assert value(r'logintel_receiver_request_duration_seconds_count\{endpoint="/v1/events"\}') == 1
    assert value(r"logintel_receiver_in_flight_bytes") == 0


def _dead_letters(home) -> list[dict]:
    return [json.loads(line) for path in (home / "deadletters").rglob("*.jsonl") for line in path.read_text().splitlines()]


def _nested(record: dict, depth: int) -> str:
    """`record` as JSON with an attribute nested `depth` objects deep (written by hand: encoders refuse it)."""
    return json.dumps(record)[:-1] + ', "deep": ' + '{"a": ' * depth + '"x"' + "}" * depth + "}"


@pytest.mark.parametrize("depth", [1_000, 5_000])
def test_a_line_nested_past_the_limit_is_a_dead_letter_and_the_good_lines_land(tmp_path, depth):
    lines = [_event(1), _event(2), _event(3), _nested(_event(4), depth), _event(5), _event(6)]
    with serving(tmp_path) as rx:
        status, answer = rx.post_events(lines)
        landed = rx.landed()
    assert status == 200, answer
    assert answer["accepted"] == 5 and answer["rejected"] == 1
    (error,) = answer["errors"]
    assert (error["line"], error["cause"]) == (4, "nesting")
    assert f"nested deeper than {MAX_NESTING_DEPTH}" in error["reason"]
    assert sorted(e["event_id"] for e in landed) == ["ev-1", "ev-2", "ev-3", "ev-5", "ev-6"]
    (letter,) = _dead_letters(tmp_path)
    assert (letter["cause"], letter["source"]) == ("nesting", "receiver /v1/events line 4")


def test_a_json_array_item_nested_past_the_limit_is_a_dead_letter_and_the_rest_land(tmp_path):
    body = "[" + ", ".join([json.dumps(_event(1)), _nested(_event(2), 600), json.dumps(_event(3))]) + "]"
    # The landed event is the first level and "deep" moves under its attributes: the limit exactly.
    at_limit = _nested(_event(4), MAX_NESTING_DEPTH - 2)
    with serving(tmp_path) as rx:
        status, _, data = rx.post("/v1/events", body.encode())
        answer = json.loads(data)
        assert rx.post_events([at_limit])[1]["accepted"] == 1
        landed = rx.landed()
    assert status == 200 and answer["accepted"] == 2
    assert [(e["line"], e["cause"]) for e in answer["errors"]] == [(2, "nesting")]
    assert sorted(e["event_id"] for e in landed) == ["ev-1", "ev-3", "ev-4"]


def test_a_json_array_item_over_the_record_limit_is_rejected_in_the_answer_not_a_503(tmp_path):
    big = {**_event(2), "blob": "x" * (MAX_RECORD_BYTES + 1)}
    body = json.dumps([_event(1), big, _event(3)]).encode()
    with serving(tmp_path) as rx:
        for _ in range(2):  # a client resending it changes nothing
            status, _, data = rx.post("/v1/events", body)
            answer = json.loads(data)
            assert status == 200, answer
            assert answer["accepted"] == 2 and [(e["line"], e["cause"]) for e in answer["errors"]] == [(2, "oversized")]
        landed = rx.landed()
    assert sorted(e["event_id"] for e in landed) == ["ev-1", "ev-1", "ev-3", "ev-3"]
    assert [letter["cause"] for letter in _dead_letters(tmp_path)] == ["oversized", "oversized"]


def test_gzip_members_back_to_back_all_land_and_trailing_garbage_is_400(tmp_path):
    first = b"".join(json.dumps(_event(i)).encode() + b"\n" for i in (1, 2))
    second = json.dumps(_event(3)).encode() + b"\n"
    headers = {"Content-Encoding": "gzip"}
    with serving(tmp_path) as rx:
        status, _, data = rx.post("/v1/events", gzip.compress(first) + gzip.compress(second), "application/x-ndjson",
                                  headers=headers)
        assert status == 200 and json.loads(data)["accepted"] == 3
        status, _, data = rx.post("/v1/events", gzip.compress(first) + b"trailing junk", "application/x-ndjson",
                                  headers=headers)
        assert status == 400 and "after the gzip" in json.loads(data)["error"]
        assert sorted(e["event_id"] for e in rx.landed()) == ["ev-1", "ev-2", "ev-3"]


@pytest.mark.parametrize("content_type, status", [
    ("application/x-ndjson", 200), ("application/x-ndjson; charset=utf-8", 200), ("application/json", 200),
    ("application/jsonl", 200), ("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("", 415)])
def test_events_take_ndjson_or_json_and_refuse_any_other_content_type_with_415(tmp_path, content_type, status):
    with serving(tmp_path) as rx:
        got, _, data = rx.request("POST", "/v1/events", json.dumps(_event(1)).encode() + b"\n",
                                  {"Content-Type": content_type} if content_type else {})
        landed = rx.landed()
    assert got == status
    if status == 415:
        assert "Content-Type" in json.loads(data)["error"] and landed == []


def test_healthz_answers_while_a_large_body_is_being_parsed(tmp_path, monkeypatch):
    # The parse is held in progress until /healthz has answered: were it on the event loop, nothing
    # else would be served meanwhile and /healthz would time out.
    started, release = threading.Event(), threading.Event()
    real = receiver_app.parse_events

    def held(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(receiver_app, "parse_events", held)
    lines = [_event(i) for i in range(20_000)]
    answers = []
    with serving(tmp_path) as rx:
        poster = threading.Thread(target=lambda: answers.append(rx.post_events(lines, gzipped=True)))
        poster.start()
        try:
            assert started.wait(30)
            began = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", rx.port, timeout=10)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            took = time.monotonic() - began
            assert poster.is_alive() and not answers  # the big body was still being parsed
        finally:
            release.set()
            poster.join(60)
    assert took < 3.0
    assert answers[0][0] == 200 and answers[0][1]["accepted"] == 20_000


def test_an_ndjson_body_whose_first_line_opens_an_array_is_still_lines(tmp_path):
    # Found by the attack suite: "[" on the first line made the whole NDJSON body a broken JSON array (400),
    # and the good line after it was lost with it. NDJSON's Content-Type says lines: each stands on its own.
    body = b"[\n" + json.dumps(_event(1)).encode() + b"\n"
    with serving(tmp_path) as rx:
        got, _, data = rx.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        as_json, _, _ = rx.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
        landed = rx.landed()
    answer = json.loads(data)
    assert got == 200 and (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["errors"][0]["line"] == 1 and len(landed) == 1
    assert as_json == 400  # sent as JSON, a body opening with "[" is one array, and this one is broken


def test_a_body_opening_with_a_utf8_byte_order_mark_is_read_like_a_file(tmp_path):
    body = b"\xef\xbb\xbf" + json.dumps(_event(1)).encode() + b"\r\n" + json.dumps(_event(2)).encode() + b"\r\n"
    with serving(tmp_path) as rx:
        got, _, data = rx.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        landed = rx.landed()
    assert got == 200 and json.loads(data)["accepted"] == 2 and len(landed) == 2



def test_a_lone_surrogate_escape_lands_as_a_replacement_character_as_logintel_ingest_lands_it(tmp_path):
    # "\ud800" is JSON syntax for no character. orjson refuses it: the line was dead-lettered as invalid JSON (and a
    # JSON array holding one was refused whole), where `logintel ingest` lands it. The stdlib reads it now.
    odd = json.dumps(_event(2, error_message="name=XX end")).replace("XX", "\\ud800")
    body = (json.dumps(_event(1)) + "\n" + odd + "\n").encode()
    assert b'"name=\\ud800 end"' in body
    with serving(tmp_path) as rx:
        got, _, data = rx.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
        array, _, answer = rx.post("/v1/events", ("[" + odd.replace("ev-2", "ev-3") + "]").encode())
        landed = rx.landed()
    assert got == 200 and json.loads(data) == {"accepted": 2, "rejected": 0, "errors": []}
    assert array == 200 and json.loads(answer)["accepted"] == 1
    assert sorted(e["event_id"] for e in landed) == ["ev-1", "ev-2", "ev-3"]
    assert sorted(e["event_id"] for e in landed if "name=\ufffd end" in json.dumps(e, ensure_ascii=False)) == [
        "ev-2", "ev-3"]
