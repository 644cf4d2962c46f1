"""An incident carries on from the previous hour only when its cause is the same.

A cluster incident whose burst begins at the top of the hour takes the id of the previous hour's incident that
ran up to it and shares one of its groups (`cluster_incidents._continued_id`). Shared groups are often symptoms:
a service at the top of a call chain fails with every fault below it (on Train-Ticket's day, food's and
execute's errors come with each fault of verification-code, travel, travel2 and route). Two faults one after
the other, at different services, then read as one incident opened for the first: the second is never
announced, and its cause is told under the first one's name.

So the continuation is checked once both parts have their causes: the part of this hour carries on the earlier
one when the service it blames first is one of the three the earlier part blamed first (or their named causes
are the same attribute=value). When either part blames nothing, nothing says the cause changed, and it carries
on. Otherwise it becomes an incident of its own, first seen where its burst began, and what was folded into it
follows it.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.cluster_incidents import cluster_id
from logintel.analysis.incidents.incident import Incident, severity

BLAMED_KEPT = 3


def blamed(cause: dict | None) -> list[str]:
    """The services a cause blames, most likely first: the service it names, then its ranked candidates."""
    cause = cause or {}
    names = [cause.get("service")] + [c.get("service") for c in cause.get("candidates") or []]
    return [n for n in dict.fromkeys(names) if n]


def same_cause(earlier: dict | None, later: dict | None) -> bool:
    """Whether the later part of an incident has the earlier part's cause (see the module's text)."""
    earlier, later = earlier or {}, later or {}
    if earlier.get("value") is not None and (earlier.get("attribute"), earlier.get("value")) == (
            later.get("attribute"), later.get("value")):
        return True
    before, now = blamed(earlier), blamed(later)
    return not before or not now or now[0] in before[:BLAMED_KEPT]


def _previous_causes(con: duckdb.DuckDBPyConnection, hour: datetime, ids: list[str]) -> dict[str, dict]:
    rows = con.execute("""SELECT incident_id, root_cause FROM incidents
                          WHERE partition_hour = $p AND list_contains($ids, incident_id)""",
                       {"p": hour - timedelta(hours=1), "ids": ids}).fetchall()
    return {i: (json.loads(rc) if isinstance(rc, str) else rc) or {} for i, rc in rows}


def split_changed_causes(con: duckdb.DuckDBPyConnection, hour: datetime, incidents: list[Incident],
                         folded: list[Incident]) -> list[str]:
    """Give each cluster incident of this hour that carried on an earlier hour's id a new id of its own when its
    cause is not the earlier part's; the incidents in `folded` merged into it follow. Returns the new ids."""
    carried = [i for i in incidents if i.kind == "cluster" and not i.merged_into and i.first_seen < i.start_time
               and i.start_time < hour.replace(tzinfo=None) + timedelta(hours=1)]
    if not carried:
        return []
    earlier = _previous_causes(con, hour.replace(tzinfo=None), [i.incident_id for i in carried])
    renamed: dict[str, str] = {}
    for incident in carried:
        if incident.incident_id not in earlier or same_cause(earlier[incident.incident_id], incident.root_cause):
            continue
        new_id = cluster_id([tuple(g) for g in incident.evidence.get("groups", [])], incident.start_time)
        renamed[incident.incident_id] = new_id
        incident.evidence["cause_changed_from"] = {"incident_id": incident.incident_id,
                                                   "blamed": blamed(earlier[incident.incident_id])[:BLAMED_KEPT]}
        incident.incident_id, incident.first_seen = new_id, incident.start_time
        minutes = (incident.end_time - incident.start_time).total_seconds() / 60
        incident.severity = severity(incident.peak_errors, incident.threshold, incident.users_affected, minutes,
                                     incident.error_rate)
    for other in folded:
        if other.merged_into in renamed:
            other.merged_into = renamed[other.merged_into]
    return list(renamed.values())
