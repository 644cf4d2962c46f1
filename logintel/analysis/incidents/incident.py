"""An incident: its record, id, severity, and the incidents table (replaced per hour, listed merged
across hours). Every kind of incident (rule, cause, cluster, latency) is one of these."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import duckdb

from logintel.store.schema import ensure_tables, has_table
from logintel.store.warehouse import latest_event_time, transaction

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


_INCIDENT_COLUMNS = ("incident_id", "partition_hour", "kind", "service", "route", "error_code", "start_time",
                     "end_time", "first_seen", "breached_windows", "threshold", "peak_errors", "errors", "requests",
                     "error_rate", "users_affected", "p99_ms", "severity", "status", "summary", "writer",
                     "related_traces", "related_traces_total", "evidence", "grounding", "services", "routes",
                     "error_codes", "root_cause_analysis", "merged_into", "root_cause")


def replace_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, incidents: list[Incident],
                      kinds: tuple[str, ...] = ("threshold", "cluster", "cause", "latency", "change")) -> None:
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


def resolve_ended(con: duckdb.DuckDBPyConnection, hour: datetime, step_minutes: int) -> int:
    """Mark resolved the incidents of earlier hours still marked open that hour `hour` did not continue and the data
    has since passed (their end more than a window step before the newest event, the bar `still_open` applies when
    an hour is written). An hour's run judges "open" from the data as it stood: in a backfill hour after hour an
    incident ending at an hour's last minute is open then, and nothing else would ever close it — while the same
    hours loaded first (`backfill --parallel`) give "resolved" at once. Returns how many were resolved."""
    data_end = latest_event_time(con)
    if data_end is None or not has_table(con, "incidents"):
        return 0
    start = hour.replace(tzinfo=None)
    return con.execute("""
        UPDATE incidents SET status = 'resolved'
        WHERE status = 'open' AND partition_hour < $start AND end_time < $cutoff
          AND incident_id NOT IN (SELECT incident_id FROM incidents WHERE partition_hour = $start)""",
                       {"start": start, "cutoff": data_end - timedelta(minutes=step_minutes)}).fetchone()[0]


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
        FROM incidents GROUP BY incident_id ORDER BY min(start_time), incident_id
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
