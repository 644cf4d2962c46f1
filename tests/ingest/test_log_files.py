"""File ingestion end to end: real files in, a real FileLandingZone and DeadLetterStore out."""
from __future__ import annotations

import base64
import gzip
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.events import MAX_MESSAGE_CHARS, MAX_RECORD_BYTES, WideEvent, parse_json_line
from logintel.ingest import json_stream
from logintel.ingest import lines as line_reader
from logintel.ingest.log_files import FileTally, ingest_paths, read_input, read_lines, sniff_format
from logintel.store.landing_files import FileLandingZone

# Safely in the past for any sane clock, so the contract's "not in the future" check never bites.
TS = "2025-06-01T10:00:01.123Z"
NANOS = "1748772001123000000"


def event(event_id="e-1", **overrides) -> dict:
    rec = {"event_id": event_id, "timestamp": TS, "service": "payments", "route": "/charge",
           "duration_ms": 12.5, "level": "info"}
    rec.update(overrides)
    return rec


def line(rec: dict) -> bytes:
    return json.dumps(rec).encode() + b"\n"


def kv(key, **value):
    return {"key": key, "value": value}


def otel_record(**overrides) -> dict:
    rec = {"timeUnixNano": NANOS, "severityNumber": 17, "body": {"stringValue": "upstream timed out"},
           "attributes": [kv("http.route", stringValue="/charge"), kv("http.response.status_code", intValue="504")]}
    rec.update(overrides)
    return rec


def otlp(*records, service="payments") -> dict:
    return {"resourceLogs": [{"resource": {"attributes": [kv("service.name", stringValue=service)]},
                              "scopeLogs": [{"scope": {"name": "s"}, "logRecords": list(records)}]}]}


def collect(path: Path, fmt: str = "auto", tally: FileTally | None = None):
    items = list(read_input(path, fmt, tally=tally))
    return ([i for i in items if isinstance(i, WideEvent)], [i for i in items if isinstance(i, DeadLetter)])


@pytest.fixture
def stores(tmp_path):
    return FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dead")


def landed_events(landing: FileLandingZone) -> list[WideEvent]:
    events = []
    for hour in landing.hours():
        batch = landing.read_hour(hour)
        assert not batch.rejects
        events.extend(parse_json_line(text) for text in batch.lines)
    return events


def non_blank_lines(path: Path) -> int:
    return sum(1 for raw in path.read_bytes().split(b"\n") if raw.strip())


# --- JSON lines: the contract at file level ------------------------------------------------------

@pytest.fixture
def messy_jsonl(tmp_path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join([
        line(event("flat", **{"error.code": "E1"})),                              # 1 ok
        line(event("nested", error={"code": "E2", "message": "boom"})),           # 2 ok
        b"\n   \n",                                                                # 3-4 blank: not counted
        line(event("bad-type", duration_ms="slow")),                              # 5 validation:duration_ms
        line(event("bad-level", level="loud")),                                   # 6 validation:level
        line(event("too-old", timestamp="1999-12-31T23:59:59Z")),                 # 7 validation:timestamp
        line(event("future", timestamp="2999-01-01T00:00:00Z")),                  # 8 validation:timestamp
        line(event("huge-msg", **{"error.message": "x" * 1_000_000})),            # 9 validation:error.message
        b'{"event_id": "latin1", "service": "caf\xe9"}\n',                        # 10 encoding
        b'{"event_id": "broken", \n',                                              # 11 invalid_json
        b"[1, 2]\n",                                                               # 12 validation:<record>
        line(event("last-ok")),                                                    # 13 ok
        b'{"event_id": "torn", "timestamp": "2025-06-01T1',                       # 14 torn_line
    ]))
    return path


