"""OpenTelemetry metrics (an ExportMetricsServiceRequest, OTLP/JSON or protobuf) → carrier events whose data points
the warehouse moves into the `metric_points` table (`store.metric_rows`).

A data point is no request and no log line, so it never becomes a wide event of its own: the points of one
service and hour travel on a carrier (event id `METRICS_PREFIX…`, route `METRICS_ROUTE`, the points under
`METRICS_KEY`, at most KEPT_POINTS and about KEPT_BYTES each), through the same landing, dead letters and replay as
every event; loading stores the points and no event. A carrier's id is a hash of its points, so a resent batch adds
nothing.

| OTLP | point record (`metric_points` column) |
|---|---|
| resource `service.name` (else the default service) | the carrier's service (`service`) |
| resource `k8s.pod.name`, else `service.instance.id`, else `host.name` | `i` (`instance`) |
| metric `name`, `unit` | `n`, `u` (`name`, `unit`) |
| `gauge`, `sum`, `histogram`, `exponentialHistogram`, `summary` | `k` (`kind`) |
| `sum.aggregationTemporality`, `sum.isMonotonic` (histograms: their temporality) | `temp` (`cumulative` / `delta`), `mono` |
| point `timeUnixNano`, `startTimeUnixNano` | `t`, `s` (ns; `ts`, `start_ts`) |
| gauge and sum: `asDouble` or `asInt`; the others: `sum / count` (their mean) | `v` (`value`) |
| histograms and summaries: `count` | `c` (`count`) |
| point `attributes` | `a` (`attributes`, JSON) |

A point with no recorded value (the NO_RECORDED_VALUE flag, a NaN, a histogram with no count) holds nothing to keep
and is counted as empty. A point without a time, out of range, with an infinite value, no value at all, or
attributes that are not OTLP's (or nest deeper than an event may, or take more than MAX_POINT_BYTES) is rejected
with its one-point document, as is every point of a metric with no name or no data of a known type; its neighbours
land.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from logintel.adapters.otel import OtlpRecordError, unwrap_attributes
from logintel.events import (
    EARLIEST_TIMESTAMP,
    MAX_FUTURE_SKEW,
    MAX_NESTING_DEPTH,
    METRICS_KEY,
    METRICS_PREFIX,
    METRICS_ROUTE,
    EventValidationError,
    WideEvent,
    nesting_depth,
)

KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
KEPT_POINTS, KEPT_BYTES = 1000, 512 * 1024  # a carrier's points: few enough to stay far below an event's size cap
MAX_POINT_BYTES = 64 * 1024  # one point's record (its attributes, mostly): a carrier of one still lands
MAX_NAME_CHARS = 255
_NO_RECORDED_VALUE = 1  # DataPointFlags.FLAG_NO_RECORDED_VALUE
_TEMPORALITY = {1: "delta", 2: "cumulative", "AGGREGATION_TEMPORALITY_DELTA": "delta",
                "AGGREGATION_TEMPORALITY_CUMULATIVE": "cumulative"}
_INSTANCE_KEYS = ("k8s.pod.name", "service.instance.id", "host.name")
_HOUR_NS = 3600 * 10**9
_MAX_COUNT = 2**63 - 1


class OtlpMetricError(OtlpRecordError):
    """A data point (or a metric) that cannot be kept, with what a one-point OTLP/JSON document of it needs."""

    whole: dict | None = None  # a resource rejected with all its points: its whole entry

    def replay_document(self) -> dict | None:
        if self.record is None:
            return self.whole
        scope_metrics = {"metrics": [self.record], **({"scope": self.scope} if self.scope is not None else {})}
        resource = {"resource": self.resource} if self.resource is not None else {}
        return {"resourceMetrics": [{**resource, "scopeMetrics": [scope_metrics]}]}


@dataclass
class MetricBatch:
    events: list[WideEvent] = field(default_factory=list)  # the carriers
    rejected: list[OtlpMetricError] = field(default_factory=list)
    points: int = 0  # data points kept on the carriers
    empty: int = 0   # data points with no recorded value


def is_metrics_document(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "resourceMetrics" in obj


def parse_metrics_request(request, *, default_service: str = "unknown", now: datetime | None = None) -> MetricBatch:
    """A protobuf ExportMetricsServiceRequest, read through its OTLP/JSON form (metrics come per minute, not per
    request: the conversion costs nothing that matters)."""
    from google.protobuf.json_format import MessageToDict
    document = MessageToDict(request) or {"resourceMetrics": []}  # an empty request maps to {}
    return parse_metrics_document(document, default_service=default_service, now=now)


def parse_metrics_document(document: Any, *, default_service: str = "unknown",
                           now: datetime | None = None) -> MetricBatch:
    """Every data point of one OTLP/JSON ExportMetricsServiceRequest, on carriers, or rejected."""
    batch = MetricBatch()
    entries = document.get("resourceMetrics") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        batch.rejected.append(OtlpMetricError(EventValidationError("resourceMetrics", entries, "expected a list"),
                                              "resourceMetrics"))
        return batch
    now = now or datetime.now(timezone.utc)
    limits = (int(EARLIEST_TIMESTAMP.timestamp()) * 10**9, int((now + MAX_FUTURE_SKEW).timestamp()) * 10**9)
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r, entry in enumerate(entries):
        where = f"resourceMetrics[{r}]"
        if not isinstance(entry, Mapping):
            error = EventValidationError("<resource>", entry, "expected an object")
            batch.rejected.append(OtlpMetricError(error, where))
            continue
        resource_raw = entry.get("resource")
        try:
            if resource_raw is not None and not isinstance(resource_raw, Mapping):
                raise EventValidationError("resource", resource_raw, "expected an object")
            resource = unwrap_attributes((resource_raw or {}).get("attributes"), "resource.attributes")
        except (EventValidationError, RecursionError) as exc:
            error = OtlpMetricError(_as_error(exc, "resource"), where)
            error.whole = {"resourceMetrics": [entry]}
            batch.rejected.append(error)
            continue
        service = _service(resource, default_service)
        instance = next((str(resource[k]) for k in _INSTANCE_KEYS if resource.get(k) not in (None, "")), None)
        for s, scope_entry in enumerate(_list(entry.get("scopeMetrics"))):
            scope = scope_entry.get("scope") if isinstance(scope_entry, Mapping) else None
            for m, metric in enumerate(_list(scope_entry.get("metrics") if isinstance(scope_entry, Mapping) else None)):
                at = f"{where}.scopeMetrics[{s}].metrics[{m}]"
                for record, error in _points(metric, at, instance, limits):
                    if error is not None:
                        batch.rejected.append(OtlpMetricError(error[0], error[1], error[2], resource_raw, scope))
                    elif record is None:
                        batch.empty += 1
                    else:
                        groups[(service, record["t"] // _HOUR_NS)].append(record)
    for (service, _), records in groups.items():
        batch.points += len(records)
        batch.events.extend(_carriers(service, records))
    return batch


def _points(metric: Any, at: str, instance: str | None, limits: tuple[int, int]):
    """(record or None for an empty point, None) or (None, (error, location, one-point metric)) per data point."""
    if not isinstance(metric, Mapping):
        yield None, (EventValidationError("<metric>", metric, "expected an OTLP metric object"), at, None)
        return
    name = metric.get("name")
    kind = next((k for k in KINDS if isinstance(metric.get(k), Mapping)), None)
    problem = ("name", "a metric needs a name") if not isinstance(name, str) or not name.strip() else \
        ("name", f"longer than {MAX_NAME_CHARS} characters") if len(name) > MAX_NAME_CHARS else \
        ("<metric>", f"no data: expected one of {', '.join(KINDS)}") if kind is None else None
    if problem is not None:
        yield None, (EventValidationError(problem[0], name if problem[0] == "name" else None, problem[1]), at, metric)
        return
    data = metric[kind]
    unit = metric.get("unit") if isinstance(metric.get("unit"), str) else None
    temporality = _TEMPORALITY.get(data.get("aggregationTemporality")) if kind != "gauge" else None
    monotonic = bool(data.get("isMonotonic")) if kind == "sum" else None
    for p, point in enumerate(_list(data.get("dataPoints"))):
        where = f"{at}.{kind}.dataPoints[{p}]"
        try:
            record = _record(point, kind, limits)
        except (EventValidationError, RecursionError) as exc:
            yield None, (_as_error(exc, "attributes"), where, {**metric, kind: {**data, "dataPoints": [point]}})
            continue
        if record is not None:
            record.update(n=name, u=unit, k=kind, temp=temporality, mono=monotonic, i=instance)
            size = len(_encoded(record))
            if size > MAX_POINT_BYTES:  # alone, so it cannot take its carrier's neighbours over an event's cap
                yield None, (EventValidationError("attributes", None, f"the data point takes {size:,} bytes, over the "
                                                  f"{MAX_POINT_BYTES:,} a point may"), where,
                             {**metric, kind: {**data, "dataPoints": [point]}})
                continue
        yield record, None


def _record(point: Any, kind: str, limits: tuple[int, int]) -> dict | None:
    if not isinstance(point, Mapping):
        raise EventValidationError("<point>", point, "expected an OTLP data point object")
    t = _nanos(point.get("timeUnixNano"), "timestamp")
    if t == 0:
        raise EventValidationError("timestamp", point.get("timeUnixNano"), "a data point needs timeUnixNano")
    if not limits[0] <= t <= limits[1]:
        raise EventValidationError("timestamp", point.get("timeUnixNano"),
                                   "before 2000 or more than one day in the future: out of range")
    start = _nanos(point.get("startTimeUnixNano"), "startTimeUnixNano") or None
    if _nanos(point.get("flags"), "flags") & _NO_RECORDED_VALUE:
        return None
    count = None
    if kind in ("gauge", "sum"):
        raw = point.get("asDouble", point.get("asInt"))
        if raw is None:
            raise EventValidationError("value", None, "a data point needs asDouble or asInt")
        value = _number(raw)
    else:
        count = _nanos(point.get("count"), "count")
        if count > _MAX_COUNT:
            raise EventValidationError("count", point.get("count"), "larger than a 64-bit count")
        if count == 0:
            return None
        value = _number(point["sum"]) / count if point.get("sum") is not None else None
    if value is not None and math.isnan(value):
        return None
    if value is not None and math.isinf(value):
        raise EventValidationError("value", point.get("asDouble", point.get("sum")), "not a finite number")
    attributes = unwrap_attributes(point.get("attributes"), "attributes")
    if nesting_depth(attributes, MAX_NESTING_DEPTH - 4) > MAX_NESTING_DEPTH - 4:
        raise EventValidationError("attributes", None, f"nested deeper than {MAX_NESTING_DEPTH - 4} levels")
    return {"t": t, "s": start, "v": value, "c": count, "a": attributes}


def _carriers(service: str, records: list[dict]) -> list[WideEvent]:
    records.sort(key=lambda r: (r["t"], r["n"], r["i"] or "", _encoded(r["a"])))
    carriers, chunk, size = [], [], 0
    for record in records:
        encoded = len(_encoded(record))
        if chunk and (len(chunk) >= KEPT_POINTS or size + encoded > KEPT_BYTES):
            carriers.append(_carrier(service, chunk))
            chunk, size = [], 0
        chunk.append(record)
        size += encoded
    if chunk:
        carriers.append(_carrier(service, chunk))
    return carriers


def _carrier(service: str, chunk: list[dict]) -> WideEvent:
    digest = hashlib.sha256(service.encode("utf-8", "surrogatepass"))
    digest.update(_encoded(chunk))
    return WideEvent(event_id=f"{METRICS_PREFIX}{digest.hexdigest()[:32]}",
                     timestamp=datetime.fromtimestamp(chunk[0]["t"] / 1e9, tz=timezone.utc), service=service,
                     route=METRICS_ROUTE, duration_ms=0.0, level="debug", attributes={METRICS_KEY: chunk})


def _encoded(value: Any) -> bytes:
    """Canonical bytes of a record (sorted keys), for its size and the carrier's id; an integer wider than 64 bits
    (an attribute's intValue) takes the stdlib's path."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _service(resource: dict, default: str) -> str:
    name = resource.get("service.name")
    return name.strip()[:256] if isinstance(name, str) and name.strip() else default


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _nanos(raw: Any, where: str) -> int:
    """A uint64 as OTLP/JSON writes it (a decimal string) or a number; 0 when absent."""
    if raw in (None, ""):
        return 0
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw)
    raise EventValidationError(where, raw, "expected a non-negative integer")


def _number(raw: Any) -> float:
    """A double or int64 value as OTLP/JSON writes them (numbers, or strings: int64s, "NaN", "Infinity")."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            pass
    raise EventValidationError("value", raw, "not a number")


def _as_error(exc: BaseException, where: str) -> EventValidationError:
    if isinstance(exc, EventValidationError):
        return exc
    error = EventValidationError(where, None, "nested too deeply to read")
    error.line_problem = "nesting"
    return error
