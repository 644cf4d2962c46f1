"""Benchmark: `logintel serve` under load — OTLP/protobuf logs (batches of 512 records), NDJSON (batches of
1,000 wide events) and OTLP/protobuf metrics (1,000 data points a request: 50 pods' 20 gauges, as a Collector's
scrape sends them) from a load generator in another process, into the files landing zone — against
`logintel ingest` of the same events from a file, in the same run.

    .venv/bin/python benchmarks/receiver.py [--records 204800] [--connections 1,4] [--workers 1,2]
                                            [--segments auto,parquet,jsonl] [--kinds otlp,ndjson,metrics]
                                            [--seal on,off]

The receiver runs as its own process (`logintel serve`, as a user starts it); the load generator is a
second process that pre-builds every request body, then sends them over keep-alive connections, each
waiting for its answer (a request is answered once its events are durable). Printed per format:
records/s end to end, p50/p99 request latency, and the ratio to `logintel ingest` (the whole CLI run,
start-up included, over the same events written as one JSONL file). --segments runs each configuration once per
landing layout (LOGINTEL_LANDING_SEGMENTS; auto lands the receiver's small flushes as JSON lines): columnar
segments cost the receiver a parse of what it lands. --seal runs each once with the receiver's sealer on (its default:
small flushes sealed into columnar segments beside the sends, `store.segment_sealing`) and once off; `segments` and
`sealed` then say what the landing zone holds at the end (a seal is due each 200,000 events of an hour).
Targets on this machine (reported, not asserted): OTLP >= 30,000 records/s, NDJSON >= 50,000 events/s,
p99 <= 50 ms per batch.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.landing import landed_lines  # noqa: E402
from tests.support.receiver import LOGINTEL, receiver_env, start_receiver  # noqa: E402


def _otlp_bodies(records: int, batch: int) -> list[bytes]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    def kv(key, **value):
        return KeyValue(key=key, value=AnyValue(**value))

    start = time.time_ns()
    bodies = []
    for b in range(0, records, batch):
        request = ExportLogsServiceRequest()
        resource = request.resource_logs.add()
        resource.resource.attributes.extend([kv("service.name", string_value="checkout"),
                                             kv("service.version", string_value="4.2.0"),
                                             kv("host.name", string_value="web-3")])
        scope = resource.scope_logs.add()
        scope.scope.name = "checkout.http"
        for i in range(b, min(b + batch, records)):
            error = i % 50 == 0
            scope.log_records.append(LogRecord(
                time_unix_nano=start + i * 1000, severity_number=17 if error else 9,
                body=AnyValue(string_value=f"POST /cart/pay {'failed' if error else 'ok'}"),
                trace_id=i.to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"),
                attributes=[kv("http.route", string_value="/cart/pay"), kv("http.request.method", string_value="POST"),
                            kv("http.response.status_code", int_value=503 if error else 200),
                            kv("duration_ms", double_value=12.5 + i % 100), kv("user.id", string_value=f"u-{i % 5000}"),
                            kv("region", string_value="eu-west-1")]))
        bodies.append(request.SerializeToString())
    return bodies


def _metric_bodies(points: int, batch: int = 1000) -> list[bytes]:
    """Requests of `batch` gauge points: 50 pods, 20 metrics each, one point a metric, a minute apart per request."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    start_ns = int(time.time() - 3600) * 10**9
    bodies = []
    for n in range(points // batch):
        t = str(start_ns + n * 60 * 10**9)
        resources = [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": f"svc-{pod % 10}"}},
            {"key": "k8s.pod.name", "value": {"stringValue": f"svc-{pod % 10}-pod-{pod}"}}]},
            "scopeMetrics": [{"metrics": [
                {"name": f"k8s.pod.metric_{m}", "unit": "1", "gauge": {"dataPoints": [
                    {"timeUnixNano": t, "asDouble": 0.001 * (pod + m + n)}]}} for m in range(batch // 50)]}]}
            for pod in range(50)]
        bodies.append(ParseDict({"resourceMetrics": resources}, ExportMetricsServiceRequest()).SerializeToString())
    return bodies


def _landed_points(landing: Path) -> int:
    from logintel.events import METRICS_KEY
    return sum(len(json.loads(line)["attributes"].get(METRICS_KEY) or []) for line in landed_lines(landing))


def _wide_events(records: int) -> list[dict]:
    from datetime import datetime, timedelta, timezone
    start = datetime.now(timezone.utc)
    return [{"event_id": f"bench-{i:09d}", "timestamp": (start + timedelta(microseconds=i)).isoformat(),
             "service": "checkout", "route": "/cart/pay", "method": "POST", "status": 503 if i % 50 == 0 else 200,
             "duration_ms": 12.5 + i % 100, "level": "error" if i % 50 == 0 else "info", "user_id": f"u-{i % 5000}",
             "trace_id": f"{i:032x}", "attributes": {"region": "eu-west-1", "cart.items": i % 7}}
            for i in range(records)]


def _ndjson_bodies(events: list[dict], batch: int) -> list[bytes]:
    return [b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events[i:i + batch])
            for i in range(0, len(events), batch)]


def _load(port: int, path: str, content_type: str, bodies: list[bytes], connections: int, out) -> None:
    """The load generator (its own process): every body once, over `connections` keep-alive connections."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.send({"wall_s": time.perf_counter() - started, "latencies": latencies, "statuses": statuses})


def _layout(landing: Path) -> tuple[int, int]:
    """The landing zone's segments, and the rows of its sealed ones."""
    import pyarrow.parquet as pq
    files = [p for p in (landing / "events").glob("hour=*/*") if not p.name.startswith(".")]
    return len(files), sum(pq.read_metadata(p).num_rows for p in files if p.name.endswith("-sealed.canonical.parquet"))


def run_receiver(kind: str, bodies: list[bytes], records: int, connections: int, workers: int = 1,
                 segments: str = "auto", seal: str = "on") -> dict:
    path, content_type = {"otlp": ("/v1/logs", "application/x-protobuf"),
                          "ndjson": ("/v1/events", "application/x-ndjson"),
                          "metrics": ("/v1/metrics", "application/x-protobuf")}[kind]
    with tempfile.TemporaryDirectory(prefix=f"bench-receiver-{kind}-") as tmp:
        proc, port = start_receiver(Path(tmp), "--workers", str(workers), stdout=subprocess.DEVNULL,
                                    env={"LOGINTEL_LANDING_SEGMENTS": segments,
                                         "LOGINTEL_EMIT_FILES_SEAL": "1" if seal == "on" else "0"})
        try:
            ctx = multiprocessing.get_context("spawn")
            mine, theirs = ctx.Pipe()
            loader = ctx.Process(target=_load, args=(port, path, content_type, bodies, connections, theirs))
            loader.start()
            result = mine.recv()
            loader.join()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
        landed = (_landed_points if kind == "metrics" else lambda zone: len(landed_lines(zone)))(Path(tmp) / "landing")
        files, sealed = _layout(Path(tmp) / "landing")
    lat = sorted(result["latencies"])
    return {"kind": kind, "records": records, "landed": landed, "wall_s": result["wall_s"],
            "rate": records / result["wall_s"], "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], "requests": len(lat),
            "non_200": sum(1 for s in result["statuses"] if s != 200), "files": files, "sealed": sealed,
            "account": "; ".join(line.split(": stopped; ")[1] for line in err.splitlines() if ": stopped; " in line)}


def run_ingest(events: list[dict]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        path = Path(tmp) / "events.jsonl"
        path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
        started = time.perf_counter()
        subprocess.run([LOGINTEL, "ingest", str(path)], env=receiver_env(Path(tmp) / "home"), check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    return {"kind": "logintel ingest (file)", "records": len(events), "wall_s": wall, "rate": len(events) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=204_800)
    parser.add_argument("--workers", default="1", help="receiver worker processes, one run per value (e.g. 1,2)")
    parser.add_argument("--segments", default="auto", help="landing layouts, one run each (auto,parquet,jsonl)")
    parser.add_argument("--seal", default="on", help="the receiver's sealer, one run each (on,off)")
    parser.add_argument("--kinds", default="otlp,ndjson,metrics", help="what is sent, one run each "
                        "(otlp: logs, ndjson: wide events, metrics: data points)")
    parser.add_argument("--connections", default="1,4",
                        help="concurrent keep-alive connections, one run per value (1: latency is the service "
                             "time of a batch; more: throughput at saturation, latency includes queueing)")
    args = parser.parse_args()
    print(f"building {args.records:,} records as OTLP protobuf (512 a request), NDJSON (1,000 a request) and OTLP metric "
          f"points (1,000 a request)…",
          file=sys.stderr)
    otlp = _otlp_bodies(args.records, 512)
    events = _wide_events(args.records)
    ndjson = _ndjson_bodies(events, 1000)
    metrics = _metric_bodies(args.records)
    kinds = [(kind, bodies) for kind, bodies in (("otlp", otlp), ("ndjson", ndjson), ("metrics", metrics))
             if kind in args.kinds.split(",")]
    rows = []
    for workers in [int(w) for w in str(args.workers).split(",")]:
        for connections in [int(c) for c in str(args.connections).split(",")]:
            for segments in args.segments.split(","):
                for seal in args.seal.split(","):
                    for kind, bodies in kinds:
                        print(f"sending {kind} over {connections} connection(s) to {workers} worker(s), landing "
                              f"{segments}, sealing {seal}…", file=sys.stderr)
                        sent = args.records if kind != "metrics" else len(bodies) * 1000
                        rows.append({**run_receiver(kind, bodies, sent, connections, workers, segments, seal),
                                     "connections": connections, "workers": workers, "segments": segments,
                                     "seal": seal})
    print("running logintel ingest on the same events from a file…", file=sys.stderr)
    baseline = run_ingest(events)

    print(f"\n{'path':<22}{'landing':>8}{'seal':>5}{'workers':>8}{'conns':>6}{'records':>10}{'landed':>10}{'seconds':>9}{'records/s':>11}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'non-200':>9}{'x ingest':>9}{'segments':>9}{'sealed':>10}")
    for row in rows:
        print(f"{('serve ' + row['kind']):<22}{row['segments']:>8}{row['seal']:>5}{row['workers']:>8}{row['connections']:>6}{row['records']:>10,}{row['landed']:>10,}{row['wall_s']:>9.2f}"
              f"{row['rate']:>11,.0f}{row['p50_ms']:>8.1f}{row['p99_ms']:>8.1f}{row['non_200']:>9}"
              f"{row['rate'] / baseline['rate']:>9.2f}{row['files']:>9,}{row['sealed']:>10,}")
    print(f"{baseline['kind']:<49}{baseline['records']:>10,}{'':>10}{baseline['wall_s']:>9.2f}{baseline['rate']:>11,.0f}")
    print("\ntargets: OTLP >= 30,000/s, NDJSON >= 50,000/s, p99 <= 50 ms per batch")
    for row in rows:
        print(f"  {row['kind']} {row['segments']} seal {row['seal']} {row['workers']}w x{row['connections']}: "
              f"{row['account']}")


if __name__ == "__main__":
    main()
