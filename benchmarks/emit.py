"""Benchmark: the cost of Emitter.emit() on the calling thread against logging's QueueHandler, and
sustained throughput through the emitter to files, the dump, PostgreSQL and Kafka (mock cluster), and the
Kafka sink's drain rate from that topic into a file landing zone.

    .venv/bin/python benchmarks/emit.py [--emits 200000] [--events 200000]

PostgreSQL: $LOGINTEL_POSTGRES_URL, else a throwaway cluster (tests/postgres_cluster.py), else skipped.
Targets (reported, not asserted): p99 emit <= 20 us and <= QueueHandler's; files >= 100k/s; PostgreSQL >= 50k/s.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import os
import queue
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logintel.events import WideEvent  # noqa: E402
from logintel.ingest import Emitter, EmitterConfig  # noqa: E402

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def make_events(n: int) -> list[WideEvent]:
    """Built before timing: constructing the event is the service's work, not the emitter's."""
    return [WideEvent(event_id=f"bench-{i:09d}", timestamp=NOW, service="checkout", route="/cart/pay",
                      method="POST", status=200 if i % 50 else 503, duration_ms=12.5 + i % 100,
                      level="info" if i % 50 else "error", user_id=f"u-{i % 5000}", trace_id=f"{i:032x}",
                      attributes={"region": "eu-west-1", "cart.items": i % 7})
            for i in range(n)]


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # noqa: E731  (us)
    return {"p50": pick(0.50), "p99": pick(0.99), "p99.9": pick(0.999), "max": ordered[-1] / 1000}


def time_calls(call, items) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    append = samples.append
    for item in items:
        start = clock()
        call(item)
        append(clock() - start)
    return samples


def config(tmp: Path, transports: list, **extra) -> EmitterConfig:
    return EmitterConfig.from_dict({"transports": transports, "dump_dir": str(tmp / "dumps"),
                                    "dead_letter_dir": str(tmp / "dl"), **extra})


def emit_latency(events: list, tmp: Path) -> dict[str, float]:
    """`events`: WideEvents, or dicts in the contract's shape (then emit() validates them too)."""
    files = [{"kind": "files", "dir": str(tmp / "landing")}]
    with Emitter(config(tmp, files, buffer_max_events=len(events) + 1)) as emitter:
        samples = time_calls(emitter.emit, events)
        emitter.flush(120)
    return percentiles(samples)


def queue_handler_latency(events: list[WideEvent]) -> dict[str, float]:
    """The stdlib baseline: QueueHandler formats the record on the caller, a listener drains it."""
    channel: queue.SimpleQueue = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(channel, logging.NullHandler())
    logger = logging.getLogger("bench.queue")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.handlers.QueueHandler(channel))
    listener.start()
    try:
        records = [e.to_record() for e in events]  # the same payload, as a dict argument
        samples = time_calls(lambda record: logger.info("request %s", record), records)
    finally:
        listener.stop()
    return percentiles(samples)


def throughput(name: str, transports: list, events: list[WideEvent], tmp: Path) -> tuple[float, str]:
    """Events/s from the first emit until every event is settled, and where they went."""
    cfg = config(tmp, transports, buffer_max_events=len(events) + 1, buffer_max_bytes=1 << 31,
                 batch_size=2000, flush_interval_s=0.05)
    with Emitter(cfg) as emitter:
        start = time.perf_counter()
        for e in events:
            emitter.emit(e)
        settled = emitter.flush(300)
        elapsed = time.perf_counter() - start
        stats = emitter.stats()
    where = ", ".join(f"{k}={v}" for k, v in stats["delivered"].items())
    if stats["dumped"]:
        where += f"{', ' if where else ''}dump={stats['dumped']}"
    if not settled or not stats["balanced"]:
        where += " (NOT SETTLED)"
    return len(events) / elapsed, where


def sink_rate(transports: list, events: list[WideEvent], tmp: Path) -> float:
    """Events/s one transport (or the dump) absorbs from pre-serialized batches: the flusher's ceiling,
    apart from the calling thread's cost of emitting."""
    from logintel.ingest.buffer import Item
    from logintel.ingest.emitter import build_transports
    from logintel.ingest.transports.disk import DumpWriter
    items = [Item.of(e) for e in events]
    cfg = config(tmp, transports)
    sinks = build_transports(cfg)
    send = sinks[0].send if sinks else DumpWriter(cfg.dump_dir, cfg.fsync, cfg.disk_limit_bytes).write
    start = time.perf_counter()
    for i in range(0, len(items), 2000):
        send(items[i:i + 2000])
    elapsed = time.perf_counter() - start
    for sink in sinks:
        sink.close()
    return len(items) / elapsed


