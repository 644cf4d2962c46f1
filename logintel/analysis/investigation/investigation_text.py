"""The investigation's few sentences, written offline from its candidates, with the facts each number comes from
(in the shape of the digest's `ItemFacts.to_dict()`, so a layer above grounds them with `ground_text`)."""
from __future__ import annotations

from datetime import datetime

from logintel.analysis.investigation.signal_scores import fault_like

KIND_WORDS = {"self_time": "its own (self) time", "network_gap": "the network gap in front of it",
              "errors": "its errors", "log_pattern": "its log patterns", "resource": "its resource use (metrics)"}


def describe(window: tuple[datetime, datetime], candidates: list[dict], requests: int) -> tuple[str, dict]:
    """(text, facts): the window, the first candidate's evidence, the next two by name."""
    start, end = window
    facts = {"counts": [float(requests)], "percents": [], "durations_ms": [], "values": [],
             "windows": [[start.isoformat(), end.isoformat()]], "attributes": []}
    when = f"Between {start:%H:%M} and {end:%H:%M} UTC on {start:%Y-%m-%d}"
    changed = [c for c in candidates if c.get("changed", True)]
    causes = [c for c in changed if fault_like(c["kind"], c["evidence"])]
    if not causes:
        how = "changed" if not changed else "changed the way a fault does"
        text = f"{when} no service {how} against its baseline ({requests:,} requests examined): nothing stands out."
        hint = next((c for c in candidates if not c.get("changed", True)), None)
        if hint is not None:
            text += (f" The strongest hint, below the bar for a change, is {hint['service']}: "
                     f"{_evidence(hint, facts)}.")
        return text, facts
    first = causes[0]
    text = f"{when} the likeliest cause is {first['service']}: {_evidence(first, facts)}."
    if first.get("explained_by") is None and len(first.get("path") or []) > 1:
        text += f" Its callers waited on it ({' → '.join(first['path'])})."
    others = [c["service"] for c in causes[1:3]]
    if others:
        text += f" Next: {', '.join(others)}."
    return text, facts


def _evidence(candidate: dict, facts: dict) -> str:
    e, kind = candidate["evidence"], candidate["kind"]
    if kind in ("self_time", "network_gap"):
        before, now = e["p90_ms_baseline"], e["p90_ms_window"]
        facts["durations_ms"] += [before, now]
        facts["counts"] += [float(e["over_baseline_p90_window"]), float(e["requests_window"])]
        what = ("self time" if kind == "self_time" else "network gap" if candidate["attribute"] != "calls_gap_ms"
                else "network gap on its calls in and out")
        return (f"its p90 {what} went from {before:.1f} ms to {now:.1f} ms, and {e['over_baseline_p90_window']:,} "
                f"of {e['requests_window']:,} were slower than the baseline's p90")
    if kind == "errors":
        facts["counts"] += [float(e["errors_window"]), float(e["errors_baseline"])]
        return f"{e['errors_window']:,} errors in the window against {e['errors_baseline']:,} in the baseline"
    if kind == "resource":
        facts["values"] += [e["mean_baseline"], e["mean_window"], e["times_baseline"]]
        facts["counts"] += [float(e["points_window"])]
        return (f"its metric {candidate['attribute']} averaged {e['mean_window']:g} over {e['points_window']:,} "
                f"points in the window against {e['mean_baseline']:g} in the baseline ({e['times_baseline']:g} times), "
                f"more than its traffic grew")
    facts["counts"] += [float(e["lines_window"]), float(e["lines_baseline"])]
    change = {"new": "a new log pattern", "vanished": "a log pattern vanished", "more": "a log pattern rose",
              "fewer": "a log pattern fell"}[e["change"]]
    example = (e.get("example") or "")[:80].replace('"', "'")  # a quotation is never a claim: keep it one
    return (f"{change} ({e['lines_window']:,} lines in the window, {e['lines_baseline']:,} in the baseline: "
            f'"{example}")')
