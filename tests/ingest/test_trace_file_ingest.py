"""`logintel ingest` of OTLP/JSON trace files: told from log files by their content, one event per request,
bad spans dead-lettered where a later ingest can read them back."""
from __future__ import annotations

import json

from logintel.events import MAX_RECORD_BYTES, parse_json_line
from logintel.ingest.log_files import FileTally, ingest_paths, read_input, sniff_format
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing_files import FileLandingZone
from tests.support.trace_documents import SERVER, checkout_trace, document, span


def landed(landing: FileLandingZone) -> list:
    return [parse_json_line(text) for hour in landing.hours() for text in landing.read_hour(hour).lines]


def test_a_collector_style_trace_file_lands_one_event_per_request_and_bad_spans_as_dead_letters(tmp_path):
    path = tmp_path / "traces.json"
    bad = document(("orders", [span("b000000000000001", "GET /ok", SERVER, 0, 3),
                               span("b000000000000002", "GET /late", SERVER, 0, 3, trace="")]))
    path.write_text(json.dumps(checkout_trace()) + "\n" + json.dumps(bad) + "\n")
    landing, dead = FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dead")
    assert sniff_format(path) == "otlp"
    report = ingest_paths([path], landing, dead)
    assert report.per_file[str(path)]["format"] == "otlp (lines)"
    assert (report.accepted, report.dead_lettered, report.by_cause) == (2, 1, {"validation:trace_id": 1})
    events = {event.route: event for event in landed(landing)}
    assert events["/checkout"].attributes["db.query_count"] == 1 and events["/checkout"].attributes["self_ms"] == 20.0
    (letter,) = dead.records()
    assert letter["source"] == f"{path}:2" and letter["reason"].startswith("resourceSpans[0].scopeSpans[0].spans[1]")
    replay = tmp_path / "replay.json"  # the dead letter holds the one span: fix it and it reads back
    replay.write_text(letter["payload"].replace('"traceId":""', '"traceId":"5b8efff798038103d269b633813fc60d"'))
    (fixed,) = list(read_input(replay))
    assert fixed.route == "GET /late" and fixed.service == "orders"


def test_a_pretty_printed_trace_document_is_read_as_otlp(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(checkout_trace(), indent=2))
    tally = FileTally()
    (event,) = list(read_input(path, tally=tally))
    assert tally.format == "otlp (document)" and event.route == "/checkout"


def test_a_trace_document_on_one_line_may_be_longer_than_a_record(tmp_path):
    # A minute of a busy system is a few MiB on one line (the Train-Ticket data's are up to 4 MiB).
    spans = [span(f"c{i:015x}", f"GET /items/{i}", SERVER, i, i + 1, http__route="/items/{id}", padding="x" * 900)
             for i in range(1, 2600)]
    path = tmp_path / "minute.json"
    path.write_text(json.dumps(document(("catalog", spans))) + "\n")
    assert path.stat().st_size > MAX_RECORD_BYTES
    events = list(read_input(path, "otlp"))
    assert len(events) == 2599 and {event.route for event in events} == {"/items/{id}"}


def test_a_metrics_file_lands_its_points_on_carriers_counted_apart_from_events(tmp_path):
    from tests.adapters.test_otlp_metrics import T0, gauge, point
    from tests.adapters.test_otlp_metrics import document as metrics_document
    path = tmp_path / "metrics.json"  # a Collector's file exporter: one request a line, beside a trace request
    good = metrics_document(gauge("k8s.pod.cpu.usage", point(T0, 0.25), point(T0 + 10**9, "NaN")))
    bad = metrics_document(gauge("k8s.pod.cpu.usage", point(T0, 0.5), {"asDouble": 1.0}))
    path.write_text(json.dumps(good) + "\n" + json.dumps(checkout_trace()) + "\n" + json.dumps(bad) + "\n")
    landing, dead = FileLandingZone(tmp_path / "landing"), DeadLetterStore(tmp_path / "dead")
    assert sniff_format(path) == "otlp"
    report = ingest_paths([path], landing, dead)
    assert (report.accepted, report.metric_points, report.metric_points_empty) == (1, 2, 1)
    assert report.by_cause == {"validation:timestamp": 1}
    assert "2 metric data point(s) landed for the metric_points table, 1 with no recorded value" in report.summary()
    routes = sorted(event.route for event in landed(landing))
    assert routes == ["(metrics)", "(metrics)", "/checkout"]
    (letter,) = dead.records()
    assert letter["source"] == f"{path}:3" and "resourceMetrics" in json.loads(letter["payload"])
