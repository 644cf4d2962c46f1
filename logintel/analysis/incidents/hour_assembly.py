"""All incidents of one hourly partition, one per cause: the rule incidents, the cluster incidents
(groups of several services that burst together and share a cause; a group in the same minutes that
does not carry it is split off), incidents of rule incidents that share a cause, every rule incident
folded into the incident that covers it, and the latency incidents (routes much slower than their
baseline, one per slowed component; folded into an error incident of the same services and minutes); last,
a failure seen at several hops of a call chain becomes one incident blaming the deepest (`call_path`); and
the change incidents (a service whose own behaviour changed sharply in a 5-minute window; folded into an
error or latency incident that holds its service in the same minutes). A cluster incident carries on the previous
hour's only when its cause is the same (`continuation`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import duckdb

from logintel.analysis.incidents.call_path import fold_along_calls
from logintel.analysis.incidents.change_incidents import KIND as CHANGE
from logintel.analysis.incidents.change_incidents import candidates_at_onset, detect_change_incidents, fold_into_standing
from logintel.analysis.incidents.cause_incidents import MIN_COVERAGE, fold_explained, group_by_cause
from logintel.analysis.incidents.cluster_incidents import (
    ClusterCandidate,
    build_cluster_incident,
    cluster_candidates,
    fold_rule_incidents,
    merge_candidates,
)
from logintel.analysis.incidents.continuation import split_changed_causes
from logintel.analysis.incidents.incident import Incident
from logintel.analysis.incidents.incident_onset import onset_window
from logintel.analysis.investigation import InvestigationError, investigate
from logintel.analysis.investigation.investigation import kept_candidates
from logintel.analysis.incidents.latency_groups import fold_into_errors, group_latency
from logintel.analysis.incidents.latency_incidents import detect_latency_incidents
from logintel.analysis.incidents.latency_rules import LatencyRules
from logintel.analysis.incidents.log_twins import fold_log_twins
from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.incidents.window_changes import WindowChange
from logintel.analysis.root_cause import ContrastScope, Episode, RootCause, RootCauseAnalysis, analyse, contrast_scopes
from logintel.analysis.root_cause.scopes import overlaps
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.store.schema import has_table
from logintel.store.warehouse import covered_hours, latest_event_time

HOUR = timedelta(hours=1)

CLUSTER_TABLES = ("pattern_clusters", "event_patterns", "pattern_activity")


@dataclass
class HourIncidents:
    rules: list[Incident]
    clusters: list[Incident]
    notes: list[str] = field(default_factory=list)  # what the run could not do, for its metadata
    root_cause_s: float = 0.0
    latency: list[Incident] = field(default_factory=list)  # per route and per slowed component
    changes: list[Incident] = field(default_factory=list)  # a service's own behaviour changed sharply

    @property
    def all(self) -> list[Incident]:
        return self.clusters + self.rules + self.latency + self.changes

    @property
    def merged(self) -> int:
        return sum(1 for i in self.rules if i.merged_into)


def _by_shared_cause(candidates: list[ClusterCandidate], analysis: RootCauseAnalysis) -> list[list[ClusterCandidate]]:
    """Candidates grouped when they overlap in time and their named causes are the same attribute=value:
    one cause's groups that clustered apart are one incident. Unnamed causes stay on their own."""
    groups: list[list[ClusterCandidate]] = []
    for candidate in sorted(candidates, key=lambda c: c.start):
        cause = analysis.cause(candidate.key)
        home = next((g for g in groups if cause.named and _same_cause(analysis.cause(g[0].key), cause)
                     and any(overlaps(c.start, c.end, candidate.start, candidate.end) for c in g)), None)
        if home is None:
            groups.append([candidate])
        else:
            home.append(candidate)
    return groups


def _same_cause(a: RootCause, b: RootCause) -> bool:
    return a.named and b.named and (a.attribute, a.value) == (b.attribute, b.value)


