"""The demo's written outputs: incidents as JSON, and a markdown report against the ground truth."""
from __future__ import annotations

import json
from pathlib import Path

from logintel.analysis.ground_truth import score_scenarios
from logintel.analysis.incidents.incident import list_incidents
from logintel.config import Settings
from logintel.store.warehouse_access import open_warehouse


def scored_incidents(settings: Settings, labels) -> tuple[list[dict], list[dict]]:
    """The incidents (merged across hours, the lake's when the table format is Iceberg) and each labelled
    scenario's score; empty without a warehouse."""
    if not settings.warehouse_path.exists():
        return [], []
    # Read-write like the runs before it in the same process: DuckDB refuses a second configuration for a
    # file that a connection (say one kept alive by a failed step's traceback) still holds open.
    con = open_warehouse(settings)
    try:
        return list_incidents(con), score_scenarios(con, labels)
    finally:
        con.close()


def write_report(outputs_dir: Path, rows: list[dict], scores: list[dict]) -> dict:
    out = Path(outputs_dir)
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
    for m in scores:
        lines.append(f"| {m['scenario']} | {m['start'][11:16]}–{m['end'][11:16]} | {m['cause']} | "
                     f"{', '.join(m['incident_ids']) or '—'} |")
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines) + "\n")
    return {"incidents": incidents_path, "report": report_path}
