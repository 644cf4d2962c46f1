"""Rule incidents: every group whose errors in a window exceed its threshold, with consecutive
breaching windows of one group merged into one incident (not one per window).

An incident's id is derived from its group and the start of its run of breaching windows, and the
run is followed back into earlier partitions, so an incident that spans an hour boundary keeps one
id and re-running a partition reproduces the same ids.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.segment_facts import Segment, SegmentFacts, segment_facts
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.store.landing import HOUR
from logintel.store.schema import ensure_tables, has_table
from logintel.store.warehouse import transaction


MAX_RELATED_TRACES = 25
MAX_LOOKBACK = timedelta(hours=24)


@dataclass
class Incident:
    incident_id: str
    partition_hour: datetime
    service: str
    route: str
    error_code: str | None
    start_time: datetime
    end_time: datetime
    first_seen: datetime
    breached_windows: int
    threshold: float
    peak_errors: int
    errors: int = 0
    requests: int = 0
    error_rate: float = 0.0
    users_affected: int = 0
    p99_ms: float | None = None
    severity: str = "low"
    status: str = "open"
    summary: str = ""
    writer: str = ""
    related_traces: list[str] = field(default_factory=list)
    related_traces_total: int = 0
    evidence: dict = field(default_factory=dict)
    grounding: dict = field(default_factory=dict)
    kind: str = "threshold"
    # Cluster incidents span several groups; rule incidents list their one group here too.
    services: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    root_cause_analysis: str = ""
    merged_into: str | None = None  # a rule incident absorbed by the cluster incident with this id
    # {kind, attribute, value, confidence, evidence, text}: see analysis.root_cause.verdict
    root_cause: dict = field(default_factory=dict)

    def __post_init__(self):
        self.services = self.services or [self.service]
        self.routes = self.routes or [self.route]
        self.error_codes = self.error_codes or ([self.error_code] if self.error_code else [])

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("partition_hour", "start_time", "end_time", "first_seen"):
            data[key] = data[key].isoformat()
        return data


def incident_id(service: str, route: str, error_code: str | None, first_window_start: datetime) -> str:
    key = f"threshold|{service}|{route}|{error_code or ''}|{first_window_start.isoformat()}"
    return "inc-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def severity(peak_errors: int, threshold: float, users: int, minutes: float, error_rate: float) -> str:
    """Impact, not noise: how far over the threshold, how many people, for how long, how much of the traffic."""
    ratio = peak_errors / max(threshold, 1.0)
    score = 0
    score += 2 if ratio >= 10 else 1 if ratio >= 3 else 0
    score += 2 if users >= 200 else 1 if users >= 25 else 0
    score += 2 if minutes >= 60 else 1 if minutes >= 20 else 0
    score += 1 if error_rate >= 0.5 else 0
    return "critical" if score >= 5 else "high" if score >= 3 else "medium" if score >= 1 else "low"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con, "incidents")
    # Warehouses from before these columns existed get them added.
    for column, kind in (("grounding", "JSON"), ("services", "VARCHAR[]"), ("routes", "VARCHAR[]"),
                         ("error_codes", "VARCHAR[]"), ("root_cause_analysis", "VARCHAR"), ("merged_into", "VARCHAR"),
                         ("root_cause", "JSON")):
        con.execute(f"ALTER TABLE incidents ADD COLUMN IF NOT EXISTS {column} {kind}")


# Breaching windows whose starts are at most this many window lengths apart belong to one run: a
# rate hovering around its threshold is one incident, not a flurry of them (the deploy regression
# of the demo's day came out as up to 8 incidents for 3 routes with one window).
RUN_GAP_WINDOWS = 2


def _runs(starts: list[datetime], spec: WindowSpec) -> list[list[datetime]]:
    """Split sorted breaching window starts into runs; a gap of up to RUN_GAP_WINDOWS windows
    continues a run."""
    runs: list[list[datetime]] = []
    for start in starts:
        if runs and start - runs[-1][-1] <= timedelta(minutes=spec.length_minutes * RUN_GAP_WINDOWS):
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


def detect_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, thresholds: Thresholds,
                     spec: WindowSpec = WindowSpec(), data_end: datetime | None = None) -> list[Incident]:
    """Rule incidents of partition `hour`, from windowed_aggregates (and raw_events for the facts).
    Their text is written afterwards (`logintel.narration.incident_text`)."""
    start = hour.replace(tzinfo=None)
    end = start + HOUR
    windows = con.execute("""
        SELECT service, route, error_code, window_start, window_end, errors, requests, p99_ms
        FROM windowed_aggregates WHERE partition_hour = $start ORDER BY service, route, error_code, window_start
    """, {"start": start}).fetchall()
    breaching: dict[tuple, list[tuple]] = {}
    for service, route, code, w_start, w_end, errors, requests, p99 in windows:
        limit = thresholds.for_group(service, route, code)
        if errors > limit:
            breaching.setdefault((service, route, code), []).append((w_start, w_end, errors, p99, limit))

    runs = []
    for (service, route, code), rows in breaching.items():
        limit = rows[0][4]
        # Breaching windows of this group in earlier partitions, to find where each run began.
        earlier = [r[0] for r in con.execute("""
            SELECT window_start FROM windowed_aggregates
            WHERE service = $s AND route = $r AND error_code IS NOT DISTINCT FROM $c
              AND partition_hour < $start AND partition_hour >= $since AND errors > $limit
            ORDER BY window_start
        """, {"s": service, "r": route, "c": code, "start": start, "since": start - MAX_LOOKBACK,
              "limit": limit}).fetchall()]
        by_start = {r[0]: r for r in rows}
        for run in _runs(earlier + sorted(by_start), spec):
            here = [s for s in run if s in by_start]
            if not here:
                continue
            first_window = run[0]
            seg_start = max(by_start[here[0]][0], start - spec.lookback) if here[0] == first_window else here[0]
            seg_start = max(seg_start, start) if run[0] < start else seg_start
            seg_end = min(max(by_start[s][1] for s in here), end)
            runs.append((Segment(service, route, code, seg_start, seg_end), first_window, len(here), limit,
                         max(by_start[s][2] for s in here), max((by_start[s][3] or 0.0) for s in here)))
    # The facts of every run from one pass over the hour's events, not three queries per run.
    facts = segment_facts(con, [r[0] for r in runs], MAX_RELATED_TRACES)
    incidents = [_describe(segment, found, first_window, start, windows, limit, peak, p99, spec, data_end)
                 for (segment, first_window, windows, limit, peak, p99), found in zip(runs, facts)]
    return sorted(incidents, key=lambda i: (i.start_time, i.service, i.route))


def _describe(segment: Segment, facts: SegmentFacts, first_window, partition_start, windows, limit, peak, p99,
              spec, data_end) -> Incident:
    # Requests are the whole route's traffic in the incident's time range (every error code and
    # success), so the error rate says what share of that route's users saw this failure.
    service, route, code, seg_start, seg_end = (segment.service, segment.route, segment.error_code, segment.start,
                                                segment.end)
    requests, errors, users = facts.requests, facts.errors, facts.users
    minutes = (seg_end - (first_window if first_window >= partition_start - HOUR else seg_start)).total_seconds() / 60
    rate = errors / requests if requests else 0.0
    still_open = data_end is not None and seg_end >= data_end.replace(tzinfo=None) - timedelta(minutes=spec.step_minutes)
    return Incident(
        incident_id=incident_id(service, route, code, first_window), partition_hour=partition_start,
        service=service, route=route, error_code=code, start_time=seg_start, end_time=seg_end,
        first_seen=first_window, breached_windows=windows, threshold=limit, peak_errors=int(peak),
        errors=errors, requests=requests, error_rate=rate, users_affected=users, p99_ms=p99,
        severity=severity(int(peak), limit, users, minutes, rate),
        status="open" if still_open else "resolved",
        related_traces=facts.traces, related_traces_total=facts.traces_total,
        evidence={"messages": facts.messages, "window_minutes": spec.length_minutes},
    )


_INCIDENT_COLUMNS = ("incident_id", "partition_hour", "kind", "service", "route", "error_code", "start_time",
                     "end_time", "first_seen", "breached_windows", "threshold", "peak_errors", "errors", "requests",
                     "error_rate", "users_affected", "p99_ms", "severity", "status", "summary", "writer",
                     "related_traces", "related_traces_total", "evidence", "grounding", "services", "routes",
                     "error_codes", "root_cause_analysis", "merged_into", "root_cause")


def replace_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, incidents: list[Incident],
                      kinds: tuple[str, ...] = ("threshold", "cluster", "cause")) -> None:
    ensure_schema(con)
    start = hour.replace(tzinfo=None)
    placeholders = ", ".join("?" for _ in _INCIDENT_COLUMNS)
    with transaction(con):
        con.execute(f"DELETE FROM incidents WHERE partition_hour = $start AND kind IN ({', '.join(repr(k) for k in kinds)})",
                    {"start": start})
        for i in incidents:
            con.execute(f"INSERT INTO incidents ({', '.join(_INCIDENT_COLUMNS)}) VALUES ({placeholders})", [
                i.incident_id, i.partition_hour, i.kind, i.service, i.route, i.error_code, i.start_time,
                i.end_time, i.first_seen, i.breached_windows, i.threshold, i.peak_errors, i.errors, i.requests,
                i.error_rate, i.users_affected, i.p99_ms, i.severity, i.status, i.summary, i.writer,
                i.related_traces, i.related_traces_total, json.dumps(i.evidence), json.dumps(i.grounding),
                i.services, i.routes, i.error_codes, i.root_cause_analysis, i.merged_into,
                json.dumps(i.root_cause, default=str)])


_SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END"


def list_incidents(con: duckdb.DuckDBPyConnection, include_merged: bool = True) -> list[dict]:
    """Incidents merged across the hourly partitions they span (one row per incident_id). Rule
    incidents absorbed by a cluster incident carry `merged_into`; `include_merged=False` hides them."""
    if not has_table(con, "incidents"):
        return []
    rows = con.execute(f"""
        SELECT incident_id, any_value(kind), any_value(service), any_value(route), any_value(error_code),
               min(first_seen), min(start_time), max(end_time), sum(breached_windows), max(threshold),
               max(peak_errors), sum(errors), sum(requests), max(users_affected), max(p99_ms),
               arg_max(severity, {_SEVERITY_ORDER}), arg_max(status, partition_hour),
               arg_min(summary, partition_hour), arg_min(writer, partition_hour),
               flatten(list(related_traces ORDER BY partition_hour))[1:{MAX_RELATED_TRACES}],
               sum(related_traces_total), list(partition_hour ORDER BY partition_hour),
               list(grounding ORDER BY partition_hour),
               list_distinct(flatten(list(coalesce(services, [service])))),
               list_distinct(flatten(list(coalesce(routes, [route])))),
               list_distinct(flatten(list(coalesce(error_codes, [])))),
               arg_max(root_cause_analysis, partition_hour), max(merged_into), arg_max(root_cause, partition_hour)
        FROM incidents GROUP BY incident_id ORDER BY min(start_time)
    """).fetchall()
    keys = ("incident_id", "kind", "service", "route", "error_code", "first_seen", "start_time", "end_time",
            "breached_windows", "threshold", "peak_errors", "errors", "requests", "users_affected", "p99_ms",
            "severity", "status", "summary", "writer", "related_traces", "related_traces_total", "partitions",
            "grounding", "services", "routes", "error_codes", "root_cause_analysis", "merged_into", "root_cause")
    result = []
    for row in rows:
        item = dict(zip(keys, row))
        item["error_rate"] = item["errors"] / item["requests"] if item["requests"] else 0.0
        for key in ("first_seen", "start_time", "end_time"):
            item[key] = item[key].isoformat()
        item["partitions"] = [p.strftime("%Y-%m-%d-%H:00") for p in item["partitions"]]
        # the grounding of the first segment's summary, which is the text shown for the incident
        first = item["grounding"][0] if item["grounding"] else None
        item["grounding"] = json.loads(first) if first else {}
        item["root_cause"] = json.loads(item["root_cause"]) if item["root_cause"] else {}
        item["services"] = sorted(item["services"] or [])
        item["routes"] = sorted(item["routes"] or [])
        item["error_codes"] = sorted(item["error_codes"] or [])
        if include_merged or not item["merged_into"]:
            result.append(item)
    return result
