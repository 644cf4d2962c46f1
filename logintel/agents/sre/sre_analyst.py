"""The SRE analyst: per route, multiwindow burn-rate alerts against the SLO file, time-to-threshold forecasts
of the p99, and slow trends of p99 and error rate (the digest's test, on the same hourly figures)."""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.analyst_spec import Analyst
from logintel.agents.finding import Finding, Scope
from logintel.agents.sre.burn_rate import STEP_MINUTES, BurnAlert, burn_alerts
from logintel.agents.sre.latency_forecast import LatencyForecast, latency_forecasts
from logintel.agents.sre.sre_queries import error_buckets, incidents_between, latency_histograms
from logintel.agents.sre.sre_rules import SreRules
from logintel.daily.slo import SloBook, load_slos
from logintel.daily.trends import SlowTrend, find_slow_trends
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

AGENT = "sre"
DESCRIPTION = (
    "The SRE analyst answers whether the services keep their objectives: routes burning their error budget "
    "too fast by the multiwindow burn-rate rules (a page or a ticket), forecasts of when a route's p99 will "
    "cross its latency objective, and slow climbs of p99 or error rate that no alert caught. It names the "
    "routes, the incidents that go with them, and what to do first.")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def analyse(con: duckdb.DuckDBPyConnection, scope: Scope, rules: SreRules = SreRules(),
            slos: SloBook | None = None) -> AnalystReport:
    slos = slos or load_slos(None)
    report = AnalystReport(AGENT, scope)
    grid_start = scope.end - timedelta(minutes=max(rules.ticket_long_minutes, (scope.end - scope.start).total_seconds() / 60))
    grid_start = min(grid_start, scope.start)
    errors = error_buckets(con, grid_start, scope.end, STEP_MINUTES)
    hist_start = scope.start - DAY - timedelta(hours=rules.forecast_window_hours + 1)
    hist = latency_histograms(con, hist_start, scope.end, rules.forecast_step_minutes)
    routes = {k for k in errors if k[1] != "*"}
    report.examined = {"routes": len(routes), "requests": int(sum(
        c.requests[int((scope.start - grid_start) / timedelta(minutes=STEP_MINUTES)):].sum() for c in errors.values()))}
    if not errors:
        report.notes.append("no raw_events in the scope")
        return report
    incidents = incidents_between(con, scope.start, scope.end)
    for group in burn_groups(burn_alerts(errors, grid_start, scope.start, slos, rules)):
        report.findings.append(_burn_finding(group, scope, incidents))
    for forecast in latency_forecasts(hist, scope.start, scope.end, slos, rules):
        report.findings.append(_forecast_finding(forecast, scope, rules))
    if (scope.start, scope.end) == (scope.day.start, scope.day.end):
        today, before = _route_hours(hist, errors, grid_start, scope.start, scope.end)
        forecast_routes = {(f.entities["services"][0], f.entities["routes"][0]) for f in report.findings
                           if f.kind == "latency_forecast"}
        # An hour's p99 over fewer requests than the forecasts need is its one or two slowest: not a trend.
        for trend in find_slow_trends(today, slos, {"day before": before} if before else None,
                                      min_requests=rules.forecast_min_hour_requests):
            if trend.route != "*":
                report.findings.append(_trend_finding(trend, scope, forecast_routes))
    return report


ANALYST = Analyst(AGENT, DESCRIPTION, SreRules, analyse, takes_slos=True)


def _where(service: str, route: str) -> str:
    return w.where(service, route)


def burn_groups(alerts: list[BurnAlert], gap: timedelta = timedelta(minutes=15)) -> list[list[BurnAlert]]:
    """Pages that start while another is firing (within `gap`) are one page: routes failing together share a
    cause, which the incidents name. Tickets are one per route for the scope."""
    groups: list[list[BurnAlert]] = []
    pages = sorted((a for a in alerts if a.rule.level == "page"), key=lambda a: a.start)
    for alert in pages:
        if groups and alert.start <= max(a.end for a in groups[-1]) + gap:
            groups[-1].append(alert)
        else:
            groups.append([alert])
    tickets: dict[tuple[str, str], list[BurnAlert]] = {}
    for alert in (a for a in alerts if a.rule.level == "ticket"):
        tickets.setdefault((alert.service, alert.route), []).append(alert)
    return groups + list(tickets.values())


