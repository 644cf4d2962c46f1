"""windowed_aggregates: 5-minute sliding windows per (service, route, error_code) for one hour."""
import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import markdown_table
from assets.partitions import WAREHOUSE_POOL, hourly_partitions, partition_hour
from logintel.analysis.windows import compute_windows
from resources.settings import LogintelSettings


@dg.asset(partitions_def=hourly_partitions, pool=WAREHOUSE_POOL, group_name="events", kinds={"duckdb"},
          deps=["raw_events"],
          description="Sliding windows (length and step in the settings): requests and errors weighted by "
                      "sample_rate, error rate, p50/p95/p99, distinct users and IPs.")
def windowed_aggregates(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                        logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    spec = logintel.window_spec()
    with warehouse.get_connection() as con:
        report = compute_windows(con, hour, spec)
        top = con.execute("""
            SELECT strftime(window_start, '%H:%M') || '–' || strftime(window_end, '%H:%M') AS window,
                   service, route, coalesce(error_code, '') AS error_code, errors, requests,
                   round(error_rate * 100, 1) AS error_pct, round(p99_ms) AS p99_ms, distinct_users AS users
            FROM windowed_aggregates WHERE partition_hour = $h AND errors > 0
            ORDER BY errors DESC LIMIT 10""", {"h": hour}).df().to_dict("records")
        totals = con.execute(f"""
            SELECT coalesce(sum(requests), 0), coalesce(sum(errors), 0), max(p99_ms)
            FROM windowed_aggregates
            WHERE partition_hour = $h AND (epoch(window_end)::BIGINT / 60) % {spec.length_minutes} = 0""",
                             {"h": hour}).fetchone()
    if not report.lookback_complete:
        context.log.info("previous hour not in the warehouse: the first windows of this hour see only this hour")
    return dg.MaterializeResult(metadata={
        # Numbers, so the UI plots them across partitions: the hour-by-hour trend.
        "requests": int(totals[0]),
        "errors": int(totals[1]),
        "error_rate_pct": round(100 * totals[1] / totals[0], 3) if totals[0] else 0.0,
        "worst_p99_ms": round(float(totals[2] or 0), 1),
        "windows": report.windows,
        "groups": report.groups,
        "events": report.events,
        "window": f"{spec.length_minutes} min, step {spec.step_minutes} min",
        "lookback_complete": report.lookback_complete,
        "elapsed_s": round(report.elapsed_s, 3),
        "top_error_windows": markdown_table(top, ["window", "service", "route", "error_code", "errors",
                                                  "requests", "error_pct", "p99_ms", "users"]),
    })