def _recorded(cause, analysis: RootCauseAnalysis, key: str) -> dict:
    """The verdict as the incident keeps it, with the baselines it was measured against (for grounding)."""
    found = analysis.scopes.get(key)
    baselines = [[a.isoformat(), b.isoformat()] for a, b in found.scope.baselines] if found else []
    return cause.to_dict() | {"baselines": baselines}


# Incidents of earlier hours an hour may change however old they are: an open one the data has passed is resolved
# (`incident.resolve_ended`).
OPEN_INCIDENTS = "status = 'open'"


def incidents_read_back(spec: WindowSpec, latency_rules: LatencyRules = LatencyRules()) -> timedelta:
    """How far before its hour `detect_hour_incidents` reads the incidents table: the previous hour (an incident
    continued), and the latency rules' reach with the windows' lookback (a route's earlier latency incidents kept
    out of its baseline); an hour more, since a row's end may run to its hour's end. With OPEN_INCIDENTS, the hours
    an hour's run can read or change, so a store that copies them need copy no more."""
    return max(HOUR, timedelta(hours=latency_rules.reach_hours) + spec.lookback) + HOUR


def detect_hour_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, thresholds: Thresholds,
                          spec: WindowSpec, redact: Callable[[str], str],
                          latency_rules: LatencyRules = LatencyRules(), changes: bool = True,
                          now: datetime | None = None, examined: list[WindowChange] | None = None) -> HourIncidents:
    """`redact` cleans the example messages kept as evidence (they reach prompts and the UI); `changes`: whether
    to look for change incidents (the setting LOGINTEL_CHANGE_INCIDENTS); `now`: the clock that tells which of the
    hour's windows have ended (by default the wall clock); `examined`: the hour's windows as the window_changes
    step investigated them (None: investigated here, the same way)."""
    data_end = latest_event_time(con)
    rules = detect_incidents(con, hour, thresholds, spec,
                             data_end=data_end + timedelta(microseconds=1) if data_end else None)
    fold_log_twins(con, rules)  # a request failed by its log lines is one incident, not its lines' as well
    slow = detect_latency_incidents(con, hour, latency_rules, spec,
                                    data_end=data_end + timedelta(microseconds=1) if data_end else None)
    notes = []
    if all(has_table(con, name) for name in CLUSTER_TABLES):
        candidates = cluster_candidates(con, hour, threshold=thresholds.default, window_minutes=spec.length_minutes)
    else:
        candidates = []
        notes.append("no pattern clusters in the warehouse (the clusters asset has not run): rule incidents only, "
                     "grouped by their root causes")
    episodes = [Episode(r.incident_id, ((r.service, r.route, r.error_code),), r.start_time, r.end_time, r.first_seen)
                for r in rules] + [Episode(c.key, tuple(c.groups), c.start, c.end, c.start) for c in candidates]
    analysis = analyse(con, contrast_scopes(episodes, covered_hours(con))) if episodes else RootCauseAnalysis()
    for rule in rules:
        rule.root_cause = _recorded(analysis.cause(rule.incident_id), analysis, rule.incident_id)
    clusters, keys = [], {}
    for members in _by_shared_cause(candidates, analysis):
        lead = max(members, key=lambda c: sum(r[6] for r in c.rows))
        cause = analysis.cause(lead.key)
        # Each member keeps the groups its cause covers (the same cause for all of them).
        kept = {g for c in members for g in c.groups
                if not cause.named or analysis.coverage(c.key).get(g, 0.0) >= MIN_COVERAGE}
        candidate = merge_candidates(members)
        keep = None if kept == set(candidate.groups) else kept
        incident = build_cluster_incident(con, hour, candidate, keep, redact, threshold=thresholds.default,
                                          window_minutes=spec.length_minutes, data_end=data_end)
        if incident is None:
            continue
        incident.root_cause = _recorded(cause, analysis, lead.key)
        if keep is not None:
            incident.evidence["split_off"] = [list(g) for g in candidate.groups if g not in keep]
        keys[incident.incident_id] = lead.key
        clusters.append(incident)
    fold_rule_incidents(rules, clusters)
    fold_explained(rules, clusters, analysis, keys)
    grouped = group_by_cause(con, hour, rules, analysis, thresholds.default, spec.length_minutes, data_end)
    found = HourIncidents(rules=rules, clusters=clusters + grouped, notes=notes, root_cause_s=analysis.elapsed_s)
    found.root_cause_s += _measure_again(con, found.clusters, analysis.cardinality)
    found.latency = slow + group_latency(slow, data_end)
    fold_into_errors(found.latency, [i for i in found.clusters + rules if not i.merged_into])
    fold_along_calls(found.clusters + found.rules)
    _rank_candidates(con, [i for i in found.clusters + found.rules if not i.merged_into and len(i.services) > 1])
    split_changed_causes(con, hour, found.clusters, found.clusters + found.rules + found.latency)
    if changes:
        investigated: dict = {}
        found.changes = detect_change_incidents(con, hour, data_end + timedelta(microseconds=1) if data_end else None,
                                                investigated, now=now, examined=examined)
        standing = [i for i in found.all if not i.merged_into and i.kind != CHANGE]
        fold_into_standing(found.changes, standing)
        candidates_at_onset(standing, investigated)
    return found


