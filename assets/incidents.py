"""incidents: groups over their error threshold, consecutive windows merged, each with a one-line
summary written through the LLM gateway and grounded against the warehouse."""
from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import llm_metadata, markdown_table
from assets.partitions import WAREHOUSE_POOL, hourly_partitions, partition_hour
from logintel.analysis.cluster_incidents import detect_cluster_incidents, fold_rule_incidents
from logintel.analysis.incident_text import write_summaries
from logintel.analysis.incidents import detect_incidents, replace_incidents
from logintel.llm.accounting import CallLog
from resources.llm import LLMResource
from resources.settings import LogintelSettings


@dg.asset(partitions_def=hourly_partitions, pool=WAREHOUSE_POOL, group_name="incidents", kinds={"duckdb"},
          deps=["windowed_aggregates", "clusters"],
          description="Rule incidents: every (service, route, error_code) whose errors in a window exceed its "
                      "threshold; one incident per run of consecutive breaching windows, stable ids across hours; "
                      "a grounded one-line summary each.")
def incidents(context: dg.AssetExecutionContext, warehouse: DuckDBResource, logintel: LogintelSettings,
              llm: LLMResource) -> dg.MaterializeResult:
    hour = partition_hour(context)
    calls = CallLog()
    with warehouse.get_connection() as con:
        data_end = con.execute("SELECT max(ts) FROM raw_events").fetchone()[0]
        rules = detect_incidents(con, hour, logintel.thresholds(), logintel.window_spec(),
                                 data_end=data_end + timedelta(microseconds=1) if data_end else None)
        grouped = detect_cluster_incidents(con, hour, threshold=logintel.thresholds().default,
                                           window_minutes=logintel.window_spec().length_minutes, data_end=data_end)
        fold_rule_incidents(rules, grouped)
        found = grouped + rules
        write_summaries(con, found, llm.gateway(calls))
        replace_incidents(con, hour, found)
        calls.write_to_duckdb(con, asset="incidents", partition=context.partition_key)
    claims = sum(i.grounding.get("claims", 0) for i in found)
    grounded = sum(i.grounding.get("grounded", 0) for i in found)
    rows = [{"severity": i.severity, "kind": i.kind, "incident": i.incident_id,
             "when": f"{i.start_time:%H:%M}–{i.end_time:%H:%M}", "summary": i.summary,
             "root cause": i.root_cause_analysis, "merged into": i.merged_into or "",
             "grounded": f"{i.grounding.get('grounded', 0)}/{i.grounding.get('claims', 0)}", "writer": i.writer}
            for i in found]
    return dg.MaterializeResult(metadata={
        "incidents": len(found),
        "cluster_incidents": len(grouped),
        "rule_incidents_merged": sum(1 for i in rules if i.merged_into),
        "by_severity": dg.MetadataValue.json({s: sum(i.severity == s for i in found)
                                              for s in ("critical", "high", "medium", "low")}),
        "grounded_pct": round(100.0 * grounded / claims, 2) if claims else 100.0,
        "claims": claims,
        "incident_table": markdown_table(rows, ["severity", "kind", "incident", "when", "summary", "root cause",
                                                "merged into", "grounded", "writer"]),
        **llm_metadata(calls),
    })
