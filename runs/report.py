"""The demo's written outputs: incidents as JSON, and a markdown report against the ground truth."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path


def _overlaps(row: dict, label) -> bool:
    start, end = datetime.fromisoformat(row["start_time"]), datetime.fromisoformat(row["end_time"])
    l_start, l_end = label.start.replace(tzinfo=None), label.end.replace(tzinfo=None)
    return start < l_end and end > l_start and row["service"] in label.services


def match_labels(rows: list[dict], labels) -> list[dict]:
    """For each injected scenario, the incidents that overlap it in time and service."""
    matches = []
    for label in labels:
        found = [r for r in rows if _overlaps(r, label)]
        matches.append({"scenario": label.scenario, "cause": label.cause, "start": label.start.isoformat(),
                        "end": label.end.isoformat(),
                        # rule incidents folded into a cluster incident are reached through it
                        "incident_ids": [r["incident_id"] for r in found if not r.get("merged_into")],
                        "folded": sum(1 for r in found if r.get("merged_into"))})
    return matches


def write_report(settings, rows: list[dict], labels, matches: list[dict]) -> dict:
    out = Path(settings.outputs_dir)
    out.mkdir(parents=True, exist_ok=True)
    incidents_path = out / "incidents.json"
    incidents_path.write_text(json.dumps(rows, indent=2, default=str))
    lines = ["# logintel demo report", "", f"{len(rows)} incidents from threshold rules.", "",
             "| severity | start (UTC) | end | service | route | error code | errors | summary |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['severity']} | {r['start_time'][:16]} | {r['end_time'][11:16]} | {r['service']} | "
                     f"{r['route']} | {r['error_code'] or ''} | {r['errors']} | {r['summary'].replace('|', '/')} |")
    lines += ["", "## Injected scenarios (ground truth)", "",
              "| scenario | window | true cause | incidents found |", "|---|---|---|---|"]
    for m in matches:
        lines.append(f"| {m['scenario']} | {m['start'][11:16]}–{m['end'][11:16]} | {m['cause']} | "
                     f"{', '.join(m['incident_ids']) or '—'} |")
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines) + "\n")
    return {"incidents": incidents_path, "report": report_path}
