"""The day's issues, ranked by impact: each incident that was not folded into another, with the rule
incidents folded into it, its cause, its duration and the users it affected.

Impact score = users affected × minutes × severity weight (critical 8, high 4, medium 2, low 1), so an
hour-long outage for hundreds of people outranks a ten-minute blip for a few. Ties go to issues new
today (no incident of the same service and error code in the seven days before), then to more errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.incident import list_incidents
from logintel.daily.days import DigestDay

SEVERITY_WEIGHT = {"critical": 8, "high": 4, "medium": 2, "low": 1}
NEW_LOOKBACK = timedelta(days=7)
TOP_ISSUES = 3


@dataclass
class Issue:
    incident: dict                      # list_incidents' row of the incident the issue is
    folded: list[str] = field(default_factory=list)  # rule incidents folded into it
    minutes: float = 0.0
    score: float = 0.0
    new: bool = True
    last_seen_before: str | None = None  # the start of the last earlier incident of the same service and code

    @property
    def incident_id(self) -> str:
        return self.incident["incident_id"]


def day_issues(con: duckdb.DuckDBPyConnection, day: DigestDay) -> list[Issue]:
    """Every issue that started in the day, highest impact first."""
    incidents = list_incidents(con, include_merged=True)
    start, end = day.start, day.end
    folded: dict[str, list[str]] = {}
    for item in incidents:
        if item["merged_into"]:
            folded.setdefault(item["merged_into"], []).append(item["incident_id"])
    issues = []
    for item in incidents:
        began = datetime.fromisoformat(item["start_time"])
        if item["merged_into"] or not start <= began < end:
            continue
        minutes = (datetime.fromisoformat(item["end_time"]) - began).total_seconds() / 60
        issue = Issue(item, sorted(folded.get(item["incident_id"], [])), minutes=round(minutes, 1))
        issue.score = impact_score(item["users_affected"], minutes, item["severity"])
        earlier = [i["start_time"] for i in incidents if i["incident_id"] != item["incident_id"]
                   and i["merged_into"] != item["incident_id"] and _same_failure(i, item) and began - NEW_LOOKBACK <= datetime.fromisoformat(i["start_time"]) < began]
        issue.new = not earlier
        issue.last_seen_before = max(earlier) if earlier else None
        issues.append(issue)
    return sorted(issues, key=lambda i: (-i.score, not i.new, -i.incident["errors"], i.incident_id))


def impact_score(users: int, minutes: float, severity: str) -> float:
    """Users × minutes × severity weight; an incident shorter than a minute counts as one minute."""
    return float(max(users, 1) * max(minutes, 1.0) * SEVERITY_WEIGHT.get(severity, 1))


def _same_failure(a: dict, b: dict) -> bool:
    codes_a = set(a["error_codes"] or [a["error_code"]]) - {None}
    codes_b = set(b["error_codes"] or [b["error_code"]]) - {None}
    services_a, services_b = set(a["services"] or [a["service"]]), set(b["services"] or [b["service"]])
    return bool(services_a & services_b) and (codes_a & codes_b or not (codes_a or codes_b))
