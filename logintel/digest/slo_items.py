"""SLO burn as digest items: the routes that spent their error budget faster than the period allows
(a daily burn rate of 1× or more, on at least MIN_ERRORS errors), and the routes whose hourly p99 was
over the latency objective, with how many hours."""
from __future__ import annotations

from logintel.daily.route_metrics import ALL_ROUTES
from logintel.daily.slo import SloBook
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

MIN_ERRORS = 10
MIN_HOUR_REQUESTS = 20
MAX_ITEMS = 3  # the worst burns; the top issues already tell the rest


def slo_burn_items(burns: list[dict], hours: dict, slos: SloBook) -> list[dict]:
    items = [_availability(b) for b in burns if b["route"] != ALL_ROUTES]
    items += [_latency(key, series, slos) for key, series in hours.items() if key[1] != ALL_ROUTES]
    return sorted((i for i in items if i), key=lambda i: -i["change"]["burn_rate"])[:MAX_ITEMS]


def _availability(b: dict) -> dict | None:
    if b["burn_rate"] < 1 or b["errors"] < MIN_ERRORS:
        return None
    text = (f"{w.where(b['service'], b['route'])} burned its error budget at {b['burn_rate']:.1f}× today "
            f"(error rate {w.percent(b['error_rate'])} against an objective of {w.objective(b['availability_objective'])}): "
            f"{w.percent(b['budget_consumed'])} of the {b['period_days']:.0f}-day budget.")
    facts = ItemFacts(percents=[b["error_rate"] * 100, b["availability_objective"] * 100, b["budget_consumed"] * 100],
                      values=[round(b["burn_rate"], 1), b["burn_rate"], b["period_days"]])
    return _item(b["service"], b["route"], "availability", text, facts, b["burn_rate"])


def _latency(key: tuple[str, str], series: list[tuple], slos: SloBook) -> dict | None:
    service, route = key
    objective = slos.for_route(service, route).p99_ms
    counted = [(hour, p99) for hour, requests, _, _, p99 in series if requests >= MIN_HOUR_REQUESTS and p99 is not None]
    over = [p99 for _, p99 in counted if p99 > objective]
    if not over:
        return None
    text = (f"{w.where(service, route)} p99 was over its {w.duration(objective)} objective in {len(over)} of "
            f"{len(counted)} hours (worst {w.duration(max(over))}).")
    facts = ItemFacts(counts=[len(over), len(counted)], durations_ms=[objective, max(over)])
    return _item(service, route, "latency", text, facts, len(over) / max(len(counted), 1))


def _item(service: str, route: str, objective: str, text: str, facts: ItemFacts, burn_rate: float) -> dict:
    return {"key": f"slo:{objective}:{service}:{route}", "kind": "slo_burn", "service": service, "route": route,
            "metric": "error budget" if objective == "availability" else "p99 objective",
            "change": {"burn_rate": round(burn_rate, 2)}, "text": text,
            "source": f"daily_route_metrics:{service}:{route}:slo_{objective}", "facts": facts}
