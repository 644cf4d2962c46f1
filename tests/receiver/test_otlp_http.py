"""POST /v1/logs over real HTTP on 127.0.0.1: both content types, partial success, every error path."""
from __future__ import annotations

import gzip
import json
import shutil
import time

import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from logintel.events import MAX_NESTING_DEPTH, MAX_RECORD_BYTES
from tests.receiver.otlp_requests import TRACE_ID, many, record, request
from tests.support.receiver import serving

PROTOBUF = "application/x-protobuf"


def test_protobuf_is_answered_in_protobuf_and_every_record_lands(tmp_path):
    with serving(tmp_path) as rx:
        status, headers, body = rx.post("/v1/logs", many(512).SerializeToString(), PROTOBUF)
        assert status == 200 and headers["content-type"] == PROTOBUF
        response = ExportLogsServiceResponse.FromString(body)
        assert not response.HasField("partial_success")  # fully accepted: left unset, as the spec says
        landed = rx.landed()  # answered only once durable: it is on disk now
    assert len(landed) == 512 and {e["service"] for e in landed} == {"checkout"}
    assert {e["trace_id"] for e in landed} == {TRACE_ID.hex()}


def test_json_is_answered_in_json_with_hex_ids(tmp_path):
    document = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders"}}]},
                                  "scopeLogs": [{"logRecords": [{
                                      "timeUnixNano": str(time.time_ns()), "severityNumber": 17,
                                      "body": {"stringValue": "db timeout"}, "traceId": TRACE_ID.hex(),
                                      "attributes": [{"key": "http.route", "value": {"stringValue": "/orders"}}]}]}]}]}
    with serving(tmp_path) as rx:
        status, headers, body = rx.post("/v1/logs", json.dumps(document).encode(), "application/json; charset=utf-8")
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert json.loads(body) == {}
        (event,) = rx.landed()
    assert (event["service"], event["route"], event["level"], event["trace_id"]) == ("orders", "/orders", "error", TRACE_ID.hex())


def test_a_batch_with_bad_records_is_a_partial_success_and_the_bad_ones_are_dead_letters(tmp_path):
    bad = record("no timestamp", when_ns=0)
    with serving(tmp_path) as rx:
        status, _, body = rx.post("/v1/logs", request([record("ok 1"), bad, record("ok 2")]).SerializeToString(), PROTOBUF)
        landed = rx.landed()
    assert status == 200
    partial = ExportLogsServiceResponse.FromString(body).partial_success
    assert partial.rejected_log_records == 1
    assert "validation:timestamp" in partial.error_message and "logRecords[1]" in partial.error_message
    assert sorted(e["error.message"] for e in landed) == ["ok 1", "ok 2"]
    letters = [json.loads(line) for path in (tmp_path / "deadletters").rglob("*.jsonl") for line in path.read_text().splitlines()]
    assert [letter["cause"] for letter in letters] == ["validation:timestamp"]
    assert "resourceLogs" in json.loads(letters[0]["payload"])  # one-record OTLP/JSON, readable by logintel ingest



def test_a_lone_surrogate_in_one_otlp_json_record_does_not_cost_the_batch(tmp_path):
    # orjson refused the escape, so the whole export was a 400, which a Collector does not retry: every record in
    # it was lost for one odd string. Now the batch lands; the odd string holds U+FFFD, and a rejected record's dead
    # letter keeps it exactly.
    def log(text, when_ns):
        return {"timeUnixNano": str(when_ns), "severityNumber": 17, "body": {"stringValue": text}}
    now = time.time_ns()
    document = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders"}}]},
                                  "scopeLogs": [{"logRecords": [log("ok", now), log("odd XX", now), log("late XX", 0)]}]}]}
    body = json.dumps(document).replace("XX", "\\udcff").encode()
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/logs", body, "application/json")
        landed = rx.landed()
    assert status == 200 and json.loads(answer)["partialSuccess"]["rejectedLogRecords"] == "1"
    assert sorted(e["error.message"] for e in landed) == ["odd \ufffd", "ok"]
    (letter,) = [json.loads(line) for path in (tmp_path / "deadletters").rglob("*.jsonl")
                 for line in path.read_text().splitlines()]
    assert json.loads(letter["payload"])["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["body"] == {
        "stringValue": "late \udcff"}


def test_a_protobuf_record_whose_text_is_not_utf8_does_not_cost_the_batch(tmp_path):
    # Protobuf's decoder refuses a message with one string that is not UTF-8, which a Collector can send (a line
    # read in Latin-1): the 400 lost every record of the batch. The odd bytes become U+FFFD; the rest land as sent.
    body = request([record("ok 1"), record("caf\u00e9 ABCD"), record("ok 2")]).SerializeToString()
    assert body.count(b"ABCD") == 1
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/logs", body.replace(b"ABCD", b"\xe9t\xe9!"), PROTOBUF)
        garbage, _, _ = rx.post("/v1/logs", b"\x0a\x05trunc", PROTOBUF)
        landed = rx.landed()
    assert status == 200 and not ExportLogsServiceResponse.FromString(answer).HasField("partial_success")
    assert sorted(e["error.message"] for e in landed) == ["caf\u00e9 \ufffdt\ufffd!", "ok 1", "ok 2"]
    assert garbage == 400  # what is no request at all is still refused

