"""Scoring incidents against the simulator's ground truth: for each labelled scenario, the incident
that covers most of it, its purity and recall over error events, and whether its text names the
true cause component."""
from __future__ import annotations

from logintel.analysis.cluster_incidents import IN_GROUPS_SQL, group_keys
from logintel.analysis.incidents import list_incidents
from logintel.analysis.windows import ERROR_SQL


def _incident_traces(con, incident: dict) -> set[str]:
    keys = group_keys((s, r, c) for s in incident["services"] for r in incident["routes"]
                      for c in (incident["error_codes"] or [""]))
    rows = con.execute(f"""
        SELECT DISTINCT trace_id FROM raw_events
        WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND trace_id IS NOT NULL
          AND {IN_GROUPS_SQL}""",
                       {"a": incident["start_time"], "b": incident["end_time"], "keys": keys}).fetchall()
    return {r[0] for r in rows}


def score_scenarios(con, labels) -> list[dict]:
    incidents = list_incidents(con, include_merged=False)
    traces = {i["incident_id"]: _incident_traces(con, i) for i in incidents}
    rows = []
    for label in labels:
        truth = set(label.trace_ids)
        error_truth = {r[0] for r in con.execute(f"""
            SELECT DISTINCT trace_id FROM raw_events WHERE {ERROR_SQL} AND list_contains($t, trace_id)""",
                                                 {"t": list(truth)}).fetchall()} if truth else set()
        best, best_hit = None, 0
        for incident in incidents:
            hit = len(traces[incident["incident_id"]] & error_truth)
            if hit > best_hit:
                best, best_hit = incident, hit
        if best is None:
            rows.append({"scenario": label.scenario, "incident_id": None, "kind": None, "services": 0,
                         "purity": 0.0, "recall": 0.0, "names_cause": False})
            continue
        found = traces[best["incident_id"]]
        text = (best["summary"] + " " + (best.get("root_cause_analysis") or "")).lower()
        rows.append({"scenario": label.scenario, "incident_id": best["incident_id"], "kind": best["kind"],
                     "services": len(best["services"]), "purity": len(found & truth) / len(found) if found else 0.0,
                     "recall": best_hit / len(error_truth) if error_truth else 0.0,
                     "names_cause": label.cause_component.lower() in text})
    return rows
