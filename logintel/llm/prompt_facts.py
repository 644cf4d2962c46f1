"""The facts an incident's text is written from: aggregates, the top messages and a few redacted
examples with their ids (a rule incident's queried by `hour_facts`) — bounded in size whatever the event volume.

Bound: at most MAX_MESSAGES distinct messages and MAX_EXAMPLES examples, each snippet at most
200 characters, so the facts serialise to under ~4 KB for any incident.
"""
from __future__ import annotations

from datetime import datetime

from logintel.llm.fencing import snippet
from logintel.llm.offline import PERSONAL
from logintel.llm.redaction import Redactor

MAX_MESSAGES = 3
MAX_EXAMPLES = 5
MAX_GROUP_ROUTES = 8  # a latency incident's routes named in its facts, slowest first


def rule_facts(incident, previous: float, messages: list[tuple], examples: list[tuple], redactor: Redactor) -> dict:
    """A rule incident's facts from its previous period's errors, its (message, count) rows, most frequent
    first, and its first (trace_id, ts, status, duration_ms, message) examples."""
    start, end = incident.start_time, incident.end_time
    minutes = max(1, round((end - start).total_seconds() / 60))
    # Figures keep 3 decimals: the writer rounds once, as it writes (1.498% rounded to 1.5 first reads "2%").
    change = None if not previous else round(100.0 * (incident.errors - previous) / previous, 3)
    return {
        "incident_id": incident.incident_id,
        "service": incident.service,
        "route": incident.route,
        "error_code": incident.error_code,
        "window": {"date": f"{start:%Y-%m-%d}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
                   "minutes": minutes, "timezone": "UTC"},
        "errors": incident.errors,
        "requests": incident.requests,
        "error_rate_pct": round(100.0 * incident.error_rate, 3),
        "peak_errors_per_window": incident.peak_errors,
        "window_minutes": incident.evidence.get("window_minutes", 5),
        "threshold": incident.threshold,
        "users_affected": incident.users_affected,
        "p99_ms": round(incident.p99_ms, 3) if incident.p99_ms is not None else None,
        "previous_period_errors": int(previous),
        "change_pct": change,
        "top_messages": [{"message": snippet(redactor.redact(m)), "count": int(n)} for m, n in messages],
        "examples": [{"trace_id": t, "time": f"{ts:%H:%M:%S}", "status": status,
                      "duration_ms": round(d, 1), "message": snippet(redactor.redact(msg)) if msg else None}
                     for t, ts, status, d, msg in examples],
    }


def cluster_facts(incident, redactor: Redactor) -> dict:
    """Facts for a cluster incident: its groups, templates (redacted) and the attributes its errors share."""
    start, end = incident.start_time, incident.end_time
    evidence = incident.evidence
    return {
        "incident_id": incident.incident_id,
        "services": list(incident.services),
        "routes": list(incident.routes),
        "error_codes": list(incident.error_codes),
        "window": {"date": f"{start:%Y-%m-%d}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
                   "minutes": max(1, round((end - start).total_seconds() / 60)), "timezone": "UTC"},
        "errors": incident.errors,
        "peak_errors_per_window": incident.peak_errors,
        "window_minutes": evidence.get("window_minutes", 5),
        "users_affected": incident.users_affected,
        "root_cause": root_cause_facts(incident, redactor),
        "templates": [{**t, "template": snippet(redactor.redact(t["template"]))}
                      for t in evidence.get("templates", [])[:MAX_MESSAGES + 3]],
    }