def test_a_resent_batch_makes_the_same_event_ids(tmp_path):
    body = many(20).SerializeToString()
    with serving(tmp_path) as rx:
        assert rx.post("/v1/logs", body, PROTOBUF)[0] == 200
        first = {e["event_id"] for e in rx.landed()}
        assert rx.post("/v1/logs", body, PROTOBUF)[0] == 200
        landed = rx.landed()
    assert len(first) == 20 and len(landed) == 40 and {e["event_id"] for e in landed} == first  # dedupe keeps 20


@pytest.mark.parametrize("content_type, body, grpc_code", [
    (PROTOBUF, b"\xff\xff\xff\xff not protobuf", 3),
    ("application/json", b'{"resourceLogs": [', 3),
    ("application/json", b'{"something": "else"}', 3),
])
def test_a_malformed_body_is_400_with_a_google_rpc_status_in_its_content_type(tmp_path, content_type, body, grpc_code):
    with serving(tmp_path) as rx:
        status, headers, answer = rx.post("/v1/logs", body, content_type)
        assert rx.landed() == []
    assert status == 400
    if content_type == PROTOBUF:
        parsed = Status.FromString(answer)
        assert parsed.code == grpc_code and "ExportLogsServiceRequest" in parsed.message
    else:
        parsed = json.loads(answer)
        assert parsed["code"] == grpc_code and parsed["message"]


def test_an_unknown_content_type_or_encoding_is_415(tmp_path):
    with serving(tmp_path) as rx:
        assert rx.post("/v1/logs", b"hello", "text/plain")[0] == 415
        status, _, body = rx.post("/v1/logs", many(1).SerializeToString(), PROTOBUF, headers={"Content-Encoding": "br"})
    assert status == 415 and "br" in Status.FromString(body).message


def test_gzip_is_accepted_and_a_gzip_bomb_is_413_at_the_cap_after_decompression(tmp_path):
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB of zeros in about 64 KiB
    assert len(bomb) < 1024 * 1024
    with serving(tmp_path, {"LOGINTEL_RECEIVER_MAX_BODY_BYTES": str(1024 * 1024)}) as rx:
        assert rx.post("/v1/logs", many(50).SerializeToString(), PROTOBUF, gzipped=True)[0] == 200
        status, _, body = rx.post("/v1/logs", bomb, PROTOBUF, headers={"Content-Encoding": "gzip"})
        assert status == 413 and "once decompressed" in Status.FromString(body).message
        status, _, _ = rx.post("/v1/logs", b"x" * (2 * 1024 * 1024), PROTOBUF)
        assert status == 413
        cut = gzip.compress(many(50).SerializeToString())[:-12]  # a stream without its end
        status, _, body = rx.post("/v1/logs", cut, PROTOBUF, headers={"Content-Encoding": "gzip"})
        assert status == 400 and "cut short" in Status.FromString(body).message
        assert len(rx.landed()) == 50 and rx.get("/healthz")[0] == 200  # still serving


