"""One incident per cause along the call graph: a failure seen at several hops of a call chain (a card
processor slows → payments times out → orders fails → the storefront fails) blames the deepest hop.

Each hop's own root cause names the callee its failing requests have in common (`peer.service` or
`server.address`: the OpenTelemetry attributes that name the called service). So the chain is followed by
those names, not guessed: an incident whose cause names a service that has an incident of its own in the same
minutes is that service's failure seen from above, and folds into it; inside an incident (its folded members),
the cause is followed down hop by hop while the named callee is itself a failing member. Where it stops is the
deepest: a failing service whose failures name a callee that does not fail on its own (an external dependency,
or one that only slowed), or a service whose failures name no callee. The incident's `root_cause` becomes
that hop's verdict, with `service` (the service it blames), `path` (the callers down to it) and `at` (the
service whose failing requests the verdict was measured on); `seen_as` keeps what the incident named before.
Every standing incident's cause gets `service`: the callee it names, else the incident's own service.
"""
from __future__ import annotations

from logintel.analysis.root_cause.scopes import overlaps
from logintel.analysis.incidents.incident import Incident

# Attributes whose value names the service a failing request called (OpenTelemetry semantic conventions).
CALLEE_ATTRIBUTES = ("peer.service", "server.address")


def callee(incident: Incident) -> str | None:
    """The service this incident's failing requests have in common as their callee, if its cause names one."""
    cause = incident.root_cause or {}
    if cause.get("attribute") in CALLEE_ATTRIBUTES and isinstance(cause.get("value"), str):
        return cause["value"]
    return None


def fold_along_calls(incidents: list[Incident]) -> None:
    """Fold every standing incident whose cause names a service that has a standing incident of its own in the
    same minutes into that incident (the deeper one), then restate each standing incident's cause as the deepest
    hop among its members. Incidents that were already folded elsewhere stay where they are."""
    by_id = {i.incident_id: i for i in incidents}
    standing = [i for i in incidents if not i.merged_into]
    for incident in sorted(standing, key=lambda i: (i.start_time, i.incident_id)):
        named = callee(incident)
        if named is None or incident.merged_into:
            continue
        deeper = [other for other in standing
                  if other is not incident and not other.merged_into and named in other.services
                  and overlaps(incident.start_time, incident.end_time, other.start_time, other.end_time)
                  and not _folds_into(other, incident, by_id)]
        if deeper:
            incident.merged_into = max(deeper, key=lambda other: (other.errors, other.incident_id)).incident_id
    for incident in incidents:
        if not incident.merged_into:
            _descend(incident, _members(incident, incidents))
    for incident in incidents:
        if incident.root_cause is not None and incident.root_cause.get("kind", "unknown") != "unknown":
            incident.root_cause.setdefault("service", callee(incident) or incident.service)


def _folds_into(incident: Incident, target: Incident, by_id: dict[str, Incident]) -> bool:
    """Whether `incident` is (through a chain of folds) already folded into `target`: folding back would loop."""
    seen = set()
    while incident.merged_into and incident.incident_id not in seen:
        seen.add(incident.incident_id)
        if incident.merged_into == target.incident_id:
            return True
        incident = by_id.get(incident.merged_into, incident)
    return False


def _members(lead: Incident, incidents: list[Incident]) -> list[Incident]:
    """`lead` and every incident folded into it, directly or through others."""
    children: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.merged_into:
            children.setdefault(incident.merged_into, []).append(incident)
    found, stack = [lead], [lead.incident_id]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.append(child)
                stack.append(child.incident_id)
    return found


def _descend(lead: Incident, members: list[Incident]) -> None:
    """Follow the lead's cause down through its members while the callee it names fails on its own; restate the
    lead's cause as the deepest hop's when that is another member's, with the path from the top caller."""
    named = callee(lead)
    if named is None:
        return
    failing = {}  # service → the member at that service with the most errors (its cause measured there)
    for member in members:
        for service in ([member.service] if len(member.services) == 1 else []):
            if service not in failing or member.errors > failing[service].errors:
                failing[service] = member
    at = lead.service if lead.service in failing else None
    path = [lead.service]
    hop = lead
    while named is not None and named in failing and named not in path:
        path.append(named)
        hop, at = failing[named], named
        named = callee(hop)
    if named is not None and named not in path:
        path.append(named)
    callers = {callee(m): m.service for m in members if callee(m) and len(m.services) == 1}
    while path[0] in callers and callers[path[0]] not in path:
        path.insert(0, callers[path[0]])
    if len(path) < 3 and hop is lead:
        return  # one hop: the incident's own cause already says it
    seen_as = {k: lead.root_cause.get(k) for k in ("kind", "attribute", "value")}
    lead.root_cause = dict(hop.root_cause) | {"service": path[-1], "path": path, "at": at or hop.service,
                                              "seen_as": seen_as}
