"""incidents: groups over their error threshold, consecutive windows merged, with a one-line summary."""
from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import markdown_table
from assets.partitions import WAREHOUSE_POOL, hourly_partitions, partition_hour
from logintel.analysis.incidents import detect_incidents, replace_incidents
from resources.settings import LogintelSettings


@dg.asset(partitions_def=hourly_partitions, pool=WAREHOUSE_POOL, group_name="incidents", kinds={"duckdb"},
          deps=["windowed_aggregates"],
          description="Rule incidents: every (service, route, error_code) whose errors in a window exceed its "
                      "threshold; one incident per run of consecutive breaching windows, stable ids across hours.")
def incidents(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
              logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    with warehouse.get_connection() as con:
        data_end = con.execute("SELECT max(ts) FROM raw_events").fetchone()[0]
        found = detect_incidents(con, hour, logintel.thresholds(), logintel.window_spec(),
                                 data_end=data_end + timedelta(microseconds=1) if data_end else None)
        replace_incidents(con, hour, found)
    rows = [{"severity": i.severity, "incident": i.incident_id, "when": f"{i.start_time:%H:%M}–{i.end_time:%H:%M}",
             "summary": i.summary, "traces": i.related_traces_total} for i in found]
    return dg.MaterializeResult(metadata={
        "incidents": len(found),
        "by_severity": dg.MetadataValue.json({s: sum(i.severity == s for i in found)
                                              for s in ("critical", "high", "medium", "low")}),
        "writer": found[0].writer if found else "none",
        "incident_table": markdown_table(rows, ["severity", "incident", "when", "summary", "traces"]),
    })
