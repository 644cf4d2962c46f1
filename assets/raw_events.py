"""raw_events: one hour of the landing zone, validated and de-duplicated into the warehouse."""
import dagster as dg

from assets.metadata import counts_table
from assets.partitions import LAKE, LAKE_POOL, hourly_asset, partition_hour
from logintel.store.lake.hour_load import HOUR_LOAD_WRITES
from logintel.store.warehouse import load_landed
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource


@hourly_asset(group_name="events", pool=LAKE_POOL, kinds={"iceberg"} if LAKE else {"duckdb"},
              description="Validated wide events of one hour; bad lines go to the dead-letter store with their cause.")
def raw_events(context: dg.AssetExecutionContext, landing: LandingZoneResource, warehouse: WarehouseResource,
               logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    zone = landing.open()
    with warehouse.hour_connection(hour, writes=HOUR_LOAD_WRITES) as con:  # the lake's: a run of its own
        report = load_landed(con, zone, hour)
    logintel.dead_letters().write(report.dead_letters)
    if report.dead_lettered:
        context.log.warning(f"{report.dead_lettered} lines dead-lettered: {report.by_cause}")
    if not report.accounted():
        raise dg.Failure(f"accounting mismatch in {report.partition}: {report}")
    return dg.MaterializeResult(metadata={
        "landing": zone.describe(),
        "stored_in": "Iceberg (the lake)" if LAKE else "the DuckDB warehouse",
        "lines_read": report.lines,
        "loaded": dg.MetadataValue.int(report.loaded),
        "duplicates": report.duplicates,
        "read_fast": dg.MetadataValue.int(report.fast_lines),
        "committed_as_landed": dg.MetadataValue.int(report.adopted_lines),  # columnar segments the lake took whole
        # how the hour was landed: a receiver's small flushes until its sealer merges them into a few columnar ones
        "landing_segments": dg.MetadataValue.int(report.segment_files),
        "columnar_segments": dg.MetadataValue.int(report.columnar_files),
        "spans": dg.MetadataValue.int(report.spans),
        "late_span_carriers": dg.MetadataValue.int(report.late_span_carriers),
        "metric_points": dg.MetadataValue.int(report.metric_points),  # OTLP metrics' data points, off their carriers
        "failed_by_logs": dg.MetadataValue.int(report.failed_by_logs),
        "dead_lettered": report.dead_lettered,
        "dead_letters_by_cause": counts_table(report.by_cause, "cause"),
        "elapsed_s": round(report.elapsed_s, 3),
        "events_per_s": round(report.lines / report.elapsed_s) if report.elapsed_s else 0,
    })
