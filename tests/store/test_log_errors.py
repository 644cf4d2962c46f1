"""A request whose span said nothing but whose logs reported an error is a failed request (store.log_errors)."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from logintel.adapters.otel import parse_otlp_document
from logintel.adapters.otlp_spans import parse_trace_document
from logintel.analysis.windows import compute_windows
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.support.trace_documents import CLIENT, INTERNAL, SERVER, START_NS, document, span

HOUR = datetime.fromtimestamp(START_NS / 1e9, tz=timezone.utc).replace(minute=0, second=0, microsecond=0)


def _trace(n: int, failed: bool = False) -> dict:
    """A GET /orders of `orders`: its server span, a controller span under it, a query under that."""
    trace, ids = f"{n:032x}", [f"{n:010x}{k:06x}" for k in range(3)]
    error = {"error": "span said so"} if failed else {}
    return document(("orders", [
        span(ids[0], "GET /orders", SERVER, n * 100, n * 100 + 50, trace=trace, http__route="/orders",
             http__request__method="GET", http__response__status_code=200, **error),
        span(ids[1], "OrderController.list", INTERNAL, n * 100 + 1, n * 100 + 49, ids[0], trace=trace),
        span(ids[2], "SELECT orders", CLIENT, n * 100 + 5, n * 100 + 9, ids[1], trace=trace, db__system="mysql"),
    ]))


def _line(n: int, span_index: int, severity: str, body: str, at_ms: int = 20, **attrs) -> dict:
    trace, span_id = f"{n:032x}", f"{n:010x}{span_index:06x}"
    record = {"timeUnixNano": str(START_NS + (n * 100 + at_ms) * 1_000_000), "severityText": severity,
              "body": {"stringValue": body}, "traceId": trace, "spanId": span_id,
              "attributes": [{"key": k.replace("__", "."), "value": {"stringValue": v}} for k, v in attrs.items()]}
    return record


def _logs(*records) -> list[str]:
    doc = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orders"}}]},
                             "scopeLogs": [{"logRecords": list(records)}]}]}
    return [e.to_json() for e in parse_otlp_document(doc)]


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def _load(con, traces, lines):
    events = [e.to_json() for doc in traces for e in parse_trace_document(doc).events] + lines
    return load_hour(con, HourBatch(hour=HOUR, lines=events, sources=["t"] * len(events)))


def _request(con, n):
    row = con.execute("""SELECT level, error_message, error_type, attributes FROM raw_events
                         WHERE event_id = ?""", [f"span-{n:032x}-{n:010x}{0:06x}"]).fetchone()
    return row[0], row[1], row[2], orjson.loads(row[3])


def test_an_error_line_in_a_child_span_fails_its_request_and_says_so(con):
    lines = _logs(_line(1, 1, "ERROR", "order 17 not found: NullPointerException", exception__type="NullPointerException"),
                  _line(1, 1, "ERROR", "a second error line, later", at_ms=30),
                  _line(2, 0, "INFO", "listed 3 orders"),
                  _line(3, 0, "ERROR", "the span's own error stays"),
                  _line(4, 2, "WARN", "slow query"))
    report = _load(con, [_trace(1), _trace(2), _trace(3, failed=True), _trace(4)], lines)
    assert report.failed_by_logs == 1
    level, message, error_type, attributes = _request(con, 1)
    assert (level, message, attributes["error.source"]) == ("error", "order 17 not found: NullPointerException", "log")
    assert error_type in (None, "NullPointerException")
    assert _request(con, 2)[0] == "info" and "error.source" not in _request(con, 2)[3]
    level, message, _, attributes = _request(con, 3)
    assert (level, message) == ("error", "span said so") and "error.source" not in attributes
    assert _request(con, 4)[0] == "info"  # a warning fails nothing
    # the lines stay lines: five of them, none a request
    assert con.execute("SELECT count(*) FROM raw_events WHERE route = '(log)'").fetchone()[0] == 5


def test_the_windows_count_the_request_as_an_error_of_its_route(con):
    _load(con, [_trace(n) for n in range(1, 11)], _logs(*[_line(n, 1, "ERROR", "boom") for n in (2, 5, 7)]))
    compute_windows(con, HOUR)
    errors = con.execute("""SELECT max(errors) FROM windowed_aggregates
                            WHERE service = 'orders' AND route = '/orders'""").fetchone()[0]
    assert errors == 3


def test_a_reload_joins_the_same_lines_again_and_marks_nothing_twice(con):
    traces, lines = [_trace(1), _trace(2)], _logs(_line(1, 0, "ERROR", "boom"))
    _load(con, traces, lines)
    again = _load(con, traces, lines)
    assert again.failed_by_logs == 1 and again.duplicates == 0
    assert con.execute("SELECT count(*) FROM raw_events WHERE level = 'error' AND route <> '(log)'").fetchone()[0] == 1