def root_cause_facts(incident, redactor: Redactor | None) -> dict:
    """The incident's root-cause verdict as computed (kind, attribute=value, confidence, the contrasts),
    its values redacted for an LLM (`redactor`), or as they are for text written here (None)."""
    cause = incident.root_cause or {}

    def redact(value: str) -> str:
        return redactor.redact(value) if redactor is not None else value

    def clean(item: dict) -> dict:
        return {k: redact(v) if k in ("value", "by") and isinstance(v, str) else v for k, v in item.items()}
    # A person's address or id is never the text's to name (the evidence table shows it to operators).
    personal = cause.get("attribute") in PERSONAL
    facts = {"kind": cause.get("kind", "unknown"), "attribute": cause.get("attribute"),
             "value": None if personal or not isinstance(cause.get("value"), str) else redact(cause["value"]),
             "confidence": cause.get("confidence", 0.0), "services": list(incident.services),
             "evidence": [clean(e) for e in cause.get("evidence", [])[:6]]}
    if len(cause.get("path") or []) >= 3:  # followed down a call chain (analysis.incidents.call_path)
        facts["path"], facts["at"] = [redact(s) for s in cause["path"]], redact(cause.get("at") or "")
        facts["services"] = [facts["at"]]  # the verdict's shares are of that hop's failing requests
    if baseline_was_empty(facts["evidence"]):
        facts["baseline_empty"] = True  # "0% before" would be 0 of nothing: there is nothing to compare with
    return facts


def baseline_was_empty(evidence: list[dict]) -> bool:
    """Whether the contrasts were measured against a baseline holding no event (the first hour of data). The
    contrast analysis floors a baseline share at half an event (`analysis.root_cause.statistics.lift`), so a
    value no baseline event carries has a lift of at least twice its failing share; only an empty baseline
    leaves the floor at 1 and the lift equal to the failing share (both rounded as the evidence keeps them)."""
    shares = [e for e in evidence if "share_failing" in e and "lift" in e]
    return bool(shares) and all(e["share_baseline"] == 0 and e["share_failing"] > 0
                                and abs(e["lift"] - e["share_failing"]) <= 0.006 for e in shares)


def latency_facts(incident) -> dict:
    """Facts for a latency incident, from what its detection measured (kept in its evidence): its slowest
    route during it and before its onset, the routes that slowed with it, and its slowest dependency. No
    log text: nothing to redact but names."""
    evidence, cause = incident.evidence, incident.root_cause or {}
    lead = evidence.get("lead") or {"service": incident.service, "route": incident.route,
                                     "start": incident.start_time.isoformat(), "end": incident.end_time.isoformat()}
    start, end = (datetime.fromisoformat(lead[k]) for k in ("start", "end"))
    before = evidence.get("before") or {}
    before_start, onset = (datetime.fromisoformat(before[k]) for k in ("start", "end"))
    members = evidence.get("groups") or []
    return {
        "incident_id": incident.incident_id,
        "service": lead["service"],
        "route": lead["route"],
        "window": {"date": f"{start:%Y-%m-%d}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}",
                   "minutes": _minutes(start, end), "timezone": "UTC"},
        "during": {"p50_ms": evidence.get("p50_ms"), "p99_ms": evidence.get("p99_ms"),
                   "requests": evidence.get("requests", incident.requests),
                   "errors": evidence.get("errors", incident.errors)},
        "before": {"start": f"{before_start:%H:%M}", "hours": round((onset - before_start).total_seconds() / 3600),
                   "p50_ms": before.get("p50_ms"), "p99_ms": before.get("p99_ms"),
                   "requests": before.get("requests", 0)},
        "group": {"routes": [[s, r] for s, r, _ in members[:MAX_GROUP_ROUTES]], "count": len(members),
                  "start": f"{incident.start_time:%H:%M}",
                  "minutes": _minutes(incident.start_time, incident.end_time)} if members else None,
        "slowed": evidence.get("slow_service") or incident.service,
        "dependency": ({"attribute": cause["attribute"], "value": cause["value"]}
                       if cause.get("kind") not in (None, "unknown") and isinstance(cause.get("value"), str) else None),
    }


def _minutes(start: datetime, end: datetime) -> int:
    return max(1, round((end - start).total_seconds() / 60))
