"""Change incidents: a service whose own behaviour changed sharply in a 5-minute window, with no error burst
or slowdown past a fixed threshold needed.

Rule and latency incidents wait for errors over a threshold or a route far slower than its past hours. A fault
that makes a service take another code path (a value returned wrong, an exception caught and logged), starve
for CPU on a handful of requests, or stop calling what it called, opens neither. Every 5-minute window of the
hour is investigated against the 10 minutes before it (`window_changes`, a step of its own that hours run at once;
`analysis.investigation`: the same statistics, one scale for every kind of change, the deepest unexplained
service first); the first-ranked service opens a change
incident when its change is a fault's (not merely other info lines, nor fewer warnings), unexplained by a
service below it, and beyond what a day of such comparisons shows by chance:

- `OPEN_Z` = 5: a window compares some tens of services and signals, 288 windows a day, so ~30,000 tests a
  day; one reaching z 5 by chance (p 3·10⁻⁷) is expected about once in a hundred days.
- a count must at least double per request (`MIN_RATE_RATIO`) — at thousands of requests a few more errors is
  significant and no fault — and a latency shift be 1.5× (the investigation's own rule).

Consecutive windows blaming one service are one incident. A change incident whose service an error or latency
incident of the same minutes already holds folds into it (that incident tells it; it gains the change's ranked
candidates when it has none).
"""
from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb

from logintel.analysis.incidents.incident import Incident
from logintel.analysis.incidents.window_changes import (CANDIDATES_KEPT, EXAMINED, WINDOW, WindowChange,
                                                        examine_windows)
from logintel.analysis.investigation.investigation import kept_candidates
from logintel.analysis.investigation.signal_scores import fault_like
from logintel.analysis.root_cause.scopes import overlaps

KIND = "change"
OPEN_Z = 5.0
MIN_RATE_RATIO = 2.0


def detect_change_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, data_end: datetime | None = None,
                            investigated: dict[datetime, list[dict]] | None = None,
                            now: datetime | None = None, examined: list[WindowChange] | None = None) -> list[Incident]:
    """The hour's change incidents, from its 5-minute windows whose events are in (`window_changes`: `examined`, as
    the window_changes step left them, else investigated here; `now` the clock, UTC, by default the wall clock).
    Given `investigated`, each window's ranked candidates are left there too, by the window's start (what
    `candidates_at_onset` gives the hour's other incidents)."""
    if examined is None:
        examined = examine_windows(con, hour, data_end, now)
    start = hour.replace(tzinfo=None, minute=0, second=0, microsecond=0)
    found: list[tuple[datetime, dict, dict]] = []  # (window start, the opening candidate, the investigation)
    for window in examined:
        if window.status != EXAMINED:
            continue
        if investigated is not None:
            investigated[window.start] = kept_candidates(window.candidates, CANDIDATES_KEPT)
        first = opening(window.candidates)
        if first is not None:
            found.append((window.start, first, window.investigation))
    return _incidents(start, found)


def opening(candidates: list[dict]) -> dict | None:
    """The first candidate when it is a fault's change, unexplained and sharp enough to open an incident."""
    if not candidates:
        return None
    first = candidates[0]
    if not first.get("changed") or first.get("explained_by") or first["score"] < OPEN_Z:
        return None
    if not fault_like(first["kind"], first["evidence"]) or not _large(first):
        return None
    return first


def _large(candidate: dict) -> bool:
    """A count's rate per request at least doubled (a template that vanished fell by all of it); latency shifts
    were held to their ratio by the investigation already."""
    e = candidate["evidence"]
    if candidate["kind"] == "errors":
        window, base = e["errors_window"], e["errors_baseline"]
        exp_w, exp_b = e["exposure_window"], e["exposure_baseline"]
    elif candidate["kind"] == "log_pattern":
        window, base = e["lines_window"], e["lines_baseline"]
        exp_w, exp_b = e["exposure_window"], e["exposure_baseline"]
        if e.get("change") in ("fewer", "vanished"):
            window, base, exp_w, exp_b = base, window, exp_b, exp_w  # the fall, read as the rise it undoes
    else:
        return True
    if not exp_w or not exp_b:
        return False
    return window / exp_w >= MIN_RATE_RATIO * (base / exp_b) if base else window > 0


def _incidents(hour: datetime, found: list[tuple[datetime, dict, dict]]) -> list[Incident]:
    """Consecutive windows blaming the same service, as one incident each."""
    runs: list[list[tuple[datetime, dict, dict]]] = []
    for item in found:
        last = runs[-1][-1] if runs else None
        if last is not None and last[1]["service"] == item[1]["service"] and item[0] - last[0] <= WINDOW:
            runs[-1].append(item)
        else:
            runs.append([item])
    return [_incident(hour, run) for run in runs]


def _incident(hour: datetime, run: list[tuple[datetime, dict, dict]]) -> Incident:
    first_start, lead, found = max(run, key=lambda item: item[1]["score"])
    start, end = run[0][0], run[-1][0] + WINDOW
    service = lead["service"]
    key = f"{KIND}|{service}|{start.isoformat()}"
    route = (lead["evidence"] or {}).get("route") or "*"
    errors = int((lead["evidence"] or {}).get("errors_window") or 0)
    return Incident(
        incident_id="inc-" + hashlib.sha256(key.encode()).hexdigest()[:16], partition_hour=hour, service=service,
        route=route, error_code=None, start_time=start, end_time=end, first_seen=start,
        breached_windows=len(run), threshold=OPEN_Z, peak_errors=errors, errors=errors,
        requests=int(found["window"].get("requests") or 0), severity="high" if lead["score"] >= 8 else "medium",
        kind=KIND, services=[service], routes=[route],
        evidence={"window": found["window"], "baseline": found["baseline"], "text": found["text"],
                  "facts": found["facts"], "windows": [item[0].isoformat() for item in run]},
        root_cause={"kind": KIND, "attribute": lead["attribute"], "value": lead["value"], "service": service,
                    "confidence": min(lead["score"] / 8.0, 1.0), "path": lead["path"],
                    "candidates": kept_candidates(found["candidates"], CANDIDATES_KEPT)})


def fold_into_standing(changes: list[Incident], standing: list[Incident]) -> None:
    """A change incident whose service an error or latency incident of the same minutes holds folds into it;
    that incident gains the change's ranked candidates when it has none of its own."""
    for change in changes:
        cover = next((i for i in standing if change.service in i.services
                      and overlaps(change.start_time, change.end_time, i.start_time, i.end_time)), None)
        if cover is not None:
            change.merged_into = cover.incident_id
            if cover.root_cause is not None and not cover.root_cause.get("candidates"):
                cover.root_cause["candidates"] = change.root_cause["candidates"]


def candidates_at_onset(incidents: list[Incident], investigated: dict[datetime, list[dict]]) -> None:
    """Each incident without ranked candidates gets those of the 5-minute window it began in (the change step's
    investigation of that window against the 10 minutes before): where to look first, beside the cause its own
    analysis found, for an incident of one service too. An incident that began before the hour keeps none."""
    for incident in incidents:
        if incident.root_cause is None or incident.root_cause.get("candidates"):
            continue
        start = incident.start_time
        onset = start.replace(minute=start.minute - start.minute % 5, second=0, microsecond=0)
        ranked = investigated.get(onset)
        if ranked:
            incident.root_cause["candidates"] = ranked
            incident.root_cause["candidates_window"] = [onset.isoformat(), (onset + WINDOW).isoformat()]