@contextlib.contextmanager
def postgres_url():
    if os.environ.get("LOGINTEL_POSTGRES_URL"):
        yield os.environ["LOGINTEL_POSTGRES_URL"], "LOGINTEL_POSTGRES_URL"
        return
    try:
        from tests.support.postgres_cluster import start_cluster
        cluster = start_cluster()
    except Exception as exc:  # no server binaries here: say so instead of failing the benchmark
        yield None, f"skipped: {exc}"
        return
    try:
        yield cluster.create_database("logintel_bench"), "throwaway cluster"
    finally:
        cluster.destroy()


@contextlib.contextmanager
def kafka_mock():
    try:
        from confluent_kafka import Producer
    except ImportError:
        yield None
        return
    owner = Producer({"bootstrap.servers": "", "test.mock.num.brokers": 1, "log_level": 3})
    broker = next(iter(owner.list_topics(timeout=10).brokers.values()))
    yield f"{broker.host}:{broker.port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emits", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="logintel-bench-") as scratch:
        tmp = Path(scratch)
        events = make_events(max(args.emits, args.events))
        print(f"emit() on the calling thread, {args.emits:,} calls (microseconds)")
        rows = [("Emitter.emit", emit_latency(events[:args.emits], tmp / "emit")),
                ("logging QueueHandler", queue_handler_latency(events[:args.emits])),
                ("Emitter.emit(dict)", emit_latency([e.to_record() for e in events[:args.emits]], tmp / "emit-dict"))]
        print(f"  {'':22}{'p50':>9}{'p99':>9}{'p99.9':>9}{'max':>10}")
        for name, p in rows:
            print(f"  {name:22}{p['p50']:9.2f}{p['p99']:9.2f}{p['p99.9']:9.2f}{p['max']:10.1f}")
        ours, theirs = rows[0][1]["p99"], rows[1][1]["p99"]
        print(f"  target p99 <= 20 us and <= QueueHandler: {'met' if ours <= 20 and ours <= theirs else 'MISSED'}"
              "  (emit(dict) also validates the dict into a WideEvent: the contract's cost, shown for reference)")

        batch = events[:args.events]
        print(f"\nsustained throughput, {len(batch):,} events (events/s): emitted then flushed through "
              "the emitter, and the sink alone fed pre-serialized batches of 2,000")
        sinks = [("files", [{"kind": "files", "dir": str(tmp / "landing")}], 100_000),
                 ("dump (no transport)", [], None)]
        with postgres_url() as (url, how), kafka_mock() as brokers:
            if url:
                sinks.append((f"postgres ({how})", [{"kind": "postgres", "url": url}], 50_000))
            else:
                print(f"  postgres: {how}")
            if brokers:
                sinks.append(("kafka (mock cluster)", [{"kind": "kafka", "bootstrap_servers": brokers,
                                                        "topic": "bench", "linger.ms": 5}], None))
            else:
                print("  kafka: skipped (confluent-kafka not installed)")
            print(f"  {'':28}{'emit+flush':>12}  {'sink only':>12}")
            for i, (name, transports, target) in enumerate(sinks):
                rate, where = throughput(name, transports, batch, tmp / f"sink{i}")
                alone = sink_rate(transports, batch, tmp / f"alone{i}")
                verdict = "" if target is None else ("  target met" if rate >= target else
                                                     f"  target {target:,}/s: {'met' if alone >= target else 'MISSED'} by the sink alone")
                print(f"  {name:28}{rate:12,.0f}  {alone:12,.0f}  [{where}]{verdict}")
            if brokers:
                print(f"  {'kafka → files (KafkaSink)':28}{drain_rate(brokers, 'bench', tmp / 'drain'):>12,.0f}  "
                      "[the topic's messages drained into a file landing zone, offsets committed]")


def drain_rate(brokers: str, topic: str, tmp: Path) -> float:
    """Events/s the Kafka sink lands from the topic the Kafka rows above filled."""
    from logintel.store.dead_letters import DeadLetterStore
    from logintel.ingest.kafka_sink import KafkaSink
    from logintel.store.landing_files import FileLandingZone
    with KafkaSink(brokers, topic, group_id="bench") as sink:
        report = sink.drain(FileLandingZone(tmp / "landing"), DeadLetterStore(tmp / "dl"), max_seconds=300)
    return report.landed / report.elapsed_s if report.elapsed_s > 0 else float("nan")


if __name__ == "__main__":
    main()
