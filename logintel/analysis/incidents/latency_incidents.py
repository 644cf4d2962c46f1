"""Latency incidents: a (service, route) whose successful requests got much slower than its own recent
baseline, errors or not — a network delay or a starved CPU slows every caller without failing one.

Each 5-minute window's latency (the weighted mean of ln duration of the route's successful requests,
from per-minute sums over raw_events) is tested against the route's baseline windows with a robust
z-score, a minimum count and a minimum rise (`latency_rules.LatencyRules` explains the test). Breaching
windows are merged into runs as rule incidents' are; an incident's id comes from its route and where its
run began, and a run that continues an incident of the previous hour keeps that incident's id. Each
incident carries the route's p50/p99 during it and in the hours before its onset, and its slowest
dependency when one `<ns>.duration_ms` got slower (the root-cause verdict's rules for a slowdown, over
all of the route's requests rather than the failing ones).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.incident import Incident
from logintel.analysis.incidents.latency_cause import slowest_dependency
from logintel.analysis.incidents.latency_rules import LatencyRules
from logintel.analysis.incidents.latency_segments import LatencyFacts, LatencySegment, latency_facts
from logintel.analysis.incidents.latency_windows import (KIND, Baseline, Breach, Unit, baseline, breaches,
                                                         incident_spans, limit_ms, route_windows)
from logintel.analysis.incidents.rule_incidents import RUN_GAP_WINDOWS, window_runs
from logintel.analysis.windows import WindowSpec
from logintel.store.landing import HOUR


def latency_incident_id(service: str, route: str, first_window_start: datetime) -> str:
    key = f"{KIND}|{service}|{route}|{first_window_start.isoformat()}"
    return "inc-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def latency_severity(ratio: float, requests: int, minutes: float) -> str:
    """Impact: how many times slower, how many requests waited, for how long."""
    score = 2 if ratio >= 5 else 1 if ratio >= 2 else 0
    score += 2 if requests >= 5000 else 1 if requests >= 500 else 0
    score += 2 if minutes >= 60 else 1 if minutes >= 20 else 0
    return "critical" if score >= 5 else "high" if score >= 4 else "medium" if score >= 2 else "low"


@dataclass(frozen=True)
class _Previous:
    """The route's latency incident of the previous hour that ran up to this one."""
    incident_id: str
    first_seen: datetime
    root_cause: dict
    slow_service: str | None


def _continued(con, start: datetime, unit: Unit, spec: WindowSpec) -> _Previous | None:
    row = con.execute(f"""
        SELECT incident_id, first_seen, root_cause, json_extract_string(evidence, '$.slow_service') FROM incidents
        WHERE kind = '{KIND}' AND partition_hour = $p AND service = $s AND route = $r AND end_time >= $edge
          AND json_extract(evidence, '$.members') IS NULL
        ORDER BY end_time DESC LIMIT 1""",
                      {"p": start - HOUR, "s": unit[0], "r": unit[1],
                       "edge": start - timedelta(minutes=spec.length_minutes * RUN_GAP_WINDOWS)}).fetchone()
    return _Previous(row[0], row[1], json.loads(row[2]) if row[2] else {}, row[3]) if row else None


@dataclass
class _Run:
    unit: Unit
    breaches: list[Breach]
    incident_id: str
    first_seen: datetime
    segment: LatencySegment
    base: Baseline
    previous: _Previous | None = None  # the incident of the previous hour this run continues


def _unit_runs(con, start: datetime, unit: Unit, found: list[Breach], base: Baseline, rules: LatencyRules,
               spec: WindowSpec) -> list[_Run]:
    by_start = {b.start: b for b in found}
    continued = _continued(con, start, unit, spec)
    reach = timedelta(minutes=spec.length_minutes * RUN_GAP_WINDOWS)
    runs = []
    for i, run in enumerate(window_runs(sorted(by_start), spec)):
        here = [by_start[s] for s in run]
        goes_on = i == 0 and continued is not None and run[0] - start <= reach
        if not goes_on and len(here) < rules.min_windows:
            continue  # one odd window is a blip, not an incident
        incident_id, first_seen = ((continued.incident_id, continued.first_seen) if goes_on
                                   else (latency_incident_id(*unit, run[0]), run[0]))
        seg_start = start if goes_on else max(run[0], start - spec.lookback)
        seg_end = min(max(b.end for b in here), start + HOUR)
        before = first_seen - timedelta(hours=rules.stated_baseline_hours)
        runs.append(_Run(unit, here, incident_id, first_seen,
                         LatencySegment(*unit, seg_start, seg_end, first_seen, before), base,
                         continued if goes_on else None))
    return runs


