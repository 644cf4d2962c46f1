"""daily_metrics: each day's per-route figures over the hourly tables, with the hours it covers."""
import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import markdown_table
from assets.partitions import daily_asset, partition_day
from logintel.daily.days import hour_key, hours_covered
from logintel.daily.route_metrics import ALL_ROUTES, compute_route_metrics, partition_hours_held, route_days

TOP_ROUTES = 10


@daily_asset(group_name="digest",
             deps=[dg.AssetDep("incidents", partition_mapping=dg.TimeWindowPartitionMapping()),
                   dg.AssetDep("windowed_aggregates", partition_mapping=dg.TimeWindowPartitionMapping())],
             description="Per service and route, for the day and each hour: requests, errors, error rate, "
                         "p50/p95/p99, total and database time, users; changes against the day and the week before. "
                         "A day whose hours are not all materialized says which it covers.")
def daily_metrics(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    day = partition_day(context)
    with warehouse.get_connection() as con:
        covered, missing = hours_covered(day, partition_hours_held(con, day))
        routes = compute_route_metrics(con, day)
        rows = route_days(con, day)
    if missing:
        context.log.warning(f"{day.key}: {len(missing)} of {len(day.hours())} hours have no raw_events "
                            f"({', '.join(hour_key(h) for h in missing[:6])}{' …' if len(missing) > 6 else ''})")
    busiest = sorted((r for r in rows if r["route"] != ALL_ROUTES), key=lambda r: -(r["total_ms"] or 0))[:TOP_ROUTES]
    table = [{"service": r["service"], "route": r["route"], "requests": f"{r['requests']:,}",
              "error rate": f"{100 * r['error_rate']:.2f}%", "p99 ms": f"{r['p99_ms'] or 0:.0f}",
              "total s": f"{(r['total_ms'] or 0) / 1000:,.0f}",
              "requests vs day before": _pct(r["requests_change_vs_day_before"])} for r in busiest]
    return dg.MaterializeResult(metadata={
        "hours_covered": len(covered),
        "hours_missing": dg.MetadataValue.json([hour_key(h) for h in missing]),
        "routes": routes,
        "requests": sum(r["requests"] for r in rows if r["route"] == ALL_ROUTES),
        "errors": sum(r["errors"] for r in rows if r["route"] == ALL_ROUTES),
        "busiest_routes": markdown_table(table, ["service", "route", "requests", "error rate", "p99 ms", "total s",
                                                 "requests vs day before"]),
    })


def _pct(value) -> str:
    return "–" if value is None else f"{value:+.1f}%"