def _burn_finding(group: list[BurnAlert], scope: Scope, incidents: list[dict]) -> Finding:
    day = scope.day
    worst = max(group, key=lambda a: a.peak_long)
    rule, level = worst.rule, worst.rule.level
    first, last = min(a.start for a in group), max(a.end for a in group)
    start, end = day.local(first), day.local(last)
    routes = sorted({(a.service, a.route) for a in group})
    long_text, short_text = _minutes(rule.long_minutes), _minutes(rule.short_minutes)
    worst_where = _where(worst.service, worst.route)
    if len(routes) == 1:
        opening = f"{worst_where} burned its error budget"
    else:
        opening = (f"{len(routes)} routes of {', '.join(sorted({s for s, _ in routes}))} burned their error budgets "
                   f"together; the worst, {worst_where},")
    episodes = len(group) if len(routes) == 1 else 0
    text = (f"{opening} {worst.peak_long:.1f}× too fast over {long_text} ({worst.peak_short:.1f}× over {short_text}) "
            f"{w.window(start, end, day.day)}: a {level} by the {rule.burn:g}× rule for its "
            f"{w.objective(worst.availability)} objective; {w.percent(worst.budget_consumed)} of its "
            f"{worst.period_days:.0f}-day budget went in that time"
            + (f", over {episodes} separate spells." if episodes > 1 else "."))
    services = sorted({s for s, _ in routes})
    related = [i["incident_id"] for i in incidents if i["service"] in services
               and i["start"] <= last and i["end"] >= first - timedelta(minutes=rule.long_minutes)]
    facts = ItemFacts(counts=[len(routes), episodes, worst.errors, worst.requests],
                      percents=[worst.budget_consumed * 100, worst.availability * 100],
                      durations_ms=[rule.long_minutes * 60_000, rule.short_minutes * 60_000],
                      values=[round(worst.peak_long, 1), round(worst.peak_short, 1), rule.burn, worst.period_days],
                      windows=[(start, end)])
    action = ("Page the on-call: mitigate first (roll back, fail over, shed load), then find the cause in the "
              "incidents listed here, before the budget runs out." if level == "page" else
              "Open a ticket: the route spends its budget faster than its SLO allows; plan the fix this week.")
    return Finding(
        AGENT, f"burn_rate_{level}", f"{level}|{first:%H:%M}" if level == "page" else f"ticket|{worst.service}|{worst.route}",
        f"{level} · {', '.join(services)}: error budget burning {worst.peak_long:.0f}×", text,
        "high" if level == "page" else "medium",
        confidence=min(1.0, 0.6 + 0.4 * (1 - rule.burn / max(worst.peak_long, rule.burn))),
        entities={"services": services, "routes": sorted({r for _, r in routes})},
        evidence={"rule": {"level": level, "burn": rule.burn, "long_minutes": rule.long_minutes,
                           "short_minutes": rule.short_minutes},
                  "alerts": [{"service": a.service, "route": a.route, "start": a.start.isoformat(),
                              "end": a.end.isoformat(), "peak_burn_long": round(a.peak_long, 2),
                              "peak_burn_short": round(a.peak_short, 2), "errors": a.errors, "requests": a.requests,
                              "budget_consumed": round(a.budget_consumed, 5), "burn_rule": a.rule.burn}
                             for a in sorted(group, key=lambda a: -a.peak_long)],
                  "incident_ids": related, "query": "sre_queries.error_buckets"},
        action=action, facts=facts, window=(first, last), day=day.key)


