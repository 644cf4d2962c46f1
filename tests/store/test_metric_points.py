"""The metric_points table: the data points of OTLP metrics, moved off their carriers in the hour's load (no event
stored, every line accounted for), a resend adding nothing, a forged carrier failing nothing."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from logintel.adapters.otlp_metrics import parse_metrics_document
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour
from tests.adapters.test_otlp_metrics import T0, document, gauge, point

HOUR = datetime.fromtimestamp(T0 / 1e9, tz=timezone.utc).replace(minute=0, second=0, microsecond=0)
REQUEST = {"event_id": "r1", "timestamp": datetime.fromtimestamp(T0 / 1e9, tz=timezone.utc).isoformat(),
           "service": "payments", "route": "/pay", "duration_ms": 12.0, "level": "info"}


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def _load(con, *docs, extra_lines=()):
    lines = [e.to_json() for doc in docs for e in parse_metrics_document(doc).events] + list(extra_lines)
    return load_hour(con, HourBatch(hour=HOUR, lines=lines, sources=["test"] * len(lines)))


def _doc():
    return document(gauge("k8s.pod.cpu.usage", point(T0, 0.25), point(T0 + 60 * 10**9, 0.5)),
                    {"name": "process.cpu.time", "unit": "s", "sum": {
                        "aggregationTemporality": 2, "isMonotonic": True,
                        "dataPoints": [{"startTimeUnixNano": str(T0 - 10**9), "timeUnixNano": str(T0), "asInt": "42",
                                        "attributes": [{"key": "state", "value": {"stringValue": "user"}}]}]}})


def test_points_become_rows_and_their_carrier_no_event(con):
    report = _load(con, _doc(), extra_lines=[orjson.dumps(REQUEST).decode()])
    assert (report.loaded, report.metric_points, report.metric_carriers, report.duplicates) == (1, 3, 1, 0)
    assert report.accounted()
    assert con.execute("SELECT event_id FROM raw_events").fetchall() == [("r1",)]
    rows = con.execute("""SELECT ts, start_ts, service, instance, name, unit, kind, temporality, monotonic, value,
                                 attributes FROM metric_points ORDER BY name, ts""").fetchall()
    start = datetime.fromtimestamp(T0 / 1e9, tz=timezone.utc).replace(tzinfo=None)
    assert rows == [
        (start, None, "payments", "payments-7d9-x1", "k8s.pod.cpu.usage", "{cpu}", "gauge", None, None, 0.25, "{}"),
        (start.replace(minute=start.minute + 1), None, "payments", "payments-7d9-x1", "k8s.pod.cpu.usage", "{cpu}",
         "gauge", None, None, 0.5, "{}"),
        (start, start.replace(second=start.second - 1), "payments", "payments-7d9-x1", "process.cpu.time", "s", "sum",
         "cumulative", True, 42.0, '{"state":"user"}'),
    ]
    assert con.execute("SELECT DISTINCT partition_hour FROM metric_points").fetchall() == [(HOUR.replace(tzinfo=None),)]


def test_a_reload_or_a_resent_batch_adds_no_point(con):
    _load(con, _doc())
    report = _load(con, _doc(), _doc())
    assert (report.metric_points, report.metric_carriers, report.duplicates) == (3, 1, 1) and report.accounted()
    assert con.execute("SELECT count(*) FROM metric_points").fetchone()[0] == 3


def test_a_hand_written_event_claiming_the_key_neither_fails_nor_adds_points(con):
    ts = REQUEST["timestamp"]
    forged = [{**REQUEST, "event_id": "metrics-a", "route": "(metrics)", "attributes": {"otel.metrics": [1, "x"]}},
              {**REQUEST, "event_id": "metrics-b", "route": "(metrics)", "attributes": {"otel.metrics": "no list"}},
              {**REQUEST, "event_id": "metrics-c", "route": "(metrics)",
               "attributes": {"otel.metrics": [{"n": None, "t": 5, "k": "gauge"}, {"n": "m", "t": 0, "k": "gauge"}]}},
              {**REQUEST, "event_id": "metrics-d", "route": "/pay", "timestamp": ts,
               "attributes": {"otel.metrics": [{"n": "m", "t": T0, "k": "gauge", "v": 1.0}]}}]
    report = _load(con, extra_lines=[orjson.dumps(line).decode() for line in forged])
    assert report.accounted() and report.dead_lettered == 0
    assert con.execute("SELECT count(*) FROM metric_points").fetchone()[0] == 0
    # an event on a request's route is an event, whatever it carries
    assert con.execute("SELECT event_id FROM raw_events").fetchall() == [("metrics-d",)]
