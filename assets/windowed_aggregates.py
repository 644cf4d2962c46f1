"""windowed_aggregates: 5-minute sliding windows per (service, route, error_code) for one hour."""
import dagster as dg

from assets.metadata import markdown_table
from assets.partitions import LAKE, LAKE_POOL, hourly_asset, partition_hour
from logintel.analysis.windows import compute_windows, hour_totals, top_error_windows
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource


@hourly_asset(group_name="events", pool=LAKE_POOL, kinds={"iceberg"} if LAKE else {"duckdb"},
              deps=["raw_events"],
              description="Sliding windows (length and step in the settings): requests and errors weighted by "
                          "sample_rate, error rate, p50/p95/p99, distinct users and IPs.")
def windowed_aggregates(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    spec = logintel.window_spec()
    with warehouse.hour_connection(hour, writes=("windowed_aggregates",)) as con:  # the lake's: a run of its own
        report = compute_windows(con, hour, spec)
        top = top_error_windows(con, hour)
        totals = hour_totals(con, hour, spec)
    if not report.lookback_complete:
        context.log.info("previous hour not in the warehouse: the first windows of this hour see only this hour")
    return dg.MaterializeResult(metadata={
        # Numbers, so the UI plots them across partitions: the hour-by-hour trend.
        "requests": totals.requests,
        "errors": totals.errors,
        "error_rate_pct": round(100 * totals.error_rate, 3),
        "worst_p99_ms": round(totals.worst_p99_ms, 1),
        "windows": report.windows,
        "groups": report.groups,
        "events": report.events,
        "window": f"{spec.length_minutes} min, step {spec.step_minutes} min",
        "lookback_complete": report.lookback_complete,
        "elapsed_s": round(report.elapsed_s, 3),
        "top_error_windows": markdown_table(top, ["window", "service", "route", "error_code", "errors",
                                                  "requests", "error_pct", "p99_ms", "users"]),
    })