def detect_latency_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, rules: LatencyRules = LatencyRules(),
                             spec: WindowSpec = WindowSpec(), data_end: datetime | None = None) -> list[Incident]:
    """Latency incidents of partition `hour`, one per route and run of slow windows; their text is written
    afterwards (`logintel.narration.incident_text`)."""
    start = hour.replace(tzinfo=None)
    windows = route_windows(con, start, rules, spec)
    spans = incident_spans(con, sorted(windows), start, start - timedelta(hours=rules.reach_hours) - spec.lookback)
    runs = []
    for unit, unit_windows in windows.items():
        base = baseline(unit_windows, spans.get(unit, []), start, rules)
        found = breaches(unit_windows, base, start, rules) if base else []
        if found:
            runs += _unit_runs(con, start, unit, found, base, rules, spec)
    facts = latency_facts(con, [r.segment for r in runs])
    incidents = [_incident(run, found, start, rules, spec, data_end) for run, found in zip(runs, facts)]
    return sorted(incidents, key=lambda i: (i.start_time, i.service, i.route))


def _cause(run: _Run, facts: LatencyFacts, rules: LatencyRules) -> tuple[dict, str]:
    """The route's slowest dependency (as the incident keeps it) and the component whose time grew: that
    dependency, else the route's own service. A run that continues an incident whose dependency was named
    keeps it when this hour's tail of it is too short to name one."""
    during, before = facts.during.p50_ms, facts.before.p50_ms
    cause = slowest_dependency(facts.slowdowns, (during or 0.0) - (before or during or 0.0), rules)
    if cause.named:
        window = [[run.segment.before.isoformat(), run.segment.onset.isoformat()]]
        return cause.to_dict() | {"baselines": window}, cause.value
    previous = run.previous
    if previous is not None and previous.root_cause.get("value") is not None:
        return previous.root_cause, previous.slow_service or previous.root_cause["value"]
    return cause.to_dict(), run.unit[0]


def _incident(run: _Run, facts: LatencyFacts, partition_start: datetime, rules: LatencyRules, spec: WindowSpec,
              data_end: datetime | None) -> Incident:
    service, route = run.unit
    seg = run.segment
    during, before = facts.during, facts.before
    baseline_p50 = before.p50_ms or run.base.typical_ms
    ratio = (during.p50_ms or 0.0) / baseline_p50 if baseline_p50 else 0.0
    minutes = (seg.end - run.first_seen).total_seconds() / 60
    still_open = data_end is not None and seg.end >= data_end.replace(tzinfo=None) - timedelta(minutes=spec.step_minutes)
    cause, slow = _cause(run, facts, rules)
    return Incident(
        incident_id=run.incident_id, partition_hour=partition_start, service=service, route=route, error_code=None,
        start_time=seg.start, end_time=seg.end, first_seen=run.first_seen, breached_windows=len(run.breaches),
        threshold=round(limit_ms(run.base, rules), 1), peak_errors=0, errors=during.errors,
        requests=during.requests, error_rate=during.errors / during.requests if during.requests else 0.0,
        users_affected=during.users, p99_ms=during.p99_ms,
        severity=latency_severity(ratio, during.requests, minutes),
        status="open" if still_open else "resolved", kind=KIND,
        root_cause=cause,
        evidence={"window_minutes": spec.length_minutes, "unit": [service, route], "slow_service": slow,
                  "p50_ms": _ms(during.p50_ms), "p99_ms": _ms(during.p99_ms), "requests": during.requests,
                  "errors": during.errors,
                  "before": {"start": seg.before.isoformat(), "end": seg.onset.isoformat(),
                             "p50_ms": _ms(before.p50_ms), "p99_ms": _ms(before.p99_ms),
                             "requests": before.requests},
                  "test": {"baseline_ms": _ms(run.base.typical_ms), "baseline_windows": run.base.windows,
                           "peak_z": round(max(b.z for b in run.breaches), 1),
                           "peak_ms": _ms(max(b.typical_ms for b in run.breaches))},
                  "ratio": round(ratio, 2)},
    )


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
