"""The receiver's Prometheus metrics: requests and records by endpoint and outcome, latency, bytes in
flight, and the emitter's own accounting (landed per transport, dumped, dropped, pending).

With several worker processes (`logintel serve --workers N`) every worker writes its values to the
shared `multiprocess_dir` and a scrape, whichever worker answers it, sums them all (prometheus-client's
multiprocess mode). The emitter's counts reach the counters as deltas of its own accounting, taken
after each request and at each scrape, so both modes expose the same metric types.
"""
from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from logintel.ingest.emitter import Emitter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ReceiverMetrics:
    def __init__(self, emitter: Emitter, multiprocess_dir: str | None = None):
        disable_created_metrics()  # no *_created series: they double what a scrape carries and say little
        self.emitter = emitter
        self.multiprocess_dir = multiprocess_dir
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
                                     registry=r, multiprocess_mode="livesum")
        self.landed = Counter("logintel_receiver_events_landed", "events delivered, by transport", ["transport"],
                              registry=r)
        self.dumped = Counter("logintel_receiver_events_dumped", "events written to the local dump, by reason",
                              ["reason"], registry=r)
        self.dropped = Counter("logintel_receiver_events_dropped", "events dropped, by reason", ["reason"], registry=r)
        self.pending = Gauge("logintel_receiver_events_pending", "events not settled yet (buffer and in flight)",
                             registry=r, multiprocess_mode="livesum")
        self.dump_bytes = Gauge("logintel_receiver_dump_bytes", "bytes in the local dump (shared by the workers)",
                                registry=r, multiprocess_mode="max")
        self.sealed = Counter("logintel_receiver_sealed", "small landed segments sealed into columnar ones: "
                              "segments_written, segments_replaced, events, failures", ["what"], registry=r)
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Bring the emitter's counters up to its accounting (the increase since the last refresh)."""
        stats = self.emitter.stats()
        with self._lock:
            sealing = {key: value for key, value in (stats["sealing"] or {}).items()
                       if key in ("segments_written", "segments_replaced", "events", "failures")}
            for family, counts in (("landed", stats["delivered"]), ("dumped", stats["dumped_by_reason"]),
                                   ("dropped", stats["dropped"]), ("sealed", sealing)):
                metric = getattr(self, family)
                for label, count in counts.items():
                    delta = count - self._seen.get((family, label), 0)
                    if delta > 0:
                        metric.labels(label).inc(delta)
                        self._seen[(family, label)] = count
            self.pending.set(stats["pending"])
            self.dump_bytes.set(stats["dump"]["usage_bytes"])

    def after_request(self) -> None:
        """With several workers, bring this one's emitter counts up to date now: a scrape another
        worker answers reads them from the shared folder. (One process refreshes at the scrape.)"""
        if self.multiprocess_dir is not None:
            self.refresh()

    def exposition(self) -> bytes:
        self.refresh()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=self.multiprocess_dir)
        return generate_latest(combined)
