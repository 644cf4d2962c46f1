"""The receiver's Prometheus metrics: requests and records by endpoint and outcome, latency, bytes in
flight, and the emitter's own accounting (landed per transport, dumped, dropped, pending)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from logintel.ingest.emitter import Emitter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ReceiverMetrics:
    def __init__(self, emitter: Emitter):
        disable_created_metrics()  # no *_created series: they double what a scrape carries and say little
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("logintel_receiver_requests", "HTTP requests answered", ["endpoint", "code"], registry=r)
        self.received = Counter("logintel_receiver_records_received", "records in request bodies",
                                ["endpoint"], registry=r)
        self.accepted = Counter("logintel_receiver_records_accepted", "records accepted and durable",
                                ["endpoint"], registry=r)
        self.rejected = Counter("logintel_receiver_records_rejected", "records rejected (dead-lettered), by cause",
                                ["endpoint", "cause"], registry=r)
        self.refused = Counter("logintel_receiver_records_refused",
                               "records of requests answered 429/503 (to be resent by the client)",
                               ["endpoint"], registry=r)
        self.latency = Histogram("logintel_receiver_request_duration_seconds", "request latency",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight_bytes = Gauge("logintel_receiver_in_flight_bytes", "bytes of request bodies being handled",
                                     registry=r)
        r.register(_EmitterCollector(emitter))


class _EmitterCollector:
    """Read at scrape time from the emitter's accounting: one source of truth for landed and dumped."""

    def __init__(self, emitter: Emitter):
        self.emitter = emitter

    def describe(self):
        return []

    def collect(self):
        stats = self.emitter.stats()
        landed = CounterMetricFamily("logintel_receiver_events_landed", "events delivered, by transport",
                                     labels=["transport"])
        for transport, count in sorted(stats["delivered"].items()):
            landed.add_metric([transport], count)
        yield landed
        dumped = CounterMetricFamily("logintel_receiver_events_dumped", "events written to the local dump, by reason",
                                     labels=["reason"])
        for reason, count in sorted(stats["dumped_by_reason"].items()):
            dumped.add_metric([reason], count)
        yield dumped
        dropped = CounterMetricFamily("logintel_receiver_events_dropped", "events dropped, by reason",
                                      labels=["reason"])
        for reason, count in sorted(stats["dropped"].items()):
            dropped.add_metric([reason], count)
        yield dropped
        yield GaugeMetricFamily("logintel_receiver_events_pending", "events not settled yet (buffer and in flight)",
                                value=stats["pending"])
        yield GaugeMetricFamily("logintel_receiver_dump_bytes", "bytes in the local dump", value=stats["dump"]["usage_bytes"])
