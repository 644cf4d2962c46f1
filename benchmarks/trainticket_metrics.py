#!/usr/bin/env python3
"""Turn one day of the Train-Ticket fault data's per-pod metrics (Nezha, FSE'23: metric/<pod>_metric.csv, one
row per pod per minute) into OpenTelemetry OTLP/JSON metric files, the way a Collector's file exporter would hold them.

    trainticket_metrics.py DAY_DIR OUT_DIR

OUT_DIR gets metrics/HH_MM.json (HH_MM = the UTC minute of the row's TimeStamp, Unix seconds), each one
ExportMetricsServiceRequest: one resourceMetrics per pod (service.name = the pod name without its two hash parts,
k8s.pod.name = the pod), scope "trainticket_metrics", every metric a gauge whose points are
{"timeUnixNano": TimeStamp in ns, "asDouble": value}. A NaN or empty value is no data point (counted as skipped).
metric/front_service.csv (the frontend's success rate and latency, one row per minute, no pod) is not converted.

Mapping (column -> metric, unit, value, point attributes):

    CpuUsage(m)                 k8s.pod.cpu.usage                 {cpu}          m / 1000 (cores)
    MemoryUsage(Mi)             k8s.pod.memory.usage              By             Mi * 1048576
    CpuUsageRate(%)             k8s.pod.cpu_limit_utilization     1              % / 100
    MemoryUsageRate(%)          k8s.pod.memory_limit_utilization  1              % / 100
    NetworkReceiveBytes         k8s.pod.network.io.rate           By/s           network.io.direction=receive
    NetworkTransmitBytes        k8s.pod.network.io.rate           By/s           network.io.direction=transmit
    SyscallRead / SyscallWrite  trainticket.pod.syscalls.rate     {syscall}/s    direction=read / write
    PodServerLatencyP90/95/99   trainticket.pod.server.latency    s              quantile=0.9 / 0.95 / 0.99
    PodClientLatencyP90/95/99   trainticket.pod.client.latency    s              quantile=0.9 / 0.95 / 0.99
    PodWorkload(Ops)            trainticket.pod.workload          {operation}/s
    PodSuccessRate(%)           trainticket.pod.success_rate      1              % / 100
    NodeCpuUsageRate(%)         k8s.node.cpu.utilization          1              % / 100
    NodeMemoryUsageRate(%)      k8s.node.memory.utilization       1              % / 100
    NodeNetworkReceiveBytes     k8s.node.network.io.rate          By/s           network.io.direction=receive

- The dataset does not say what CpuUsageRate / MemoryUsageRate are relative to: the pod's limit is assumed.
- The network columns are per-minute rates, hence gauges in By/s, not semconv's cumulative k8s.*.network.io sums.
- The node has no name in the data: the Node* columns sit on the pod's resource (what the pod's node showed).
- Each metric's description is the CSV column(s) it comes from.
"""
import argparse
import csv
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path

SCOPE = "trainticket_metrics"
DIR, NETDIR = "direction", "network.io.direction"
# column, metric name, unit, divisor (value = cell / divisor; 1/1048576 is exact), point attributes
COLUMNS = [
    ("CpuUsage(m)", "k8s.pod.cpu.usage", "{cpu}", 1000, {}),
    ("CpuUsageRate(%)", "k8s.pod.cpu_limit_utilization", "1", 100, {}),
    ("MemoryUsage(Mi)", "k8s.pod.memory.usage", "By", 1 / 1048576, {}),
    ("MemoryUsageRate(%)", "k8s.pod.memory_limit_utilization", "1", 100, {}),
    ("SyscallRead", "trainticket.pod.syscalls.rate", "{syscall}/s", 1, {DIR: "read"}),
    ("SyscallWrite", "trainticket.pod.syscalls.rate", "{syscall}/s", 1, {DIR: "write"}),
    ("NetworkReceiveBytes", "k8s.pod.network.io.rate", "By/s", 1, {NETDIR: "receive"}),
    ("NetworkTransmitBytes", "k8s.pod.network.io.rate", "By/s", 1, {NETDIR: "transmit"}),
] + [
    (f"Pod{side}LatencyP{q}(s)", f"trainticket.pod.{side.lower()}.latency", "s", 1, {"quantile": int(q) / 100})
    for side in ("Client", "Server") for q in ("90", "95", "99")
] + [
    ("PodWorkload(Ops)", "trainticket.pod.workload", "{operation}/s", 1, {}),
    ("PodSuccessRate(%)", "trainticket.pod.success_rate", "1", 100, {}),
    ("NodeCpuUsageRate(%)", "k8s.node.cpu.utilization", "1", 100, {}),
    ("NodeMemoryUsageRate(%)", "k8s.node.memory.utilization", "1", 100, {}),
    ("NodeNetworkReceiveBytes", "k8s.node.network.io.rate", "By/s", 1, {NETDIR: "receive"}),
]
DESCRIPTION = {}
for _col, _name, *_ in COLUMNS:
    DESCRIPTION[_name] = f"{DESCRIPTION[_name]}, {_col}" if _name in DESCRIPTION else _col


