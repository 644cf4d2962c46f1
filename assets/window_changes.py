"""window_changes: each 5-minute window of the hour investigated against the minutes before it — the costly half
of the change incidents, a function of the hour's events alone, so on the lake any number of hours run it at once;
the incidents step reads the result."""
import dagster as dg

from assets.metadata import markdown_table
from assets.partitions import LAKE, LAKE_POOL, hourly_asset, partition_hour
from logintel.analysis.incidents.window_changes import EXAMINED, examine_hour, replace_window_changes
from logintel.views.window_table import window_rows
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource


@hourly_asset(group_name="incidents", pool=LAKE_POOL, kinds={"iceberg"} if LAKE else {"duckdb"},
              deps=["raw_events"],
              description="The hour's 5-minute windows, each investigated against the 10 minutes before it: the "
                          "services ranked by how their own behaviour changed, from which the incidents step opens "
                          "change incidents.")
def window_changes(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                   logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    if not logintel.settings().change_incidents:
        return dg.MaterializeResult(metadata={"windows": 0, "note": "change incidents are off "
                                                                    "(LOGINTEL_CHANGE_INCIDENTS=false)"})
    with warehouse.hour_connection(hour, writes=("window_changes",)) as con:  # the lake's: a run of its own
        windows = examine_hour(con, hour)
        replace_window_changes(con, hour, windows)
    rows = window_rows(windows)
    return dg.MaterializeResult(metadata={
        "windows": len(windows),
        "examined": sum(w.status == EXAMINED for w in windows),
        "opening_change_incidents": sum(r["opens a change incident"] == "yes" for r in rows),
        "window_table": markdown_table(rows, ["window", "status", "requests", "first", "opens a change incident"]),
    })