def test_every_jsonl_line_is_accepted_or_dead_lettered_with_a_precise_cause(messy_jsonl):
    events, letters = collect(messy_jsonl)
    assert [e.event_id for e in events] == ["flat", "nested", "last-ok"]
    assert events[1].error_code == "E2" and events[1].error_message == "boom"
    assert {letter.source: letter.cause for letter in letters} == {
        f"{messy_jsonl}:5": "validation:duration_ms",
        f"{messy_jsonl}:6": "validation:level",
        f"{messy_jsonl}:7": "validation:timestamp",
        f"{messy_jsonl}:8": "validation:timestamp",
        f"{messy_jsonl}:9": "validation:error.message",
        f"{messy_jsonl}:10": "encoding",
        f"{messy_jsonl}:11": "invalid_json",
        f"{messy_jsonl}:12": "validation:<record>",
        f"{messy_jsonl}:14": "torn_line",
    }
    assert all(letter.stage == "ingest" for letter in letters)
    by_source = {letter.source: letter for letter in letters}
    assert by_source[f"{messy_jsonl}:5"].reason == "duration_ms: expected a number, got str (got 'slow')"
    assert "out of range" in by_source[f"{messy_jsonl}:7"].reason
    assert "in the future" in by_source[f"{messy_jsonl}:8"].reason
    assert "longer than 65536 characters" in by_source[f"{messy_jsonl}:9"].reason
    assert "byte 38" in by_source[f"{messy_jsonl}:10"].reason
    # The original bytes travel with the dead letter, line ending removed.
    assert by_source[f"{messy_jsonl}:10"].payload == b'{"event_id": "latin1", "service": "caf\xe9"}'
    assert by_source[f"{messy_jsonl}:14"].payload == b'{"event_id": "torn", "timestamp": "2025-06-01T1'


def test_ingest_accounts_for_every_non_blank_line(messy_jsonl, stores):
    landing, dead = stores
    report = ingest_paths([messy_jsonl], landing, dead)
    assert non_blank_lines(messy_jsonl) == report.accepted + report.dead_lettered == 12
    assert (report.accepted, report.dead_lettered, report.landed) == (3, 9, 3)
    assert report.by_cause["validation:timestamp"] == 2 and report.by_cause["torn_line"] == 1
    assert report.per_file[str(messy_jsonl)] == {
        "format": "jsonl", "lines": 12, "values": 0, "accepted": 3, "folded": 0, "dead_lettered": 9,
        "by_cause": report.by_cause}
    assert sorted(e.event_id for e in landed_events(landing)) == ["flat", "last-ok", "nested"]
    stored = list(dead.records())
    assert len(stored) == 9 and dead.counts_by_cause() == report.by_cause
    latin1 = next(r for r in stored if r["cause"] == "encoding")
    assert base64.b64decode(latin1["payload_b64"]).endswith(b'"caf\xe9"}')
    assert "9 dead-lettered" in report.summary() and "validation:timestamp 2" in report.summary()



def test_a_lone_surrogate_lands_as_a_replacement_character_and_its_hour_loads(tmp_path, stores):
    # "\ud800" is JSON syntax for no character. Before, the landing line held it raw, which has no UTF-8 form: the
    # write failed and `logintel ingest` stopped with the whole file's good lines unlanded. Escaped instead, DuckDB's
    # JSON reader refuses it and the hour would never load.
    from logintel.store.warehouse import connect, load_hour
    landing, dead = stores
    path = tmp_path / "odd.jsonl"
    path.write_bytes(line(event("before")) + line(event("odd", **{"error.message": "name=XX end", "attributes": {
        "fileXX": "XX"}})).replace(b"XX", b"\\udcff") + line(event("after")))
    report = ingest_paths([path], landing, dead)
    assert (report.accepted, report.dead_lettered, report.landed) == (3, 0, 3)
    odd = next(e for e in landed_events(landing) if e.event_id == "odd")
    assert odd.error_message == "name=\ufffd end" and odd.attributes == {"file\ufffd": "\ufffd"}
    (hour,) = landing.hours()
    for fast in (False, True):
        con = connect(tmp_path / f"w{fast}.duckdb")
        loaded = load_hour(con, landing.read_hour(hour, canonical_as_files=fast))
        assert loaded.loaded == 3 and not loaded.dead_letters
        assert con.execute("SELECT error_message FROM raw_events WHERE event_id = 'odd'").fetchone() == ("name=\ufffd end",)
        con.close()