def service_of(pod: str) -> str:
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def attr(key, value):
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def number(text):
    """The cell as a finite float, or None (empty, NaN, inf, not a number)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pod_metrics(rows: list[tuple[int, dict]], counts: dict) -> list[dict]:
    """One pod's rows of a minute -> its metrics (no point for a NaN or empty cell)."""
    metrics: dict[str, dict] = {}
    for seconds, r in rows:
        for col, name, unit, divisor, attrs in COLUMNS:
            v = number(r.get(col))
            if v is None:
                counts["skipped"] += 1
                continue
            point = {"timeUnixNano": str(seconds * 1_000_000_000), "asDouble": v / divisor}
            if attrs:
                point["attributes"] = [attr(k, a) for k, a in attrs.items()]
            metric = metrics.setdefault(name, {"name": name, "unit": unit, "description": DESCRIPTION[name],
                                               "gauge": {"dataPoints": []}})
            metric["gauge"]["dataPoints"].append(point)
            counts["points"] += 1
    return list(metrics.values())


def convert_metrics(day_dir: Path, out_dir: Path) -> dict:
    """Write OUT_DIR/metrics/HH_MM.json for DAY_DIR/metric/*_metric.csv; returns the counts."""
    minutes: dict[str, dict[str, list]] = {}  # minute -> pod -> [(seconds, row)]
    unplaced = 0
    for path in sorted(Path(day_dir, "metric").glob("*_metric.csv")):
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                pod = r.get("PodName") or path.name.removesuffix("_metric.csv")
                stamp = number(r.get("TimeStamp"))
                if stamp is None:  # a row without its time says nothing placeable: counted, not converted
                    unplaced += 1
                    continue
                seconds = int(stamp)
                minute = datetime.fromtimestamp(seconds, timezone.utc).strftime("%H_%M")
                minutes.setdefault(minute, {}).setdefault(pod, []).append((seconds, r))
    counts = {"files": len(minutes), "pods": len({pod for by_pod in minutes.values() for pod in by_pod}),
              "points": 0, "skipped": 0, "rows_without_time": unplaced}
    (Path(out_dir) / "metrics").mkdir(parents=True, exist_ok=True)
    for minute, by_pod in sorted(minutes.items()):
        resources = []
        for pod, rows in sorted(by_pod.items()):
            metrics = pod_metrics(rows, counts)
            if metrics:
                resources.append({
                    "resource": {"attributes": [attr("service.name", service_of(pod)), attr("k8s.pod.name", pod)]},
                    "scopeMetrics": [{"scope": {"name": SCOPE}, "metrics": metrics}]})
        (Path(out_dir) / "metrics" / f"{minute}.json").write_text(json.dumps({"resourceMetrics": resources}))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("day_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    a = ap.parse_args()
    start = time.perf_counter()
    c = convert_metrics(a.day_dir, a.out_dir)
    print(f"{c['files']} metric files, {c['pods']} pods, {c['points']} points, {c['skipped']} skipped as NaN/empty"
          f" -> {a.out_dir / 'metrics'} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
