"""The simulated workload as OpenTelemetry traces: OTLP/JSON files as a Collector's file exporter writes them.

One file per hour (`traces-<YYYY-MM-DDTHH>.json`, the hour each trace began), one ExportTraceServiceRequest
per line, each holding whole traces (at most `MAX_SPANS_PER_REQUEST` spans, as a batch processor sends them,
unless one trace is bigger), grouped by resource: a service's pod. Every span's parent is in its trace, and
in the same request: `logintel ingest` folds a request's calls onto its event only within one request.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from logintel.simulate.materialize import event_rows
from logintel.simulate.simulation import Simulation
from logintel.simulate.span_layout import SpanLayout, lay_out
from logintel.simulate.trace_spans import RequestSpans, Resource, resource_attributes, resource_of

MAX_SPANS_PER_REQUEST = 8192  # the Collector batch processor's default send_batch_size
SCOPE = {"name": "logintel.simulate"}
_NS_PER_HOUR = 3_600 * 1_000_000_000


def write_traces(sim: Simulation, out_dir: Path) -> dict:
    """Write the simulation's requests as spans under `out_dir`; returns the paths and the counts written."""
    if sim.workload is None:
        raise ValueError("no workload to write traces from: simulate with keep_workload=True")
    rows = event_rows(sim.workload)
    if len(rows) != len(sim.events):
        raise ValueError("the workload does not hold the simulation's events")
    layout = lay_out(sim.workload, rows)
    requests = RequestSpans(sim.events, sim.workload, layout)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = trace_roots(layout)
    hour = layout.start_ns[root] // _NS_PER_HOUR
    paths, spans, traces = [], 0, 0
    for h in np.unique(hour).tolist():
        members = np.flatnonzero(hour == h)
        # Each trace's events together, traces in the order they began.
        members = members[np.lexsort((members, root[members], layout.start_ns[root[members]]))]
        trees = np.split(members, np.flatnonzero(np.diff(root[members])) + 1)
        path = out_dir / f"traces-{datetime.fromtimestamp(h * 3600, timezone.utc):%Y-%m-%dT%H}.json"
        with path.open("w", encoding="utf-8") as f:
            for document, count in export_requests(requests, trees):
                f.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
                f.write("\n")
                spans += count
        paths.append(path)
        traces += len(trees)
    return {"paths": paths, "spans": spans, "traces": traces}


def trace_roots(layout: SpanLayout) -> np.ndarray:
    """Per event, the event that began its trace (its client's request)."""
    root = np.arange(len(layout.caller))
    while True:
        up = layout.caller[root]
        if not (up >= 0).any():
            return root
        root = np.where(up >= 0, up, root)


def export_requests(requests: RequestSpans, trees: list[np.ndarray]):
    """(ExportTraceServiceRequest as OTLP/JSON, its span count) for the traces, whole traces to a request."""
    batch: dict[Resource, list[dict]] = defaultdict(list)
    count = 0
    for tree in trees:
        spans = [(resource_of(requests.events[i]), requests.spans(i)) for i in tree.tolist()]
        size = sum(len(own) for _, own in spans)
        if count and count + size > MAX_SPANS_PER_REQUEST:
            yield _document(batch), count
            batch, count = defaultdict(list), 0
        for resource, own in spans:
            batch[resource].extend(own)
        count += size
    if count:
        yield _document(batch), count


def _document(batch: dict[Resource, list[dict]]) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": resource_attributes(resource)},
                               "scopeSpans": [{"scope": SCOPE, "spans": spans}]}
                              for resource, spans in batch.items()]}