def test_a_last_line_without_newline_that_is_complete_is_accepted(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(line(event("one")) + line(event("two")).rstrip(b"\n"))
    events, letters = collect(path)
    assert [e.event_id for e in events] == ["one", "two"] and not letters


def test_crlf_line_endings_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "win.jsonl"
    crlf = [line(event(name)).replace(b"\n", b"\r\n") for name in ("one", "two")]
    path.write_bytes(b"\xef\xbb\xbf" + b"".join(crlf))
    events, letters = collect(path)
    assert [e.event_id for e in events] == ["one", "two"] and not letters


def test_an_oversized_line_is_dead_lettered_and_reading_goes_on(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"pad": "' + b"x" * (MAX_RECORD_BYTES + 10) + b'"}\n' + line(event("after")))
    tally = FileTally()
    events, letters = collect(path, tally=tally)
    assert [e.event_id for e in events] == ["after"]
    [letter] = letters
    assert letter.cause == "oversized" and letter.source == f"{path}:1"
    assert f"{MAX_RECORD_BYTES + 21:,} bytes" in letter.reason
    assert len(letter.payload) == MAX_RECORD_BYTES + 21
    assert tally.lines == 2


def test_read_lines_caps_what_a_giant_line_keeps(monkeypatch):
    monkeypatch.setattr(line_reader, "MAX_DEAD_LETTER_PAYLOAD", 50)
    stream = io.BytesIO(b"a" * 10 + b"\n" + b"b" * 1000 + b"\n" + b"c" * 5)
    lines = list(read_lines(stream, limit=20))
    assert [(l.number, l.size, l.terminated) for l in lines] == [(1, 10, True), (2, 1000, True), (3, 5, False)]
    assert lines[1].data == b"b" * 50


def test_ingest_keeps_event_ids_stable_so_a_replay_is_idempotent(tmp_path, stores):
    path = tmp_path / "app.log"
    path.write_text("2025-06-01 10:00:01,123 ERROR [payments] POST /charge status=504 code=PG_TIMEOUT\n"
                    "2025-06-01 10:00:01,123 ERROR [payments] POST /charge status=504 code=PG_TIMEOUT\n")
    first = [e.event_id for e in collect(path)[0]]
    second = [e.event_id for e in collect(path)[0]]
    assert first == second
    assert len(set(first)) == 2  # the same text on two lines is two events
    landing, dead = stores
    ingest_paths([path], landing, dead)
    ingest_paths([path], landing, dead)
    landed = landed_events(landing)
    assert len(landed) == 4 and len({e.event_id for e in landed}) == 2


# --- plain text ---------------------------------------------------------------------------------

def test_a_text_log_with_stack_trace_lines(tmp_path, stores):
    path = tmp_path / "service.log"
    path.write_bytes(
        b"2025-06-01T10:00:01.123Z ERROR [payments] POST /charge status=504 duration_ms=5012 code=PG_TIMEOUT "
        b'msg="upstream timed out"\n'
        b"2025-06-01 10:00:02,000 WARN orders: could not acquire connection from pool\n"
        b"java.lang.IllegalStateException: pool closed\n"
        b"\tat com.example.Pool.get(Pool.java:42)\n"
        b"\n"
        b"Jun  1 10:00:03 web-3 nginx[77]: upstream timed out\n"
        b"2025-06-01T10:00:04Z INFO caf\xe9 ready\n"
        b"2025-06-01T10:00:05Z info no newline at the end")
    os.utime(path, (datetime(2025, 6, 2, tzinfo=timezone.utc).timestamp(),) * 2)
    landing, dead = stores
    report = ingest_paths([path], landing, dead)
    assert report.per_file[str(path)]["format"] == "text"
    assert non_blank_lines(path) == report.accepted + report.folded + report.dead_lettered == 7
    assert (report.accepted, report.folded, report.dead_lettered) == (4, 2, 1)
    assert report.by_cause == {"encoding": 1}
    events = {e.service: e for e in landed_events(landing)}
    assert set(events) == {"payments", "orders", "nginx", "unknown"}
    assert events["payments"].error_code == "PG_TIMEOUT" and events["payments"].duration_ms == 5012.0
    assert events["nginx"].timestamp == datetime(2025, 6, 1, 10, 0, 3, tzinfo=timezone.utc)
    # The exception and its frame belong to the warning before them, not to dead letters of their own.
    assert events["orders"].error_message == ("could not acquire connection from pool\n"
                                              "java.lang.IllegalStateException: pool closed\n"
                                              "\tat com.example.Pool.get(Pool.java:42)")
    [letter] = dead.records()
    assert letter["source"] == f"{path}:7" and letter["cause"] == "encoding"


JAVA_TRACE = (
    "java.lang.IllegalStateException: pool closed\n"
    "\tat com.example.Pool.get(Pool.java:42)\n"
    "\tat com.example.Orders.place(Orders.java:17)\n"
    "Caused by: java.net.SocketTimeoutException: Read timed out\n"
    "\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)\n"
    "\t... 12 more\n")


def test_a_java_stack_trace_is_folded_into_the_event_it_follows(tmp_path, stores):
    path = tmp_path / "orders.log"
    first = '2025-06-01T10:00:01Z ERROR [orders] POST /orders status=500 msg="order failed"\n'
    path.write_text(first + JAVA_TRACE + "2025-06-01T10:00:02Z INFO [orders] GET /orders status=200\n")
    tally = FileTally()
    (failed, ok), letters = collect(path, tally=tally)
    assert not letters and (tally.lines, tally.folded) == (8, 6)
    assert failed.error_message == "order failed\n" + JAVA_TRACE.rstrip("\n")
    assert failed.status == 500 and ok.status == 200 and ok.error_message is None
    # The id comes from the first line and the file alone: the trace after it changes nothing.
    path.write_text(first)
    assert collect(path)[0][0].event_id == failed.event_id
    path.write_text(first + JAVA_TRACE)
    landing, dead = stores
    report = ingest_paths([path], landing, dead)
    assert (report.accepted, report.folded, report.dead_lettered) == (1, 6, 0)
    assert report.per_file[str(path)]["lines"] == 7 and report.per_file[str(path)]["folded"] == 6
    assert "6 stack-trace line(s) folded into the event before them" in report.summary()


def test_a_python_traceback_with_a_chained_exception_is_folded(tmp_path):
    path = tmp_path / "worker.log"
    trace = ("Traceback (most recent call last):\n"
             '  File "/app/worker.py", line 10, in run\n'
             "    result = handle(job)\n"
             '  File "/app/jobs.py", line 3, in handle\n'
             '    raise ValueError("bad input")\n'
             "ValueError: bad input\n"
             "\n"
             "During handling of the above exception, another exception occurred:\n"
             "\n"
             "Traceback (most recent call last):\n"
             '  File "/app/worker.py", line 12, in run\n'
             "    report(exc)\n"
             "RuntimeError: could not report\n")
    path.write_text("2025-06-01 10:00:01,000 ERROR [worker] job 42 failed\n" + trace +
                    "2025-06-01 10:00:02,000 INFO [worker] job 43 done\n"
                    "Note: a capitalised word and a colon only close a traceback, they open none\n")
    tally = FileTally()
    (failed, done), [letter] = collect(path, tally=tally)
    assert failed.error_message == "job 42 failed\n" + trace.replace("\n\n", "\n").rstrip("\n")
    assert done.error_message == "job 43 done"
    assert letter.source == f"{path}:16" and letter.cause == "validation:timestamp"
    assert "continuation" not in letter.reason
    assert tally.lines == 1 + 11 + 2 == 14 and tally.lines == 2 + tally.folded + 1


def test_a_continuation_line_with_no_event_before_it_is_a_dead_letter(tmp_path):
    path = tmp_path / "cut.log"
    path.write_text("\tat com.example.Pool.get(Pool.java:42)\n"
                    "Caused by: java.io.IOException: broken pipe\n"
                    "2025-06-01T10:00:01Z ERROR [a] boom\n"
                    "2999-01-01T00:00:00Z ERROR [a] from the future\n"
                    "\tat com.example.Clock.now(Clock.java:1)\n")
    tally = FileTally()
    [event_], letters = collect(path, tally=tally)
    assert event_.error_message == "boom" and tally.folded == 0
    assert [(l.source, l.cause) for l in letters] == [
        (f"{path}:1", "validation:timestamp"), (f"{path}:2", "validation:timestamp"),
        (f"{path}:4", "validation:timestamp"), (f"{path}:5", "validation:timestamp")]
    assert letters[0].payload == b"\tat com.example.Pool.get(Pool.java:42)"
    for orphan in (letters[0], letters[1]):
        assert "looks like a continuation line" in orphan.reason and "no event before it in the file" in orphan.reason
    # A frame after a dead-lettered line is not folded into an earlier event it does not belong to.
    assert "in the future" in letters[2].reason
    assert "no event before it (line 4 was dead-lettered)" in letters[3].reason
    assert tally.lines == 1 + tally.folded + len(letters)


def test_a_trace_longer_than_the_message_limit_is_cut_with_a_note(tmp_path, stores):
    path = tmp_path / "deep.log"
    frames = [f"\tat com.example.Recursion.step{i}(Recursion.java:{i})" for i in range(3000)]
    path.write_text("2025-06-01T10:00:01Z ERROR [deep] stack overflow\n" + "\n".join(frames) + "\n"
                    "2025-06-01T10:00:02Z INFO [deep] recovered\n")
    landing, dead = stores
    report = ingest_paths([path], landing, dead)
    assert (report.accepted, report.folded, report.dead_lettered) == (2, 3000, 0)
    deep = next(e for e in landed_events(landing) if e.error_message.startswith("stack overflow"))
    *kept, note = deep.error_message.split("\n")[1:]
    assert len(deep.error_message) <= MAX_MESSAGE_CHARS
    assert kept == frames[:len(kept)] and len(kept) > 1000
    assert note == f"… ({3000 - len(kept):,} more lines)"
    # A first line already at the limit gives up its end to make room for the note.
    path.write_text("2025-06-01T10:00:01Z ERROR " + "m" * MAX_MESSAGE_CHARS + "\n" + frames[0] + "\n")
    [full], [] = collect(path)
    assert len(full.error_message) == MAX_MESSAGE_CHARS and full.error_message.endswith("m\n… (1 more line)")


# --- OpenTelemetry ------------------------------------------------------------------------------

def test_a_pretty_printed_otlp_document_with_good_and_bad_records(tmp_path, stores):
    path = tmp_path / "export.json"
    doc = otlp(otel_record(), otel_record(severityNumber=99), otel_record(timeUnixNano="x"),
               otel_record(attributes=[kv("log.record.uid", stringValue="uid-7")]))
    path.write_text(json.dumps(doc, indent=2))
    landing, dead = stores
    report = ingest_paths([path], landing, dead)
    assert report.per_file[str(path)]["format"] == "otlp (document)"
    assert (report.accepted, report.dead_lettered) == (2, 2)
    assert report.by_cause == {"validation:level": 1, "validation:timestamp": 1}
    events = landed_events(landing)
    assert {e.service for e in events} == {"payments"} and "uid-7" in {e.event_id for e in events}
    letters = sorted(dead.records(), key=lambda r: r["cause"])
    assert letters[0]["source"] == f"{path}:1"
    assert letters[0]["reason"].startswith("resourceLogs[0].scopeLogs[0].logRecords[1]: level: severityNumber")
    # The dead letter holds just the bad record as a one-record document: fix it and it replays as is.
    replay = tmp_path / "replay.json"
    replay.write_text(letters[0]["payload"].replace('"severityNumber":99', '"severityNumber":9'))
    [fixed], none = collect(replay)
    assert not none and fixed.level == "info" and fixed.service == "payments"


def test_collector_style_otlp_json_lines(tmp_path):
    path = tmp_path / "logs.json"
    path.write_bytes(line(otlp(otel_record(), otel_record(), service="a")) + b"not json\n" +
                     line(otlp(otel_record(severityText="SHOUT", severityNumber=0), service="b")))
    tally = FileTally()
    events, letters = collect(path, tally=tally)
    assert tally.format == "otlp (lines)" and tally.lines == 3
    assert [e.service for e in events] == ["a", "a"]
    assert [(l.source, l.cause) for l in letters] == [(f"{path}:2", "invalid_json"), (f"{path}:3", "validation:level")]


def test_jsonl_mixes_wide_events_bare_otel_records_and_documents(tmp_path):
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(line(event("wide")) + line(otel_record()) + line(otlp(otel_record(), service="doc")))
    events, letters = collect(path)
    assert not letters
    assert [e.service for e in events] == ["payments", "unknown", "doc"]
    assert events[1].status == 504 and events[1].event_id.startswith("otel-")


# --- JSON documents and arrays, streamed --------------------------------------------------------

def test_a_json_array_of_wide_events_is_streamed_across_chunk_boundaries(tmp_path, monkeypatch):
    path = tmp_path / "dump.json"
    records = [event(f"e{i}", **{"error.message": "é" * i}) for i in range(40)]
    path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    whole = collect(path)
    monkeypatch.setattr(json_stream, "_CHUNK", 7)  # forces every value to span several reads and re-decodes
    tally = FileTally()
    chunked = collect(path, tally=tally)
    assert [e.event_id for e in chunked[0]] == [f"e{i}" for i in range(40)] == [e.event_id for e in whole[0]]
    assert not chunked[1] and tally.format == "json (document)" and tally.values == 40


def test_a_bad_element_in_an_array_names_its_line_and_keeps_the_rest_as_payload(tmp_path, monkeypatch):
    monkeypatch.setattr(json_stream, "_CHUNK", 16)
    path = tmp_path / "dump.json"
    path.write_text('[\n' + json.dumps(event("a")) + ',\n' + json.dumps(event("b", level="loud")) + ',\n'
                    '{"event_id": oops},\n' + json.dumps(event("c")) + '\n]\n')
    tally = FileTally()
    events, letters = collect(path, tally=tally)
    assert [e.event_id for e in events] == ["a"]
    assert [(l.source, l.cause) for l in letters] == [(f"{path}:3", "validation:level"), (f"{path}:4", "invalid_json")]
    assert "line 4" in letters[1].reason and "rest of the document was not read" in letters[1].reason
    assert letters[1].payload.startswith(b'{"event_id": oops}') and b'"c"' in letters[1].payload
    assert tally.values == len(events) + len(letters)


def test_a_truncated_document_is_a_torn_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([event("a"), event("b")])[:-30])
    events, letters = collect(path)
    assert [e.event_id for e in events] == ["a"]
    assert [l.cause for l in letters] == ["torn_line"]


