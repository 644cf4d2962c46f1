"""Slow trends and traffic drops as digest items: the sentence, its facts and its chart series."""
from __future__ import annotations

from logintel.daily.days import DigestDay
from logintel.daily.route_metrics import ALL_ROUTES
from logintel.daily.slo import SloBook
from logintel.daily.traffic_drops import TrafficDrop, find_traffic_drops
from logintel.daily.trends import SlowTrend, find_slow_trends
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

P_SHOWN = 0.001


def history_for(route_hours_of) -> dict:
    """The trend and traffic tests' history: route_hours of the day and the week before, keyed as they want."""
    return {"day before": route_hours_of(1), "week before": route_hours_of(7)}


def slow_trend_items(hours: dict, slos: SloBook, history: dict, day: DigestDay) -> list[dict]:
    """One item per trend; a service's own trend is left out when one of its routes has it (the route says more)."""
    trends = find_slow_trends(hours, slos, history)
    routed = {(t.service, t.metric) for t in trends if t.route != ALL_ROUTES}
    return [_trend_item(t, day) for t in trends if t.route != ALL_ROUTES or (t.service, t.metric) not in routed]


def _trend_item(t: SlowTrend, day: DigestDay) -> dict:
    latency = t.metric == "p99_ms"
    shown = w.duration if latency else w.percent
    start, end = day.local(t.start_hour), day.local(t.end_hour)
    change = t.relative_change * 100
    # p: the slope test's (Bonferroni over the windows tried); tau: Mann–Kendall's, how steady the rise is.
    p_text = f"p < {P_SHOWN}" if t.p_value < P_SHOWN else f"p = {t.p_value:.3f}"
    text = (f"{w.where(t.service, t.route)} {'p99' if latency else 'error rate'} crept up from {shown(t.start_value)} "
            f"to {shown(t.end_value)} between {w.clock(start)} and {w.clock(end)} ({w.change(change)}, "
            f"slope {p_text}, Kendall tau {t.tau:.2f}")
    text += ", no diurnal history to compare)" if not t.diurnal_checked else ", beyond the same hours before)"
    facts = ItemFacts(percents=[change], values=[P_SHOWN, round(t.p_value, 3), round(t.tau, 2)], windows=[(start, end)])
    if latency:
        facts.durations_ms += [t.start_value, t.end_value, t.objective]
    else:
        facts.percents += [t.start_value * 100, t.end_value * 100, t.objective * 100]
    if t.hours_to_objective is not None:
        text += f"; at this pace it reaches its {shown(t.objective)} objective in {t.hours_to_objective:.1f} h."
        facts.durations_ms.append(t.hours_to_objective * 3_600_000)
    elif t.end_value >= t.objective:
        text += f"; it is over its {shown(t.objective)} objective."
    else:
        text += "."
    key = f"trend:{t.metric}:{t.service}:{t.route}"
    label = f"{w.where(t.service, t.route)} {'p99 (ms)' if latency else 'error rate'}"
    return {"key": key, "kind": "slow_trend", "service": t.service, "route": t.route, "metric": t.metric,
            "change": {"percent": round(change, 1), "slope_per_hour": round(t.slope_per_hour, 4)},
            "p_value": t.p_value, "tau": t.tau, "hours_to_objective": t.hours_to_objective,
            "diurnal_checked": t.diurnal_checked, "start": t.start_hour.isoformat(), "end": t.end_hour.isoformat(),
            "text": text, "source": f"daily_route_metrics:{t.service}:{t.route}:{t.metric}:hourly", "facts": facts,
            "chart": {"key": key, "label": label, "points": [list(p) for p in t.points], "limit": t.objective}}


def traffic_drop_items(hours: dict, history: dict, covered: list, day: DigestDay) -> list[dict]:
    return [_drop_item(d, day) for d in find_traffic_drops(hours, history, covered)]


def _drop_item(d: TrafficDrop, day: DigestDay) -> dict:
    start, end = day.local(d.start_hour), day.local(d.end_hour)
    if d.quiet:
        what = f"went quiet between {w.clock(start)} and {w.clock(end)}: no requests where {w.count(d.expected)} were expected"
    else:
        what = (f"dropped {w.percent(d.drop_share)} between {w.clock(start)} and {w.clock(end)}: "
                f"{w.count(d.observed)} requests where {w.count(d.expected)} were expected")
    text = f"{w.where(d.service, d.route)} {what} (from the {d.basis})." if d.basis != "own median" else \
        f"{w.where(d.service, d.route)} {what} (from its median hour of the day)."
    facts = ItemFacts(counts=[d.observed, d.expected], percents=[d.drop_share * 100], windows=[(start, end)])
    return {"key": f"traffic:{d.service}:{d.route}:{d.start_hour:%H}", "kind": "traffic_drop", "service": d.service,
            "route": d.route, "metric": "requests", "change": {"percent": round(-100 * d.drop_share, 1)},
            "basis": d.basis, "start": d.start_hour.isoformat(), "end": d.end_hour.isoformat(), "text": text,
            "source": f"daily_route_metrics:{d.service}:{d.route}:requests:hourly", "facts": facts}
