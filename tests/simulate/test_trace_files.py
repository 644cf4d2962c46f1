"""The simulator's trace files: OTLP/JSON export requests one file an hour, whole traces to a request, every
span's parent in its trace, a real call graph (caller SERVER → CLIENT → callee SERVER) with database queries;
opt-in, deterministic, and the direct path's events untouched."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from logintel.simulate import simulate, write_traces
from logintel.simulate.trace_files import MAX_SPANS_PER_REQUEST
from logintel.simulate.trace_spans import CLIENT, SERVER
from tests.support.cli import cli
from tests.support.trace_documents import as_protobuf

SMALL_START = datetime(2025, 6, 3, 8, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def documents(traced) -> list[list[dict]]:
    """Each file's export requests."""
    return [[json.loads(line) for line in path.read_text().splitlines()] for path in traced.written["paths"]]


def requests(documents) -> list[dict]:
    return [document for in_file in documents for document in in_file]


def spans_of(document: dict) -> list[tuple[dict, dict]]:
    """(resource attributes, span) for every span of one export request."""
    out = []
    for entry in document["resourceSpans"]:
        resource = {a["key"]: a["value"]["stringValue"] for a in entry["resource"]["attributes"]}
        out += [(resource, span) for scope in entry["scopeSpans"] for span in scope["spans"]]
    return out


def attributes(span: dict) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}


def test_one_file_an_hour_of_export_requests_with_whole_traces(traced, documents):
    assert [p.name for p in traced.written["paths"]] == ["traces-2025-06-02T12.json", "traces-2025-06-02T13.json"]
    for in_file in documents:
        assert as_protobuf(in_file[0]).resource_spans  # a valid ExportTraceServiceRequest
    requests_of_trace: Counter = Counter()
    for document in requests(documents):
        spans = spans_of(document)
        assert len(spans) <= MAX_SPANS_PER_REQUEST
        requests_of_trace.update({span["traceId"] for _, span in spans})
    assert set(requests_of_trace.values()) == {1}
    assert len(requests_of_trace) == traced.written["traces"]
    assert sum(len(spans_of(d)) for d in requests(documents)) == traced.written["spans"]


def test_every_span_has_its_parent_in_its_trace_and_one_root(documents):
    for document in requests(documents):
        by_trace: dict[str, dict[str, dict]] = {}
        for _, span in spans_of(document):
            by_trace.setdefault(span["traceId"], {})[span["spanId"]] = span
        for trace in by_trace.values():
            roots = [span for span in trace.values() if "parentSpanId" not in span]
            assert len(roots) == 1 and roots[0]["kind"] == SERVER
            assert all(span["parentSpanId"] in trace for span in trace.values() if "parentSpanId" in span)


def test_a_callee_answers_its_callers_client_span_and_queries_sit_inside_their_request(traced, documents):
    kinds: Counter = Counter()
    for document in requests(documents):
        spans = {span["spanId"]: (resource, span) for resource, span in spans_of(document)}
        for resource, span in spans.values():
            start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
            attrs = attributes(span)
            if span["kind"] == SERVER:
                kinds["server"] += 1
                if "parentSpanId" not in span:
                    continue
                caller_resource, call = spans[span["parentSpanId"]]
                assert call["kind"] == CLIENT and attributes(call)["peer.service"] == resource["service.name"]
                assert caller_resource["service.name"] != resource["service.name"]
                _, caller = spans[call["parentSpanId"]]
                assert caller["kind"] == SERVER
                # The call starts on the wire before the callee does, and ends with its answer.
                assert int(call["startTimeUnixNano"]) < start and int(call["endTimeUnixNano"]) == end
                assert int(caller["startTimeUnixNano"]) <= int(call["startTimeUnixNano"])
                continue
            assert span["kind"] == CLIENT
            owner_resource, owner = spans[span["parentSpanId"]]
            assert owner["kind"] == SERVER and owner_resource == resource  # a call is made in its caller's process
            # Inside its request; a call to a service is placed from the callee's microsecond times (rounding).
            slack = 1_000 if "peer.service" in attrs else 0
            assert int(owner["startTimeUnixNano"]) - slack <= start <= end <= int(owner["endTimeUnixNano"]) + slack
            if "db.system" in attrs:
                kinds["query"] += 1
                assert attrs["db.system"] == "postgresql" and attrs["db.namespace"].endswith("-db")
            elif "peer.service" in attrs:
                kinds["call"] += 1
            else:
                kinds["upstream"] += 1
                assert attrs["server.address"]
    events = traced.sim.events
    assert kinds["server"] == len(events)
    assert kinds["call"] == sum(1 for e in events if "caller" in e.attributes)
    assert kinds["query"] == sum(e.attributes.get("db.query_count", 0) for e in events)
    assert kinds["upstream"] == sum(1 for e in events if "upstream.duration_ms" in e.attributes)


def test_failures_are_error_spans_with_an_exception_and_client_errors_are_not(documents):
    seen = Counter()
    for document in requests(documents):
        for _, span in spans_of(document):
            if span["kind"] != SERVER:
                continue
            status = int(attributes(span)["http.response.status_code"])
            if status >= 500:
                seen["5xx"] += 1
                assert span["status"]["code"] == 2
                (event,) = span["events"]
                assert event["name"] == "exception" and {a["key"] for a in event["attributes"]} == {
                    "exception.type", "exception.message"}
            else:
                assert "status" not in span and "events" not in span
                if status >= 400:
                    seen["4xx"] += 1
                    assert {"error.code", "error.type", "exception.message"} <= set(attributes(span))
    assert seen["5xx"] > 50 and seen["4xx"] > 50


def test_traces_are_opt_in_and_leave_the_events_as_they_were(tmp_path):
    plain = simulate(SMALL_START, hours=1, seed=3, requests_per_minute=20)
    with pytest.raises(ValueError, match="keep_workload"):
        write_traces(plain, tmp_path / "none")
    kept = simulate(SMALL_START, hours=1, seed=3, requests_per_minute=20, keep_workload=True)
    assert [e.to_json() for e in kept.events] == [e.to_json() for e in plain.events]
    assert [label.to_dict() for label in kept.labels] == [label.to_dict() for label in plain.labels]
    # The same seed writes the same spans.
    again = simulate(SMALL_START, hours=1, seed=3, requests_per_minute=20, keep_workload=True)
    first, second = write_traces(kept, tmp_path / "a"), write_traces(again, tmp_path / "b")
    assert [p.read_bytes() for p in first["paths"]] == [p.read_bytes() for p in second["paths"]]


@pytest.mark.subprocess
def test_logintel_simulate_writes_traces_that_logintel_ingest_reads(tmp_path):
    out = tmp_path / "sim"
    run = cli(tmp_path / "home", "simulate", "--out", str(out), "--start", "2025-06-03T08:00", "--hours", "1",
              "--rate", "20", "--scenarios", "", "--traces", str(out / "traces"))
    assert run.returncode == 0, run.stderr
    assert "traces:" in run.stdout and (out / "traces" / "traces-2025-06-03T08.json").exists()
    events = sum(1 for _ in (out / "events.jsonl").open())
    ingest = cli(tmp_path / "home", "ingest", str(out / "traces"))
    assert ingest.returncode == 0, ingest.stderr
    assert f"{events:,} accepted, 0 dead-lettered" in ingest.stdout
