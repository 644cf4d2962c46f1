"""Everything the digest states, computed before a word is written: the top issues with their impact,
the anomaly trends, the efficiency recommendations and what the pipeline did, each an item with its
text (the offline writer's sentence), its source and the facts its grounding checks against."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from logintel.daily.changes import significant_changes
from logintel.daily.days import DigestDay, hours_covered
from logintel.daily.route_metrics import ALL_ROUTES, partition_hours_held, route_days, route_hours
from logintel.daily.savings import recommendations
from logintel.daily.slo import SloBook, burn
from logintel.digest.finding_items import finding_items
from logintel.digest.issues import TOP_ISSUES, Issue, day_issues
from logintel.digest.new_templates import new_templates
from logintel.digest.pipeline import pipeline_health
from logintel.digest.slo_items import slo_burn_items
from logintel.digest.trend_items import history_for, slow_trend_items, traffic_drop_items
from logintel.store.findings import finding_documents
from logintel.store.state_store import StateStore
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

MAX_TRENDS = 10
CHART_SERVICES = 5


@dataclass
class DigestFacts:
    day: DigestDay
    covered: list[datetime]
    missing: list[datetime]
    issues: list[dict] = field(default_factory=list)
    trends: list[dict] = field(default_factory=list)
    recommendations: list[dict] = field(default_factory=list)
    pipeline: dict = field(default_factory=dict)
    charts: dict = field(default_factory=dict)
    slo: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def items(self) -> list[dict]:
        """Every item with a sentence, in the digest's order."""
        return [*self.issues, *self.trends, *self.recommendations, *([self.pipeline] if self.pipeline else [])]


def gather_facts(con: duckdb.DuckDBPyConnection, day: DigestDay, slos: SloBook, *, dead_letter_dir: Path,
                 dumps_dir: Path, state: StateStore) -> DigestFacts:
    """The day's facts from the warehouse (`daily_route_metrics` must hold the day: `compute_route_metrics`) and,
    for what the LLM calls cost, the state store."""
    covered, missing = hours_covered(day, partition_hours_held(con, day))
    facts = DigestFacts(day, covered, missing)
    routes = route_days(con, day)
    hours = route_hours(con, day)
    history = history_for(lambda days: route_hours(con, day.previous(days)))
    facts.slo = [burn(slos.for_route(r["service"], r["route"]), r["requests"], r["errors"], r["p99_ms"],
                      hours=max(len(covered), 1)) | {"service": r["service"], "route": r["route"], "errors": r["errors"]}
                 for r in routes]
    requests_by_route = {(r["service"], r["route"]): r["requests"] for r in routes}
    facts.issues = [_issue_item(issue, rank, day, slos, requests_by_route)
                    for rank, issue in enumerate(day_issues(con, day)[:TOP_ISSUES], start=1)]
    # The analysts' findings, when their runs wrote any for the day, lead: an attack or a forecast breach
    # is what the reader must not miss.
    finding_trends, finding_recommendations = finding_items(finding_documents(con, day.key))
    trends = (finding_trends + slow_trend_items(hours, slos, history, day) + slo_burn_items(facts.slo, hours, slos)
              + significant_changes(routes) + traffic_drop_items(hours, history, covered, day) + new_templates(con, day))
    facts.trends = trends[:MAX_TRENDS]
    if len(trends) > MAX_TRENDS:
        facts.notes.append(f"{len(trends) - MAX_TRENDS} more trends were found than the digest shows")
    facts.recommendations = finding_recommendations + recommendations(routes)
    facts.pipeline = pipeline_health(con, day, dead_letter_dir, dumps_dir, state)
    facts.charts = {"services": _service_points(hours, routes, day),
                    "trends": [t["chart"] for t in facts.trends if t.get("chart")]}
    return facts


def _issue_item(issue: Issue, rank: int, day: DigestDay, slos: SloBook, requests: dict) -> dict:
    inc = issue.incident
    services = inc["services"] or [inc["service"]]
    codes = inc["error_codes"] or ([inc["error_code"]] if inc["error_code"] else [])
    start, end = (day.local(datetime.fromisoformat(inc[k])) for k in ("start_time", "end_time"))
    slo = slos.for_route(inc["service"], inc["route"])
    day_requests = requests.get((inc["service"], inc["route"])) or inc["requests"]
    budget = burn(slo, day_requests, inc["errors"], None, hours=len(day.hours()))["budget_consumed"]
    cause = inc.get("root_cause") or {}
    where = ", ".join(services) if len(services) > 1 else w.where(inc["service"], inc["route"])
    text = (f"{where}: {w.count(inc['errors'])} errors ({', '.join(codes) or 'no error code'}) from "
            f"{w.clock(start)} to {w.clock(end)}, {w.count(inc['users_affected'])} users affected over "
            f"{issue.minutes:.0f} min, {w.percent(budget)} of the {slo.period_days:.0f}-day error budget")
    attributes = set()
    if cause.get("value") is not None and cause.get("kind") not in (None, "unknown"):
        text += (f"; cause: {cause['kind']}, {cause['attribute']}={cause['value']} "
                 f"(confidence {cause.get('confidence', 0):.2f})")
        attributes.add((cause["attribute"], str(cause["value"])))
    else:
        text += "; no single cause stood out"
    text += "." if issue.new else f"; seen before ({issue.last_seen_before[:10]})."
    facts = ItemFacts(counts=[inc["errors"], inc["users_affected"]], percents=[budget * 100],
                      durations_ms=[issue.minutes * 60_000], values=[round(cause.get("confidence") or 0, 2), slo.period_days],
                      windows=[(start, end)], attributes=attributes)
    title = f"{inc['severity']} · {', '.join(services)} · {', '.join(codes) or inc['kind']}"
    return {"key": f"issue:{inc['incident_id']}", "rank": rank, "title": title, "text": text,
            "source": f"incident:{inc['incident_id']}", "incident_ids": [inc["incident_id"], *issue.folded],
            "service": inc["service"], "route": inc["route"], "new": issue.new,
            "impact": {"score": issue.score, "budget_consumed": budget, "users": inc["users_affected"],
                       "minutes": issue.minutes, "severity": inc["severity"], "errors": inc["errors"]},
            "cause": {k: cause.get(k) for k in ("kind", "attribute", "value", "confidence")} if cause else None,
            "facts": facts}


def _service_points(hours: dict, routes: list[dict], day: DigestDay) -> dict[str, list[dict]]:
    """Hourly requests, error rate and p99 of the busiest services, for the charts."""
    busiest = sorted((r for r in routes if r["route"] == ALL_ROUTES), key=lambda r: -r["requests"])[:CHART_SERVICES]
    return {r["service"]: [{"hour": h.isoformat(), "requests": n, "error_rate": rate, "p99_ms": p99}
                           for h, n, _, rate, p99 in hours.get((r["service"], ALL_ROUTES), [])]
            for r in busiest}
