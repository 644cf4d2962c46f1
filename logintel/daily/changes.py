"""Significant changes of a route's day against the day before and the same weekday a week before.

Error rate: up at least twofold, at least 20 errors today, and a two-proportion z-test p < 0.001 (the
day's errors/requests against the earlier day's). p99: up at least 50% against every earlier day the
warehouse holds, on at least 100 requests. Requests: up or down at least 50% against every earlier day,
on routes with at least 100 requests on one side. Only what moved against all the history there is."""
from __future__ import annotations

import math

from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

MIN_ERRORS = 20
MIN_REQUESTS = 100
RATE_FACTOR = 2.0
P_VALUE = 0.001
P99_RISE = 0.5
TRAFFIC_MOVE = 0.5
EARLIER = (("day_before", "the day before"), ("week_before", "a week before"))


def significant_changes(routes: list[dict]) -> list[dict]:
    items = []
    for row in routes:
        items += [i for i in (_error_rate(row), _p99(row), _requests(row)) if i]
    return sorted(items, key=lambda i: -abs(i["change"]["percent"]))


def two_proportion_p(errors_a: float, n_a: float, errors_b: float, n_b: float) -> float:
    """Two-sided p-value of the z-test that two error rates are equal (pooled variance)."""
    if n_a <= 0 or n_b <= 0:
        return 1.0
    pooled = (errors_a + errors_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return 1.0
    z = (errors_a / n_a - errors_b / n_b) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def _earlier(row: dict, metric: str) -> list[tuple[str, str, float]]:
    return [(when, words, row[f"{metric}_{when}"]) for when, words in EARLIER if row.get(f"{metric}_{when}") is not None]


def _error_rate(row: dict) -> dict | None:
    earlier = _earlier(row, "error_rate")
    if not earlier or row["errors"] < MIN_ERRORS:
        return None
    when, words, before = earlier[0]
    n_before = row[f"requests_{when}"] or 0
    if row["error_rate"] < RATE_FACTOR * before or two_proportion_p(
            row["errors"], row["requests"], before * n_before, n_before) >= P_VALUE:
        return None
    if before == 0:
        text = (f"{w.where(row['service'], row['route'])}: {w.count(row['errors'])} errors today "
                f"({w.percent(row['error_rate'])} of requests), none {words}.")
        return _item(row, "error_rate", text, None, ItemFacts(counts=[row["errors"], 0],
                                                              percents=[row["error_rate"] * 100]))
    change = (row["error_rate"] / before - 1) * 100
    text = (f"{w.where(row['service'], row['route'])} error rate {w.percent(row['error_rate'])} today against "
            f"{w.percent(before)} {words} ({w.change(change)}).")
    return _item(row, "error_rate", text, change,
                 ItemFacts(percents=[row["error_rate"] * 100, before * 100, change]))


def _p99(row: dict) -> dict | None:
    earlier = _earlier(row, "p99_ms")
    if not earlier or row["requests"] < MIN_REQUESTS or not row["p99_ms"]:
        return None
    if any(before <= 0 or row["p99_ms"] < (1 + P99_RISE) * before for _, _, before in earlier):
        return None
    _, words, before = earlier[0]
    change = (row["p99_ms"] / before - 1) * 100
    text = (f"{w.where(row['service'], row['route'])} p99 {w.duration(row['p99_ms'])} today against "
            f"{w.duration(before)} {words} ({w.change(change)}).")
    return _item(row, "p99_ms", text, change, ItemFacts(durations_ms=[row["p99_ms"], before], percents=[change]))


def _requests(row: dict) -> dict | None:
    earlier = _earlier(row, "requests")
    if not earlier or max([row["requests"]] + [b for _, _, b in earlier]) < MIN_REQUESTS:
        return None
    changes = [(row["requests"] / b - 1) if b else math.inf for _, _, b in earlier]
    if not (all(c >= TRAFFIC_MOVE for c in changes) or all(c <= -TRAFFIC_MOVE for c in changes)):
        return None
    _, words, before = earlier[0]
    if not before:
        return None
    change = (row["requests"] / before - 1) * 100
    text = (f"{w.where(row['service'], row['route'])} served {w.count(row['requests'])} requests today against "
            f"{w.count(before)} {words} ({w.change(change)}).")
    return _item(row, "requests", text, change, ItemFacts(counts=[row["requests"], before], percents=[change]))


def _item(row: dict, metric: str, text: str, change: float | None, facts: ItemFacts) -> dict:
    return {"key": f"change:{metric}:{row['service']}:{row['route']}", "kind": "change", "service": row["service"],
            "route": row["route"], "metric": metric,
            "change": {"percent": round(change, 1) if change is not None else math.inf},
            "text": text, "source": f"daily_route_metrics:{row['service']}:{row['route']}:{metric}", "facts": facts}
