"""Resource-efficiency recommendations from the day's per-route figures, each with its estimated saving.

- **Processing time**: the routes with the most total time (requests × mean). Saving: what the route
  would spend if its mean came down to its median, requests × (mean − p50), in CPU-seconds a day — the
  tail above the median is where slow requests and retries cost.
- **Database share**: routes spending at least half their time in the database (`db.duration_ms`).
  Saving: half of that database time (an index, a cache, a batched query), in DB-seconds a day.
- **Retries**: routes called more than once per trace on average (≥ 0.2 extra calls per trace). Saving:
  the extra calls, requests × (1 − traces / traced events), in requests a day.
"""
from __future__ import annotations

from logintel.daily.route_metrics import ALL_ROUTES
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

TOP_ROUTES = 3       # per kind of recommendation; retries get two
MIN_TIME_SHARE = 0.05
DB_SHARE = 0.5
DB_SAVING_FACTOR = 0.5
MIN_RETRIES_PER_TRACE = 0.2
MIN_SAVING_S = 1.0


def recommendations(routes: list[dict]) -> list[dict]:
    """Digest items (text, source, saving, facts) for the day's routes (`metrics.route_days` rows)."""
    rows = [r for r in routes if r["route"] != ALL_ROUTES and r["requests"]]
    total_ms = sum(r["total_ms"] or 0 for r in rows)
    items = []
    for row in sorted(rows, key=lambda r: -(r["total_ms"] or 0))[:TOP_ROUTES]:
        item = _processing_time(row, total_ms)
        if item:
            items.append(item)
    items += _largest([_database_share(r) for r in rows], TOP_ROUTES)
    items += _largest([_retries(r) for r in rows], TOP_ROUTES - 1)
    return items


def _largest(items: list[dict | None], limit: int) -> list[dict]:
    return sorted((i for i in items if i), key=lambda i: -i["saving"]["amount"])[:limit]


def processing_estimate(row: dict, total_ms: float, min_share: float = MIN_TIME_SHARE,
                        min_saving_s: float = MIN_SAVING_S) -> dict | None:
    """The route's share of all processing time, its mean, CPU-seconds and the saving from its mean down
    to its median (requests, total_ms, p50_ms of `row`); None below the floors. The efficiency analyst
    applies the same estimate to its own scope."""
    share = row["total_ms"] / total_ms if total_ms else 0.0
    mean = row["total_ms"] / row["requests"]
    saving_s = row["requests"] * max(mean - (row["p50_ms"] or mean), 0.0) / 1000
    if share < min_share or saving_s < min_saving_s:
        return None
    return {"share": share, "mean_ms": mean, "cpu_s": row["total_ms"] / 1000, "saving_s": saving_s}


def database_estimate(row: dict, min_share: float = DB_SHARE, factor: float = DB_SAVING_FACTOR,
                      min_saving_s: float = MIN_SAVING_S) -> dict | None:
    """The route's database share, database and total seconds, and the saving from cutting its database
    time by `factor`; None below the floors or without database time."""
    if not row["db_ms"] or not row["total_ms"]:
        return None
    share = row["db_ms"] / row["total_ms"]
    saving_s = row["db_ms"] * factor / 1000
    if share < min_share or saving_s < min_saving_s:
        return None
    return {"share": share, "db_s": row["db_ms"] / 1000, "total_s": row["total_ms"] / 1000, "saving_s": saving_s}


def retry_estimate(row: dict, min_per_trace: float = MIN_RETRIES_PER_TRACE, min_saved: float = 1.0) -> dict | None:
    """Calls per trace, the extra ones, and the requests saved by calling once per trace; None below the floors."""
    if not row["traces"] or not row["traced_events"]:
        return None
    per_trace = row["traced_events"] / row["traces"]
    saved = row["requests"] * (1 - row["traces"] / row["traced_events"])
    if per_trace - 1 < min_per_trace or saved < min_saved:
        return None
    return {"per_trace": per_trace, "extra": per_trace - 1, "saved": saved}


def _processing_time(row: dict, total_ms: float) -> dict | None:
    estimate = processing_estimate(row, total_ms)
    if estimate is None:
        return None
    share, mean, cpu_s, saving_s = (estimate[k] for k in ("share", "mean_ms", "cpu_s", "saving_s"))
    text = (f"{w.where(row['service'], row['route'])} spent {w.seconds(cpu_s)} CPU-seconds today "
            f"({w.percent(share)} of all processing time: {w.count(row['requests'])} requests at a mean of "
            f"{w.duration(mean)}); bringing its mean down to its median of {w.duration(row['p50_ms'])} "
            f"would save about {w.seconds(saving_s)} CPU-seconds a day.")
    facts = ItemFacts(counts=[row["requests"]], percents=[share * 100], durations_ms=[mean, row["p50_ms"]],
                      values=[cpu_s, saving_s])
    return _item("processing_time", row, text, saving_s, "cpu_seconds_per_day", facts)


def _database_share(row: dict) -> dict | None:
    estimate = database_estimate(row)
    if estimate is None:
        return None
    share, saving_s = estimate["share"], estimate["saving_s"]
    text = (f"{w.where(row['service'], row['route'])} spends {w.percent(share)} of its time in the database "
            f"({w.seconds(row['db_ms'] / 1000)} of {w.seconds(row['total_ms'] / 1000)} seconds today); halving "
            f"its database time (an index, a cache, fewer queries per request) would save about "
            f"{w.seconds(saving_s)} DB-seconds a day.")
    facts = ItemFacts(percents=[share * 100], durations_ms=[row["db_ms"], row["total_ms"]],
                      values=[row["db_ms"] / 1000, row["total_ms"] / 1000, saving_s])
    return _item("database_share", row, text, saving_s, "db_seconds_per_day", facts)


def _retries(row: dict) -> dict | None:
    estimate = retry_estimate(row)
    if estimate is None:
        return None
    per_trace, extra, saved = estimate["per_trace"], estimate["extra"], estimate["saved"]
    text = (f"{w.where(row['service'], row['route'])} is called {per_trace:.2f} times per trace ({extra:.2f} "
            f"retries per trace); calling it once per trace would save about {w.count(saved)} requests a day.")
    facts = ItemFacts(counts=[saved], values=[per_trace, extra, saved])
    return _item("retries", row, text, saved, "requests_per_day", facts)


def _item(kind: str, row: dict, text: str, amount: float, unit: str, facts: ItemFacts) -> dict:
    metric = {"processing_time": "total_ms", "database_share": "db_ms", "retries": "traces"}[kind]
    return {"key": f"efficiency:{kind}:{row['service']}:{row['route']}", "kind": kind, "service": row["service"],
            "route": row["route"], "text": text, "source": f"daily_route_metrics:{row['service']}:{row['route']}:{metric}",
            "saving": {"amount": round(amount, 1), "unit": unit}, "facts": facts}
