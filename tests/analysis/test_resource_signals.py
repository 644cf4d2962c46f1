"""`investigate` with the services' metrics: a CPU hog at a service too quiet for its requests to show it is ranked
first with its evidence; what only follows the traffic, an idle pod's few millicores, and a node's metrics are no
change; a cumulative counter is read as its rate; a warehouse without metrics investigates as before."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from logintel.adapters.otlp_metrics import parse_metrics_document
from logintel.analysis.investigation import investigate
from logintel.store.landing import HourBatch
from logintel.store.warehouse import connect, load_hour

HOUR = datetime(2025, 6, 1, 10, tzinfo=timezone.utc)
WINDOW = (HOUR + timedelta(minutes=40), HOUR + timedelta(minutes=43))
MINUTES = range(5, 43)  # 30 minutes of baseline before the window, then the window's 3


def _ns(minute: int, second: int = 10) -> int:
    return int((HOUR + timedelta(minutes=minute, seconds=second)).timestamp() * 10**9)


def _requests(service: str, route: str, per_minute, ms: float = 20.0) -> list[str]:
    lines = []
    for minute in MINUTES:
        for n in range(per_minute(minute)):
            ts = HOUR + timedelta(minutes=minute, seconds=n * 50 / max(per_minute(minute), 1))
            lines.append(orjson.dumps({"event_id": f"{service}-{minute}-{n}", "timestamp": ts.isoformat(),
                                       "service": service, "route": route, "duration_ms": ms * (1 + 0.1 * (n % 3)),
                                       "level": "info"}).decode())
    return lines


def _metric(service: str, name: str, value, kind: str = "gauge", unit: str = "{cpu}") -> dict:
    """One point a minute of `name` at `service`'s pod, value(minute)."""
    points = [{"timeUnixNano": str(_ns(m)), "asDouble": value(m)} for m in MINUTES]
    data = {"dataPoints": points}
    if kind == "sum":
        data.update(aggregationTemporality=2, isMonotonic=True)
    return {"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": service}},
        {"key": "k8s.pod.name", "value": {"stringValue": f"{service}-pod"}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "unit": unit, kind: data}]}]}]}


def _warehouse(path, requests: list[str], metrics: list[dict]):
    con = connect(path)
    lines = requests + [e.to_json() for doc in metrics for e in parse_metrics_document(doc).events]
    load_hour(con, HourBatch(hour=HOUR, lines=lines, sources=["test"] * len(lines)))
    return con


def _jitter(minute: int) -> float:
    return 1 + 0.08 * ((minute * 7) % 5 - 2) / 2  # ±8%, the same every run


def _in_window(minute: int) -> bool:
    return minute >= 40


@pytest.fixture
def busy_and_quiet():
    """frontend: 60 requests a minute; codes: a request a minute or two (4 in the window)."""
    return (_requests("frontend", "/login", lambda m: 60)
            + _requests("codes", "/verify", lambda m: 1 + (m % 3 == 0)))


def test_a_cpu_hog_at_a_quiet_service_is_ranked_first_with_its_evidence(tmp_path, busy_and_quiet):
    con = _warehouse(tmp_path / "w.duckdb", busy_and_quiet, [
        _metric("codes", "k8s.pod.cpu.usage", lambda m: (0.45 if _in_window(m) else 0.002) * _jitter(m)),
        _metric("frontend", "k8s.pod.cpu.usage", lambda m: 0.3 * _jitter(m))])
    try:
        result = investigate(con, *WINDOW)
    finally:
        con.close()
    first = result.candidates[0]
    assert (first["service"], first["kind"], first["attribute"], first["changed"]) == (
        "codes", "resource", "k8s.pod.cpu.usage", True)
    evidence = first["evidence"]
    assert evidence["points_window"] == 3 and evidence["points_baseline"] == 30
    assert evidence["times_baseline"] > 100 and evidence["traffic_rise"] == 1.0
    assert "k8s.pod.cpu.usage averaged" in result.text and "codes" in result.text
    assert {c["service"] for c in result.candidates if c["kind"] == "resource" and c["changed"]} == {"codes"}


def test_cpu_that_only_follows_the_traffic_is_no_change(tmp_path):
    requests = _requests("frontend", "/login", lambda m: 120 if _in_window(m) else 40)
    con = _warehouse(tmp_path / "w.duckdb", requests, [
        _metric("frontend", "k8s.pod.cpu.usage", lambda m: (0.9 if _in_window(m) else 0.3) * _jitter(m))])
    try:
        candidates = investigate(con, *WINDOW).candidates
    finally:
        con.close()
    resource = [c for c in candidates if c["kind"] == "resource"]
    assert all(not c["changed"] for c in resource)
    # the same rise with the traffic flat is a change
    flat = _requests("frontend", "/login", lambda m: 40)
    con = _warehouse(tmp_path / "flat.duckdb", flat, [
        _metric("frontend", "k8s.pod.cpu.usage", lambda m: (0.9 if _in_window(m) else 0.3) * _jitter(m))])
    try:
        first = investigate(con, *WINDOW).candidates[0]
    finally:
        con.close()
    assert (first["service"], first["kind"], first["changed"]) == ("frontend", "resource", True)


def test_an_idle_pods_few_millicores_and_its_nodes_metrics_are_no_change(tmp_path, busy_and_quiet):
    con = _warehouse(tmp_path / "w.duckdb", busy_and_quiet, [
        _metric("codes", "k8s.pod.cpu.usage", lambda m: (0.006 if _in_window(m) else 0.002) * _jitter(m)),
        _metric("frontend", "k8s.node.cpu.utilization", lambda m: (0.9 if _in_window(m) else 0.1) * _jitter(m),
                unit="1"),
        _metric("frontend", "trainticket.pod.workload", lambda m: (90 if _in_window(m) else 3) * _jitter(m),
                unit="{operation}/s")])
    try:
        candidates = investigate(con, *WINDOW).candidates
    finally:
        con.close()
    assert [c for c in candidates if c["kind"] == "resource" and c["changed"]] == []
    assert not any(c["attribute"] in ("k8s.node.cpu.utilization", "trainticket.pod.workload") for c in candidates)


def test_a_cumulative_cpu_counter_is_read_as_its_rate(tmp_path, busy_and_quiet):
    # process.cpu.time in seconds: 0.01 s a second, then 0.5 s a second in the window's minutes
    def seconds(minute: int) -> float:
        return sum(0.5 * 60 if _in_window(m) else 0.01 * 60 for m in range(5, minute + 1))

    con = _warehouse(tmp_path / "w.duckdb", busy_and_quiet,
                     [_metric("codes", "process.cpu.time", seconds, kind="sum", unit="s")])
    try:
        first = investigate(con, *WINDOW).candidates[0]
    finally:
        con.close()
    assert (first["service"], first["kind"], first["attribute"]) == ("codes", "resource", "process.cpu.time")
    assert first["evidence"]["mean_window"] == pytest.approx(0.5, rel=0.01)
    assert first["evidence"]["mean_baseline"] == pytest.approx(0.01, rel=0.01)


def test_a_warehouse_without_the_metrics_table_investigates_as_before(tmp_path, busy_and_quiet):
    con = _warehouse(tmp_path / "w.duckdb", busy_and_quiet, [])
    con.execute("DROP TABLE metric_points")
    try:
        result = investigate(con, *WINDOW)
    finally:
        con.close()
    assert result.requests > 0 and all(c["kind"] != "resource" for c in result.candidates)