def test_non_utf8_in_a_document_is_an_encoding_dead_letter(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'[' + json.dumps(event("a")).encode() + b', {"event_id": "\xff"}]')
    events, letters = collect(path)
    assert [e.event_id for e in events] == [] and [l.cause for l in letters] == ["encoding"]
    assert b"\xff" in letters[0].payload


def test_an_oversized_element_in_a_document(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([event("big", **{"error.message": "x" * (MAX_RECORD_BYTES + 1)}), event("ok")]))
    events, letters = collect(path)
    assert [e.event_id for e in events] == ["ok"] and [l.cause for l in letters] == ["oversized"]


# --- sniffing, compression, directories, batching -----------------------------------------------

@pytest.mark.parametrize("name, content, fmt", [
    ("a.jsonl", b"anything", "jsonl"),
    ("a.NDJSON", b"anything", "jsonl"),
    ("a.json", b'{"resourceLogs": []}', "otlp"),
    ("a.json", b'[{"event_id": "x"}]', "json"),
    ("a.log", b'\n  {"event_id": "x"}\n', "jsonl"),
    ("a.log", b"[1]", "json"),
    ("a.log", b'[\n  {"event_id": "x"}\n]', "json"),
    ("a.log", b'[{"event_id": "x"},\n{"event_id": "y"}]', "json"),
    ("a.log", b'{\n  "resourceLogs": []\n}', "json"),
    ("a.log", b'{"event_id": broken}\n', "jsonl"),
    ("a.log", b"[2025-06-01 10:00:00] INFO x", "text"),
    ("a.log", b"2025-06-01T10:00:00Z INFO x", "text"),
    ("a", b"", "text"),
])
def test_sniff_format(tmp_path, name, content, fmt):
    path = tmp_path / name
    path.write_bytes(content)
    assert sniff_format(path) == fmt