def test_writes_need_the_bearer_token_when_one_is_set(tmp_path):
    body = many(3).SerializeToString()
    with serving(tmp_path, {"LOGINTEL_RECEIVER_TOKEN": "s3cret"}) as rx:
        status, headers, answer = rx.post("/v1/logs", body, PROTOBUF)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert Status.FromString(answer).code == 16
        assert rx.post("/v1/logs", body, PROTOBUF, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert rx.post_events([], headers={"Authorization": "Bearer s3cre"})[0] == 401
        assert rx.landed() == []
        assert rx.post("/v1/logs", body, PROTOBUF, headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert rx.get("/healthz")[0] == 200  # reads need no token
        assert len(rx.landed()) == 3
        # RFC 7235: the scheme is case-insensitive, the token is not
        for scheme in ("bearer", "BEARER", "beArer"):
            assert rx.post("/v1/logs", body, PROTOBUF, headers={"Authorization": f"{scheme} s3cret"})[0] == 200
            assert rx.post_events([], headers={"Authorization": f"{scheme}  s3cret"})[0] == 200
        assert rx.post("/v1/logs", body, PROTOBUF, headers={"Authorization": "Bearer S3CRET"})[0] == 401
        assert rx.post("/v1/logs", body, PROTOBUF, headers={"Authorization": "Basic s3cret"})[0] == 401


def test_landing_down_with_the_dump_full_is_503_with_retry_after_then_recovers(tmp_path):
    landing = tmp_path / "landing"
    env = {"LOGINTEL_EMIT_DISK_LIMIT_BYTES": "1", "LOGINTEL_EMIT_BACKOFF_CAP_S": "1"}  # no room in the dump at all
    with serving(tmp_path, env) as rx:
        assert rx.post("/v1/logs", many(5).SerializeToString(), PROTOBUF)[0] == 200
        shutil.rmtree(landing)
        landing.write_text("the landing zone's disk is gone")  # a file where the folder was: every write fails
        status, headers, body = rx.post("/v1/logs", many(7).SerializeToString(), PROTOBUF)
        assert status == 503 and int(headers["retry-after"]) >= 1
        assert "durable" in Status.FromString(body).message or "cannot take" in Status.FromString(body).message
        status, headers, body = rx.post("/v1/logs", many(7).SerializeToString(), PROTOBUF)
        assert status == 503 and Status.FromString(body).code == 14
        assert rx.get("/readyz")[0] == 503
        landing.unlink()
        deadline, status = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            status = rx.post("/v1/logs", many(9, service="recovered").SerializeToString(), PROTOBUF)[0]
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200
        assert rx.get("/readyz")[0] == 200
        assert [e["service"] for e in rx.landed()].count("recovered") == 9


def test_landing_down_with_room_in_the_dump_is_200_and_replay_brings_the_events_back(tmp_path):
    from logintel.ingest.replay import replay_dumps
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.store.landing_files import FileLandingZone

    landing = tmp_path / "landing"
    with serving(tmp_path) as rx:
        landing.write_text("not a folder")
        status, _, _ = rx.post("/v1/logs", many(11, service="dumped").SerializeToString(), PROTOBUF)
        assert status == 200  # durable: in the local dump
        stats = rx.running.emitter.stats()
    assert stats["dumped"] == 11 and stats["balanced"]
    landing.unlink()
    report = replay_dumps(tmp_path / "dumps", FileLandingZone(landing), DeadLetterStore(tmp_path / "deadletters"),
                          tmp_path / "dumps-archive")
    assert report.replayed == 11 and len(FileLandingZone(landing).segments(next(iter(FileLandingZone(landing).hours())))) >= 1


def _letters(home) -> list[dict]:
    return [json.loads(line) for path in (home / "deadletters").rglob("*.jsonl") for line in path.read_text().splitlines()]


def _record_json(message: str, attributes: str = "[]") -> str:
    return ('{"timeUnixNano": "%d", "severityNumber": 9, "body": {"stringValue": "%s"}, "attributes": %s}'
            % (time.time_ns(), message, attributes))


def test_an_otlp_json_record_nested_past_the_limit_is_a_dead_letter_in_a_partial_success(tmp_path):
    deep = '{"arrayValue": {"values": [' * 330 + '{"stringValue": "x"}' + "]}}" * 330
    records = [_record_json("ok 1"), _record_json("deep", '[{"key": "k", "value": %s}]' % deep), _record_json("ok 2")]
    body = ('{"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders"}}]},'
            ' "scopeLogs": [{"logRecords": [%s]}]}]}' % ", ".join(records)).encode()
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/logs", body, "application/json")
        events_status, _, events_answer = rx.post("/v1/events", body + b"\n", "application/x-ndjson")
        landed = rx.landed()
    assert status == 200, answer
    partial = json.loads(answer)["partialSuccess"]
    assert partial["rejectedLogRecords"] == "1"
    assert "nesting" in partial["errorMessage"] and "logRecords[1]" in partial["errorMessage"]
    assert f"nested deeper than {MAX_NESTING_DEPTH}" in partial["errorMessage"]
    assert events_status == 200 and json.loads(events_answer)["accepted"] == 2  # the same check on /v1/events
    assert sorted(e["error.message"] for e in landed) == ["ok 1", "ok 1", "ok 2", "ok 2"]
    letters = _letters(tmp_path)
    assert [letter["cause"] for letter in letters] == ["nesting", "nesting"]
    assert "resourceLogs" in json.loads(letters[0]["payload"])  # its record kept (cut at the limit) for a look


def test_a_record_too_big_once_mapped_is_rejected_in_a_partial_success_not_a_503(tmp_path):
    big = record("big", blob="x" * (MAX_RECORD_BYTES + 1))
    body = request([record("ok 1"), big, record("ok 2")]).SerializeToString()
    with serving(tmp_path) as rx:
        status, _, answer = rx.post("/v1/logs", body, PROTOBUF)
        landed = rx.landed()
    assert status == 200
    partial = ExportLogsServiceResponse.FromString(answer).partial_success
    assert partial.rejected_log_records == 1 and "oversized" in partial.error_message
    assert sorted(e["error.message"] for e in landed) == ["ok 1", "ok 2"]
    assert [letter["cause"] for letter in _letters(tmp_path)] == ["oversized"]
