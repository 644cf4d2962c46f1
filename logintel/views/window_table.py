"""The table of an hour's examined windows the window_changes step shows in the UI: one row per 5-minute window,
what came first in it and whether that opens a change incident."""
from __future__ import annotations

from logintel.analysis.incidents.change_incidents import opening
from logintel.analysis.incidents.window_changes import EXAMINED, WindowChange
from logintel.views.incident_table import KIND_LABELS


def window_rows(windows: list[WindowChange]) -> list[dict]:
    rows = []
    for w in windows:
        row = {"window": f"{w.start:%H:%M}–{w.end:%H:%M}", "status": w.status, "requests": "", "first": "",
               "opens a change incident": ""}
        if w.status != EXAMINED:
            row["first"] = (w.investigation or {}).get("reason", "")
        else:
            row["requests"] = (w.investigation.get("window") or {}).get("requests", "")
            first = w.candidates[0] if w.candidates else None
            if first is not None:
                score = first.get("score")
                row["first"] = (f"{first['service']} ({KIND_LABELS.get(first.get('kind'), first.get('kind'))}"
                                + (f", z {score:.1f}" if isinstance(score, (int, float)) else "")
                                + ("" if first.get("changed") else ", unchanged") + ")")
            row["opens a change incident"] = "yes" if opening(w.candidates) else "no"
        rows.append(row)
    return rows
