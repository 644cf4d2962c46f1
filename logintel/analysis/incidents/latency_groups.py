"""One latency incident per slowed component, and none beside an error incident that already tells it.

Routes that slow down in the same minutes because one component did (catalog's starved CPU slows its
own routes and, through its `peer.service=catalog` latency, the gateway's home page) are one incident:
latency incidents that overlap in time and name the same slowed component — their slowest dependency
when one got slower, else their own service — become one incident of kind `latency` whose members fold
into it. A latency incident whose services an error incident of the same minutes covers (a database
that slowed, then timed out) folds into that error incident: the slowness is the start of that story.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from logintel.analysis.incidents.incident import Incident
from logintel.analysis.incidents.latency_incidents import KIND, latency_severity
from logintel.analysis.root_cause.scopes import overlaps


def _overlap(a: Incident, b: Incident) -> bool:
    return overlaps(a.start_time, a.end_time, b.start_time, b.end_time)


def slowed(incident: Incident) -> str:
    """The component the incident itself names: its slowest dependency, else its own service."""
    return incident.evidence.get("slow_service") or incident.service


def deepest(incidents: list[Incident]) -> dict[int, str]:
    """Per incident (by id()), the component at the end of its chain: a route slowed by a service that has a
    latency incident of its own in the same minutes is slowed by what slowed that service (catalog's
    product page by inventory, inventory by orders-db-primary: both by orders-db-primary). The messenger
    is not the cause, as in the root-cause verdict."""
    component = {id(i): slowed(i) for i in incidents}
    for _ in range(len(incidents)):  # chains are short; each pass follows every link one step deeper
        changed = False
        for incident in incidents:
            here = component[id(incident)]
            callee = next((o for o in incidents if o is not incident and o.service == here
                           and component[id(o)] != here and _overlap(incident, o)), None)
            if callee is not None and component[id(callee)] != component[id(incident)]:
                component[id(incident)] = component[id(callee)]
                changed = True
        if not changed:
            break
    return component


def _impact(incident: Incident) -> float:
    """Extra waiting, in request-milliseconds: requests × (p50 during − p50 before)."""
    during, before = incident.evidence.get("p50_ms") or 0.0, (incident.evidence.get("before") or {}).get("p50_ms")
    return incident.requests * max(during - (before if before is not None else during), 0.0)


def _chains(incidents: list[Incident], component: dict[int, str]) -> list[list[Incident]]:
    """Latency incidents slowed by the same component that overlap in time, transitively."""
    chains: list[list[Incident]] = []
    for incident in sorted(incidents, key=lambda i: (i.start_time, i.service, i.route)):
        home = next((c for c in chains if component[id(c[0])] == component[id(incident)]
                     and any(_overlap(incident, o) for o in c)), None)
        if home is None:
            chains.append([incident])
        else:
            home.append(incident)
    return chains


def group_latency(incidents: list[Incident], data_end: datetime | None = None) -> list[Incident]:
    """One incident per chain of two or more route incidents (their members get `merged_into`)."""
    component = deepest(incidents)
    groups = []
    for members in _chains(incidents, component):
        if len(members) < 2:
            continue
        group = _group(members, component[id(members[0])], data_end)
        for member in members:
            member.merged_into = group.incident_id
        groups.append(group)
    return groups


def _group(members: list[Incident], component: str, data_end: datetime | None) -> Incident:
    lead = max(members, key=_impact)
    first_seen = min(m.first_seen for m in members)
    start, end = min(m.start_time for m in members), max(m.end_time for m in members)
    # The verdict of a member whose slowest dependency is the component itself (the caller that saw it).
    named = next((m.root_cause for m in sorted(members, key=_impact, reverse=True)
                  if m.root_cause.get("value") == component), {"kind": "unknown", "evidence": []})
    requests = sum(m.requests for m in members)
    errors = sum(m.errors for m in members)
    ratio = max(m.evidence.get("ratio", 0.0) for m in members)
    key = f"{KIND}|{component}|{first_seen.isoformat()}"
    still_open = data_end is not None and end >= data_end.replace(tzinfo=None) - timedelta(minutes=1)
    ranked = sorted(members, key=_impact, reverse=True)
    return Incident(
        incident_id="inc-" + hashlib.sha256(key.encode()).hexdigest()[:16], partition_hour=lead.partition_hour,
        service=lead.service, route=lead.route, error_code=None, start_time=start, end_time=end,
        first_seen=first_seen, breached_windows=sum(m.breached_windows for m in members), threshold=lead.threshold,
        peak_errors=0, errors=errors, requests=requests, error_rate=errors / requests if requests else 0.0,
        users_affected=sum(m.users_affected for m in members), p99_ms=lead.p99_ms,
        severity=latency_severity(ratio, requests, (end - first_seen).total_seconds() / 60),
        status="open" if still_open else "resolved", kind=KIND,
        services=sorted({m.service for m in members}), routes=sorted({m.route for m in members}),
        root_cause=dict(named),
        evidence=lead.evidence | {"slow_service": component, "members": [m.incident_id for m in ranked],
                                  "groups": [[m.service, m.route, None] for m in ranked],
                                  "lead": {"service": lead.service, "route": lead.route,
                                           "start": lead.start_time.isoformat(), "end": lead.end_time.isoformat()}},
    )


def fold_into_errors(latency: list[Incident], standing: list[Incident]) -> None:
    """Mark each latency incident (not already folded) whose service an overlapping error incident covers as
    merged into it."""
    for incident in latency:
        if incident.merged_into:
            continue
        cover = next((e for e in standing if set(incident.services) & set(e.services) and _overlap(incident, e)), None)
        if cover is not None:
            incident.merged_into = cover.incident_id