def test_gzip_files_are_read_transparently(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(line(event("z1")) + line(event("z2")))
    assert [e.event_id for e in collect(path)[0]] == ["z1", "z2"]


def test_directories_batches_and_the_report(tmp_path, stores):
    folder = tmp_path / "dumps"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(b"".join(line(event(f"a{i}")) for i in range(5)) + b"{bad\n")
    (folder / "sub" / "b.log").write_text("2025-06-01T10:00:00Z INFO [b] hello\nno timestamp\n")
    (folder / ".c.jsonl.partial").write_bytes(line(event("hidden")))
    landing, dead = stores
    report = ingest_paths([folder], landing, dead, batch_size=2)
    assert list(report.per_file) == [str(folder / "a.jsonl"), str(folder / "sub" / "b.log")]
    assert (report.accepted, report.dead_lettered, report.landed) == (6, 2, 6)
    assert report.by_cause == {"invalid_json": 1, "validation:timestamp": 1}
    [hour] = landing.hours()
    assert len(landing.segments(hour)) == 3  # 6 events in batches of 2
    assert len(landed_events(landing)) == 6 and len(list(dead.records())) == 2
    assert report.summary().startswith("2 file(s): 6 accepted, 2 dead-lettered")


def test_bad_arguments_fail_before_anything_lands(tmp_path, stores):
    landing, dead = stores
    good = tmp_path / "a.jsonl"
    good.write_bytes(line(event()))
    with pytest.raises(FileNotFoundError):
        ingest_paths([good, tmp_path / "missing.jsonl"], landing, dead)
    with pytest.raises(ValueError, match="unknown input format"):
        ingest_paths([good], landing, dead, fmt="xml")
    assert landing.hours() == [] and list(dead.records()) == []


def test_the_message_limit_applies_to_text_too(tmp_path):
    path = tmp_path / "long.log"
    path.write_text("2025-06-01T10:00:00Z ERROR " + "m" * (MAX_MESSAGE_CHARS + 1) + "\n")
    [], [letter] = collect(path)
    assert letter.cause == "validation:error.message"


def test_a_record_that_crashes_the_contract_parser_is_still_just_a_dead_letter(tmp_path):
    # Non-finite and out-of-range numbers once escaped the contract as OverflowError; now they are
    # precise validation errors, and ingestion goes on either way.
    path = tmp_path / "edge.jsonl"
    huge_status = kv("http.response.status_code", intValue="1" + "0" * 400)
    path.write_bytes(b'{"event_id": "inf", "timestamp": "' + TS.encode() + b'", "service": "s", "route": "/", '
                     b'"duration_ms": 1, "level": "info", "status": Infinity}\n'
                     + line(otlp(otel_record(attributes=[huge_status]), otel_record()))
                     + line(event("after")))
    events, letters = collect(path)
    assert [e.event_id for e in events][-1] == "after" and len(events) == 2
    assert [(l.source, l.cause) for l in letters] == [(f"{path}:1", "validation:status"),
                                                      (f"{path}:2", "validation:status")]