def _rank_candidates(con: duckdb.DuckDBPyConnection, incidents: list[Incident], limit: int = 5) -> None:
    """Each incident of several services gets `root_cause.candidates`: the services ranked as its cause by an
    investigation of the minutes it began in (`incident_onset`) against the minutes before (`analysis.investigation`, `source` "investigation",
    `score` its z), the first `limit`; the service its cause blames comes first when it has no events of its own
    to be ranked by (an external callee: `source` "call path", `score` the verdict's confidence)."""
    for incident in incidents:
        try:
            onset = onset_window(con, incident)
            found = investigate(con, *onset)
        except InvestigationError as error:
            incident.root_cause["candidates"] = []
            incident.root_cause["candidates_note"] = str(error)
            continue
        ranked = kept_candidates(found.candidates)
        blamed, cause = incident.root_cause.get("service"), incident.root_cause
        if blamed and blamed not in {c["service"] for c in ranked}:  # a callee with no events of its own
            top = (cause.get("evidence") or [{}])[0]
            ranked.insert(0, {"rank": 1, "service": blamed, "kind": cause.get("kind"), "attribute": cause.get("attribute"),
                              "value": cause.get("value"), "score": cause.get("confidence"), "evidence": top,
                              "source": "call path"})
        incident.root_cause["candidates"] = [c | {"rank": n} for n, c in enumerate(ranked[:limit], start=1)]
        incident.root_cause["candidates_window"] = [onset[0].isoformat(), onset[1].isoformat()]


def _measure_again(con: duckdb.DuckDBPyConnection, incidents: list[Incident], cardinality: dict[str, int]) -> float:
    """The numbers of each multi-group incident's cause, measured over exactly its final groups and window
    (after groups were split off or rule incidents joined), against the baselines the cause was found with;
    one more pass over just these incidents."""
    scopes = [ContrastScope(key=i.incident_id, groups=tuple(tuple(g) for g in i.evidence["groups"]),
                            start=i.start_time, end=i.end_time,
                            baselines=tuple((datetime.fromisoformat(a), datetime.fromisoformat(b))
                                            for a, b in i.root_cause.get("baselines", [])))
              for i in incidents if i.root_cause.get("value") is not None]
    if not scopes:
        return 0.0
    again = analyse(con, scopes, cardinality=cardinality, coverage=False)  # only the numbers are wanted
    for incident in incidents:
        if incident.incident_id in again.scopes:
            cause = RootCause(**{k: v for k, v in incident.root_cause.items() if k != "baselines"})
            incident.root_cause = again.restate(cause, incident.incident_id).to_dict() | {
                "baselines": incident.root_cause["baselines"]}
    return again.elapsed_s
