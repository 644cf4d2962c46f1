"""benchmarks/trainticket_metrics.py on a tiny day: two pods' metric CSVs (one row with a NaN and an empty cell)
and a front_service.csv that must be left alone; the output parses as JSON and as the real OTLP protobuf."""
from __future__ import annotations

import json

from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from benchmarks.trainticket_metrics import COLUMNS, convert_metrics

HEADER = ("Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),MemoryUsageRate(%),SyscallRead,"
          "SyscallWrite,NetworkReceiveBytes,NetworkTransmitBytes,PodClientLatencyP90(s),PodServerLatencyP90(s),"
          "PodClientLatencyP95(s),PodServerLatencyP95(s),PodClientLatencyP99(s),PodServerLatencyP99(s),"
          "PodWorkload(Ops),PodSuccessRate(%),NodeCpuUsageRate(%),NodeMemoryUsageRate(%),NodeNetworkReceiveBytes")
T0 = 1674981669  # 2023-01-29 08:41:09 UTC
POD_A, POD_B = "ts-order-service-5f55b6cf68-77cfw", "ts-user-service-84cbf6c798-7njv6"


def row(ts: int, pod: str, cpu: str = "250", memory_rate: str = "16.5") -> str:
    values = [cpu, "5", "2", memory_rate] + ["1"] * 15
    return f"2023-01-29 08:41:09 +0000 UTC,{ts},{pod}," + ",".join(values)


def points(doc: dict, pod: str, name: str) -> list[dict]:
    for rm in doc["resourceMetrics"]:
        if {"key": "k8s.pod.name", "value": {"stringValue": pod}} in rm["resource"]["attributes"]:
            for m in rm["scopeMetrics"][0]["metrics"]:
                if m["name"] == name:
                    return m["gauge"]["dataPoints"]
    return []


def test_converts_pod_metrics_by_minute(tmp_path):
    metric = tmp_path / "day" / "metric"
    metric.mkdir(parents=True)
    (metric / f"{POD_A}_metric.csv").write_text("\n".join([HEADER, row(T0, POD_A), row(T0 + 60, POD_A)]) + "\n")
    (metric / f"{POD_B}_metric.csv").write_text(
        "\n".join([HEADER, row(T0, POD_B, cpu="NaN", memory_rate=""), "x,,no-time-pod"]) + "\n")
    (metric / "front_service.csv").write_text(
        "Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP50(s)\nx,1674981669,Frontend,0,0.09\n")

    counts = convert_metrics(tmp_path / "day", tmp_path / "out")

    assert sorted(p.name for p in (tmp_path / "out" / "metrics").iterdir()) == ["08_41.json", "08_42.json"]
    assert counts == {"files": 2, "pods": 2, "points": 3 * len(COLUMNS) - 2, "skipped": 2, "rows_without_time": 1}
    text = (tmp_path / "out" / "metrics" / "08_41.json").read_text()
    doc = json.loads(text)
    request = Parse(text, ExportMetricsServiceRequest())
    assert len(request.resource_metrics) == 2
    assert "NaN" not in text and "Frontend" not in text

    a = doc["resourceMetrics"][0]
    assert a["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "ts-order-service"}},
                                          {"key": "k8s.pod.name", "value": {"stringValue": POD_A}}]
    assert a["scopeMetrics"][0]["scope"] == {"name": "trainticket_metrics"}
    cpu = points(doc, POD_A, "k8s.pod.cpu.usage")
    assert cpu == [{"timeUnixNano": str(T0 * 10**9), "asDouble": 0.25}]
    assert points(doc, POD_A, "k8s.pod.memory.usage")[0]["asDouble"] == 2 * 1048576
    assert points(doc, POD_A, "k8s.pod.memory_limit_utilization")[0]["asDouble"] == 0.165
    latency = points(doc, POD_A, "trainticket.pod.server.latency")
    assert [p["attributes"] for p in latency] == [[{"key": "quantile", "value": {"doubleValue": q}}]
                                                  for q in (0.9, 0.95, 0.99)]
    assert request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0].as_double == 0.25

    # the NaN cpu and the empty memory rate of pod B are no points; its other columns are
    assert points(doc, POD_B, "k8s.pod.cpu.usage") == []
    assert points(doc, POD_B, "k8s.pod.memory_limit_utilization") == []
    assert points(doc, POD_B, "k8s.pod.memory.usage")[0]["asDouble"] == 2 * 1048576
    assert len(json.loads((tmp_path / "out" / "metrics" / "08_42.json").read_text())["resourceMetrics"]) == 1
