"""The incident table a terminal shows: one line per incident, its root cause under it."""
from __future__ import annotations

from logintel.analysis.incidents.incident import list_incidents
from logintel.config import Settings
from logintel.store.warehouse_access import open_warehouse


def load_incidents(settings: Settings) -> list[dict] | None:
    """The warehouse's incidents merged across hours (the lake's, when the table format is Iceberg); None when there
    is no warehouse yet."""
    if not settings.warehouse_path.exists():
        return None
    con = open_warehouse(settings, read_only=True)
    try:
        return list_incidents(con)
    finally:
        con.close()


def cause_label(cause: dict | None) -> str:
    """`dependency db.instance=orders-db-primary (confidence 0.97)`, or `unknown`."""
    cause = cause or {}
    if cause.get("value") is None:
        return cause.get("kind") or "unknown"
    return f"{cause['kind']} {cause['attribute']}={cause['value']} (confidence {cause.get('confidence', 0):.2f})"


KIND_LABELS = {"self_time": "self time", "network_gap": "network gap", "errors": "errors", "log_pattern": "log pattern",
               "resource": "resource use"}


def candidates_label(cause: dict | None, limit: int = 3) -> str:
    """Where to look first: `payments (network gap, z 8.0) · orders (errors, z 4.1, hint)`, or ``; with the
    minutes they were ranked over when the incident keeps them (`candidates_window`): `… — over 10:20–10:25`."""
    out = []
    for c in ((cause or {}).get("candidates") or [])[:limit]:
        score = c.get("score")
        what = [KIND_LABELS.get(c.get("kind"), c.get("kind") or "?")]
        if isinstance(score, (int, float)):
            what.append(f"z {score:.1f}" if c.get("source") != "call path" else f"confidence {score:.2f}")
        if c.get("changed") is False:
            what.append("hint")
        out.append(f"{c.get('service')} ({', '.join(what)})")
    window = (cause or {}).get("candidates_window")
    over = f" — over {window[0][11:16]}–{window[1][11:16]}" if out and window and len(window) == 2 else ""
    return " · ".join(out) + over


def format_incident_table(rows: list[dict]) -> str:
    if not rows:
        return "no incidents"
    header = (f"{'severity':<9} {'kind':<9} {'start':<16} {'end':<5} {'incident':<20} {'traces':>6} "
              f"{'grounded':>8}  summary")
    lines = [header, "-" * len(header)]
    for r in rows:
        start = r["start_time"][:16].replace("T", " ")
        g = r.get("grounding") or {}
        grounded = f"{g.get('grounded', 0)}/{g.get('claims', 0)}" if g else "-"
        summary = r["summary"] if not r.get("merged_into") else f"(part of {r['merged_into']}) {r['summary']}"
        lines.append(f"{r['severity']:<9} {r.get('kind', ''):<9} {start:<16} {r['end_time'][11:16]:<5} "
                     f"{r['incident_id']:<20} {r['related_traces_total']:>6} {grounded:>8}  {summary}")
        if r.get("root_cause_analysis") and not r.get("merged_into"):
            lines.append(f"{'':<9} {'':<9} root cause [{cause_label(r.get('root_cause'))}]: {r['root_cause_analysis']}")
        if candidates_label(r.get("root_cause")) and not r.get("merged_into"):
            lines.append(f"{'':<9} {'':<9} where to look: {candidates_label(r.get('root_cause'))}")
    writers = sorted({r["writer"] for r in rows})
    lines.append(f"\nwritten by: {', '.join(writers)}")
    return "\n".join(lines)
