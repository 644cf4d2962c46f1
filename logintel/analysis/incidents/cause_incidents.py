"""One incident per cause among the rule incidents an hour leaves standing: rule incidents that overlap in
time and share a named root cause (a deploy that breaks several routes of one service) become one
incident, and a rule incident whose failures that cause explains through their traces (the gateway
route that fails because the broken one does) joins it; their rule incidents fold into it."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.incident import MAX_RELATED_TRACES, Incident, severity
from logintel.analysis.root_cause import RootCauseAnalysis
from logintel.analysis.root_cause.scopes import overlaps
from logintel.store.schema import ERROR_SQL, IN_GROUPS_SQL, group_keys

MIN_COVERAGE = 0.5  # a group belongs to a cause when the cause explains at least this share of its failures
KIND = "cause"


def _overlap(a: Incident, b: Incident) -> bool:
    return overlaps(a.start_time, a.end_time, b.start_time, b.end_time)


def _chains(members: list[Incident]) -> list[list[Incident]]:
    """Incidents that overlap in time, transitively, in start order."""
    chains: list[list[Incident]] = []
    for incident in sorted(members, key=lambda i: i.start_time):
        if chains and any(_overlap(incident, other) for other in chains[-1]):
            chains[-1].append(incident)
        else:
            chains.append([incident])
    return chains


def fold_explained(rules: list[Incident], incidents: list[Incident], analysis: RootCauseAnalysis,
                   keys: dict[str, str]) -> None:
    """Mark each unmerged rule incident whose failures an incident's cause explains as merged into it.
    `keys` maps an incident id to the key its cause was analysed under."""
    for rule in rules:
        if rule.merged_into:
            continue
        for incident in incidents:
            key = keys.get(incident.incident_id, incident.incident_id)
            if _overlap(rule, incident) and analysis.covered_share(key, rule.incident_id) >= MIN_COVERAGE:
                rule.merged_into = incident.incident_id
                break


def group_by_cause(con: duckdb.DuckDBPyConnection, hour: datetime, rules: list[Incident],
                   analysis: RootCauseAnalysis, threshold: float, window_minutes: int,
                   data_end: datetime | None = None) -> list[Incident]:
    """Incidents of the unmerged rule incidents that share a named cause, with those whose failures that
    cause explains; their members get `merged_into`."""
    by_cause: dict[tuple[str, str, str], list[Incident]] = {}
    for rule in rules:
        cause = rule.root_cause or {}
        if not rule.merged_into and cause.get("value") is not None and cause.get("kind") != "unknown":
            by_cause.setdefault((cause["kind"], cause["attribute"], cause["value"]), []).append(rule)
    found = []
    for sharers in sorted((chain for group in by_cause.values() for chain in _chains(group)),
                          key=lambda chain: -sum(m.errors for m in chain)):
        lead = max(sharers, key=lambda m: m.errors)
        if lead.merged_into:
            continue  # explained by a bigger cause already
        # Any sharer's failures may be the ones a caller's traces lead to (the gateway route fails
        # because catalog's featured route does, not its product page).
        explained = [r for r in rules if not r.merged_into and r not in sharers and _overlap(r, lead)
                     and max(analysis.covered_share(s.incident_id, r.incident_id) for s in sharers) >= MIN_COVERAGE]
        members = [m for m in sharers if not m.merged_into] + explained
        if len(members) < 2:
            continue
        incident = _combined(con, hour, lead, members, threshold, window_minutes, data_end)
        for member in members:
            member.merged_into = incident.incident_id
        found.append(incident)
    return found


def _combined(con: duckdb.DuckDBPyConnection, hour: datetime, lead: Incident, members: list[Incident],
              threshold: float, window_minutes: int, data_end: datetime | None) -> Incident:
    start, end = min(m.start_time for m in members), max(m.end_time for m in members)
    first_seen = min(m.first_seen for m in members)
    groups = sorted({(m.service, m.route, m.error_code) for m in members}, key=str)
    cause = dict(lead.root_cause)  # its numbers are measured again over the whole incident (hour_incidents)
    segment = {"a": start, "b": end, "keys": group_keys(groups), "routes": sorted({f"{s}|{r}" for s, r, _ in groups})}
    users, trace_total, p99, errors, requests = con.execute(f"""
        SELECT count(DISTINCT user_id) FILTER ({ERROR_SQL} AND {IN_GROUPS_SQL}),
               count(DISTINCT trace_id) FILTER ({ERROR_SQL} AND {IN_GROUPS_SQL}),
               quantile_cont(duration_ms, 0.99) FILTER ({ERROR_SQL} AND {IN_GROUPS_SQL}),
               coalesce(sum(sample_rate) FILTER ({ERROR_SQL} AND {IN_GROUPS_SQL}), 0), coalesce(sum(sample_rate), 0)
        FROM raw_events WHERE ts >= $a AND ts < $b AND list_contains($routes, service || '|' || route)""",
                                                          segment).fetchone()
    errors, requests = int(errors), int(requests)
    traces = [t[0] for t in con.execute(f"""
        SELECT trace_id FROM raw_events WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND trace_id IS NOT NULL
          AND {IN_GROUPS_SQL}
        GROUP BY trace_id ORDER BY min(ts) LIMIT {MAX_RELATED_TRACES}""",
                                        {k: segment[k] for k in ("a", "b", "keys")}).fetchall()]
    peak = max(m.peak_errors for m in members)
    rate = errors / requests if requests else 0.0
    minutes = (end - first_seen).total_seconds() / 60
    key = f"{KIND}|{cause['attribute']}={cause['value']}|{first_seen.isoformat()}"
    still_open = data_end is not None and end >= data_end.replace(tzinfo=None) - timedelta(minutes=1)
    return Incident(
        incident_id="inc-" + hashlib.sha256(key.encode()).hexdigest()[:16], partition_hour=hour.replace(tzinfo=None),
        service=lead.service, route=lead.route, error_code=lead.error_code, start_time=start, end_time=end,
        first_seen=first_seen, breached_windows=sum(m.breached_windows for m in members), threshold=threshold,
        peak_errors=peak, errors=errors, requests=requests, error_rate=rate, users_affected=int(users or 0),
        p99_ms=p99, severity=severity(peak, threshold, int(users or 0), minutes, rate),
        status="open" if still_open else "resolved", related_traces=traces, related_traces_total=int(trace_total or 0),
        kind=KIND, services=sorted({g[0] for g in groups}), routes=sorted({g[1] for g in groups}),
        error_codes=sorted({g[2] for g in groups if g[2]}), root_cause=dict(cause),
        evidence={"window_minutes": window_minutes, "members": [m.incident_id for m in members],
                  "cause_of": lead.incident_id,
                  "groups": [list(g) for g in groups],
                  "templates": [{"service": m.service, "route": m.route, "error_code": m.error_code,
                                 "template": (m.evidence.get("messages") or [""])[0] or "", "errors": m.errors}
                                for m in sorted(members, key=lambda m: -m.errors)[:8]]})
