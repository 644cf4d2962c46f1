"""POST /v1/events (NDJSON and JSON arrays of wide events) and the receiver's /metrics, over real HTTP."""
from __future__ import annotations

import json
import re

from datetime import datetime, timezone

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
