"""Scoring incidents against the simulator's ground truth, the one scorer the demo, the benchmarks and
the tests share: for each labelled scenario, the incidents that overlap it in time and service, and
the one that covers most of its error traces with that one's purity, recall, and whether its text
names the true cause component."""
from __future__ import annotations

from datetime import datetime

from logintel.analysis.incidents.incident import list_incidents
from logintel.store.schema import ERROR_SQL, IN_GROUPS_SQL, group_keys


def _incident_traces(con, incident: dict) -> set[str]:
    keys = group_keys((s, r, c) for s in incident["services"] for r in incident["routes"]
                      for c in (incident["error_codes"] or [""]))
    rows = con.execute(f"""
        SELECT DISTINCT trace_id FROM raw_events
        WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND trace_id IS NOT NULL
          AND {IN_GROUPS_SQL}""",
                       {"a": incident["start_time"], "b": incident["end_time"], "keys": keys}).fetchall()
    return {r[0] for r in rows}


def _overlaps(incident: dict, label) -> bool:
    start, end = datetime.fromisoformat(incident["start_time"]), datetime.fromisoformat(incident["end_time"])
    return (start < label.end.replace(tzinfo=None) and end > label.start.replace(tzinfo=None)
            and incident["service"] in label.services)


def score_scenarios(con, labels) -> list[dict]:
    every = list_incidents(con)
    incidents = [i for i in every if not i.get("merged_into")]
    traces = {i["incident_id"]: _incident_traces(con, i) for i in incidents}
    rows = []
    for label in labels:
        overlapping = [i for i in every if _overlaps(i, label)]
        row = {"scenario": label.scenario, "cause": label.cause, "start": label.start.isoformat(),
               "end": label.end.isoformat(),
               # rule incidents folded into a cluster incident are reached through it
               "incident_ids": [i["incident_id"] for i in overlapping if not i.get("merged_into")],
               "folded": sum(1 for i in overlapping if i.get("merged_into"))}
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
            rows.append(row | {"incident_id": None, "kind": None, "services": 0,
                               "purity": 0.0, "recall": 0.0, "names_cause": False})
            continue
        found = traces[best["incident_id"]]
        text = (best["summary"] + " " + (best.get("root_cause_analysis") or "")).lower()
        rows.append(row | {"incident_id": best["incident_id"], "kind": best["kind"],
                           "services": len(best["services"]),
                           "purity": len(found & truth) / len(found) if found else 0.0,
                           "recall": best_hit / len(error_truth) if error_truth else 0.0,
                           "names_cause": label.cause_component.lower() in text})
    return rows
