"""Asset checks: raw-event quality (Great Expectations 1.x) and windows that reconcile with raw counts."""
import warnings

import dagster as dg

from assets.metadata import markdown_table
from assets.partitions import LAKE_POOL, hourly_partitions, partition_hour
from assets.raw_events import raw_events
from assets.windowed_aggregates import windowed_aggregates
from logintel.analysis.windows import reconcile
from logintel.store.landing import hour_key
from logintel.store.warehouse import partition_frame
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource

DEAD_LETTER_MAX_SHARE = 0.01

# Partitioned checks are "preview" in Dagster 1.13 but are what makes a check follow its
# asset's hourly partition; the warning would print on every load of the code location.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")


@dg.asset_check(asset=raw_events, partitions_def=hourly_partitions, pool=LAKE_POOL,
                description="Great Expectations: ids, nulls, ranges, timestamps inside the hour, "
                            f"dead letters at most {DEAD_LETTER_MAX_SHARE:.0%} of the lines.")
def raw_events_quality(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                       logintel: LogintelSettings) -> dg.AssetCheckResult:
    from logintel.quality import validate_raw_events  # imports GX (~4 s): only when the check runs
    hour = partition_hour(context)
    with warehouse.lake_connection() as con:  # reads raw_events only: never waits for the DuckDB file
        frame = partition_frame(con, hour)
    dead = sum(logintel.dead_letters().counts_by_cause(partition=hour_key(hour)).values())
    window = context.partition_time_window
    report = validate_raw_events(frame, window.start, window.end, dead_letters=dead,
                                 dead_letter_max_share=DEAD_LETTER_MAX_SHARE)
    failed = [r.expectation for r in report.results if not r.success]
    return dg.AssetCheckResult(
        passed=report.success,
        severity=dg.AssetCheckSeverity.WARN,
        description="all expectations met" if report.success else "failed: " + ", ".join(failed),
        metadata={"rows": report.rows, "dead_letters": dead,
                  "dead_letter_share": round(report.dead_letter_share, 5),
                  "failed_expectations": len(failed), "elapsed_s": round(report.elapsed_s, 3),
                  "report": dg.MetadataValue.md(report.to_markdown())})


@dg.asset_check(asset=windowed_aggregates, partitions_def=hourly_partitions, pool=LAKE_POOL,
                description="The windows that tile the hour add up to the raw partition's weighted requests "
                            "and errors, group by group.")
def windows_reconcile_with_raw(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                               logintel: LogintelSettings) -> dg.AssetCheckResult:
    with warehouse.lake_connection() as con:  # reads raw_events and windows only
        result = reconcile(con, partition_hour(context), logintel.window_spec())
    return dg.AssetCheckResult(
        passed=result["ok"],
        severity=dg.AssetCheckSeverity.ERROR,
        description="windows reconcile with raw counts" if result["ok"]
        else f"{result['mismatched_count']} groups disagree with raw counts",
        metadata={"raw_requests": result["raw_requests"], "window_requests": result["window_requests"],
                  "mismatched_groups": result["mismatched_count"],
                  "mismatches": markdown_table(result["mismatched_groups"],
                                               ["service", "route", "error_code", "raw_requests",
                                                "window_requests", "raw_errors", "window_errors"])})