def _forecast_finding(f: LatencyForecast, scope: Scope, rules: SreRules) -> Finding:
    day = scope.day
    window = (day.local(f.window_start), day.local(f.raised_at))
    lead = (f.breached_at - f.raised_at).total_seconds() / 3600 if f.breached_at else None
    high = f"{f.hours_high:.1f} h" if f.hours_high is not None and f.hours_high < 10 * rules.forecast_horizon_hours \
        else "much later"
    text = (f"{_where(f.service, f.route)} p99 rose {w.window(*window, day.day)} by about "
            f"{w.duration(f.slope_ms_per_hour)} an hour to {w.duration(f.level_ms)}, against an objective of "
            f"{w.duration(f.objective_ms)}: at this rate it crosses the objective in about {f.hours_to_objective:.1f} h "
            f"(between {f.hours_low:.1f} h and {high}).")
    if lead is not None:
        text += f" It went over {lead:.1f} h after this forecast."
    facts = ItemFacts(durations_ms=[f.slope_ms_per_hour, f.level_ms, f.objective_ms,
                                    f.hours_to_objective * 3_600_000, f.hours_low * 3_600_000,
                                    *([f.hours_high * 3_600_000] if f.hours_high is not None else []),
                                    *([lead * 3_600_000] if lead is not None else [])],
                      windows=[window])
    return Finding(
        AGENT, "latency_forecast", f"{f.service}|{f.route}",
        f"forecast · {f.service} {f.route} p99 reaches {f.objective_ms:.0f} ms in ~{f.hours_to_objective:.1f} h",
        text, "high" if f.hours_to_objective <= 2 else "medium",
        confidence=min(1.0, 0.5 + 0.5 * f.tau),
        entities={"services": [f.service], "routes": [f.route]},
        evidence={"raised_at": f.raised_at.isoformat(), "level_ms": round(f.level_ms, 1),
                  "slope_ms_per_hour": round(f.slope_ms_per_hour, 1),
                  "slope_interval": [round(f.slope_low, 1), round(f.slope_high, 1)],
                  "interval_confidence": rules.forecast_interval,
                  "hours_to_objective": round(f.hours_to_objective, 2),
                  "hours_interval": [round(f.hours_low, 2), round(f.hours_high, 2) if f.hours_high else None],
                  "objective_ms": f.objective_ms, "tau": round(f.tau, 3), "diurnal_checked": f.diurnal_checked,
                  "breached_at": f.breached_at.isoformat() if f.breached_at else None,
                  "lead_hours": round(lead, 2) if lead is not None else None, "points": f.points,
                  "query": "sre_queries.latency_histograms"},
        action="Look for what grows with time on this route (memory, queue depth, cache misses, a slow dependency) "
               "and restart or scale it before the p99 crosses its objective.",
        facts=facts, window=(f.window_start, f.raised_at), day=day.key)


def _trend_finding(t: SlowTrend, scope: Scope, forecast_routes: set) -> Finding:
    day = scope.day
    start, end = day.local(t.start_hour), day.local(t.end_hour)
    if t.metric == "p99_ms":
        what = f"p99 crept up from {w.duration(t.start_value)} to {w.duration(t.end_value)}"
        facts = ItemFacts(durations_ms=[t.start_value, t.end_value], percents=[t.relative_change * 100],
                          windows=[(start, end)])
    else:
        what = f"error rate crept up from {w.percent(t.start_value)} to {w.percent(t.end_value)}"
        facts = ItemFacts(percents=[t.start_value * 100, t.end_value * 100, t.relative_change * 100],
                          windows=[(start, end)])
    text = (f"{_where(t.service, t.route)} {what} {w.window(start, end, day.day)}, a steady climb "
            f"(up {t.relative_change * 100:.0f}%) with no alert.")
    return Finding(
        AGENT, "slow_trend", f"{t.service}|{t.route}|{t.metric}",
        f"slow trend · {t.service} {t.route} {t.metric}", text,
        # Without the day before, a night-to-morning climb may be the daily pattern: worth a look, no more.
        "low" if (t.service, t.route) in forecast_routes or not t.diurnal_checked else "medium",
        confidence=min(1.0, max(0.0, 1 - t.p_value)) * min(1.0, t.tau),
        entities={"services": [t.service], "routes": [t.route]},
        evidence={"metric": t.metric, "start_value": t.start_value, "end_value": t.end_value,
                  "slope_per_hour": t.slope_per_hour, "p_value": t.p_value, "tau": t.tau,
                  "diurnal_checked": t.diurnal_checked, "points": t.points, "query": "sre_queries (hourly)"},
        action="Compare the route's releases and dependencies over those hours; a creep like this usually ends "
               "in a breach.", facts=facts, window=(t.start_hour, t.end_hour), day=day.key)


def _minutes(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _route_hours(hist, errors, grid_start: datetime, start: datetime, end: datetime):
    """The hourly (hour, requests, errors, error_rate, p99) series of the day and of the day before."""
    def hours(a: datetime, b: datetime) -> dict:
        series: dict[tuple[str, str], list[tuple]] = {}
        hour = a
        while hour < b:
            i0 = int((hour - hist.start) / timedelta(minutes=hist.step_minutes))
            j0 = int((hour - grid_start) / timedelta(minutes=STEP_MINUTES))
            for key in hist.counts:
                p99, requests = hist.quantile(key, i0, i0 + round(60 / hist.step_minutes))
                counts = errors.get(key)
                failed = float(counts.errors[max(j0, 0):j0 + 12].sum()) if counts is not None and j0 >= 0 else 0.0
                if requests:
                    series.setdefault(key, []).append((hour, requests, failed, failed / requests, p99))
            hour += HOUR
        return series
    today = hours(start, end)
    before = hours(start - DAY, start) if hist.start <= start - DAY else {}
    return today, {k: v for k, v in before.items() if v}
