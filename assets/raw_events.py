"""raw_events: one hour of the landing zone, validated and de-duplicated into the warehouse."""
import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import counts_table
from assets.partitions import LAKE, LAKE_POOL, hourly_asset, partition_hour
from logintel.store.lake import open_lake
from logintel.store.lake.hour_load import load_hour_to_lake
from logintel.store.warehouse import load_hour
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings


@hourly_asset(group_name="events", pool=LAKE_POOL, kinds={"iceberg"} if LAKE else {"duckdb"},
              description="Validated wide events of one hour; bad lines go to the dead-letter store with their cause.")
def raw_events(context: dg.AssetExecutionContext, landing: LandingZoneResource, warehouse: DuckDBResource,
               logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    zone = landing.open()
    batch = zone.read_hour(hour, canonical_as_files=True)
    settings = logintel.settings()
    if settings.lake.iceberg:  # a scratch DuckDB of this run, then the hour's commit: no shared file
        lake = open_lake(settings.lake_location)
        report, stored_in = load_hour_to_lake(lake, batch), lake.describe()
    else:
        with warehouse.get_connection() as con:
            report, stored_in = load_hour(con, batch), "the DuckDB warehouse"
    logintel.dead_letters().write(report.dead_letters)
    if report.dead_lettered:
        context.log.warning(f"{report.dead_lettered} lines dead-lettered: {report.by_cause}")
    if not report.accounted():
        raise dg.Failure(f"accounting mismatch in {report.partition}: {report}")
    return dg.MaterializeResult(metadata={
        "landing": zone.describe(),
        "stored_in": stored_in,
        "lines_read": report.lines,
        "loaded": dg.MetadataValue.int(report.loaded),
        "duplicates": report.duplicates,
        "read_fast": dg.MetadataValue.int(report.fast_lines),
        "spans": dg.MetadataValue.int(report.spans),
        "late_span_carriers": dg.MetadataValue.int(report.late_span_carriers),
        "failed_by_logs": dg.MetadataValue.int(report.failed_by_logs),
        "dead_lettered": report.dead_lettered,
        "dead_letters_by_cause": counts_table(report.by_cause, "cause"),
        "elapsed_s": round(report.elapsed_s, 3),
        "events_per_s": round(report.lines / report.elapsed_s) if report.elapsed_s else 0,
    })
