"""incidents: groups over their error threshold, consecutive windows merged, each with a one-line
summary written through the LLM gateway and grounded against the warehouse."""
import dagster as dg

from assets.metadata import llm_metadata, markdown_table
from assets.partitions import INCIDENTS_POOL, LAKE, hourly_asset, partition_hour
from logintel.analysis.incidents.hour_assembly import OPEN_INCIDENTS, detect_hour_incidents, incidents_read_back
from logintel.analysis.incidents.incident import replace_incidents, resolve_ended
from logintel.analysis.incidents.window_changes import read_window_changes
from logintel.briefings.incident_briefing import incident_candidates
from logintel.llm.call_log import CallLog
from logintel.narration.incident_text import write_summaries
from logintel.store.lake.hour_runs import HistoryReach
from logintel.trust.claim_share import ClaimShare
from logintel.views.incident_table import candidates_label, cause_label
from resources.llm import LLMResource
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource


# On the lake, incidents is a lake table written in the hour's own session, which starts with the hours of incidents
# the step can read or change (continued and resolved across hours); the step runs one hour at a time (its own pool,
# INCIDENTS_POOL) for that reason.
@hourly_asset(group_name="incidents", kinds={"iceberg"} if LAKE else {"duckdb"}, pool=INCIDENTS_POOL,
              deps=["windowed_aggregates", "clusters", "window_changes"],
              description="Rule incidents: every (service, route, error_code) whose errors in a window exceed its "
                          "threshold; one incident per run of consecutive breaching windows, stable ids across hours; "
                          "a grounded one-line summary each.")
def incidents(context: dg.AssetExecutionContext, warehouse: WarehouseResource, logintel: LogintelSettings,
              llm: LLMResource) -> dg.MaterializeResult:
    hour = partition_hour(context)
    calls = CallLog()
    redactor = logintel.redactor()
    reach = HistoryReach(incidents_read_back(logintel.window_spec()), also=OPEN_INCIDENTS)
    with warehouse.hour_connection(hour, writes=("incidents",), history=("incidents",), reach=reach) as con:
        examined = read_window_changes(con, hour)  # None: that step has not run for the hour, so it is done here
        hour_incidents = detect_hour_incidents(con, hour, logintel.thresholds(), logintel.window_spec(),
                                               redactor.redact, changes=logintel.settings().change_incidents,
                                               examined=examined)
        found = hour_incidents.all
        write_summaries(con, found, llm.gateway(calls, redactor), redactor)
        replace_incidents(con, hour, found)
        resolved_earlier = resolve_ended(con, hour, logintel.window_spec().step_minutes)
    calls.write_to(logintel.state_store(), asset="incidents", partition=context.partition_key)
    for note in hour_incidents.notes:
        context.log.warning(note)
    share = ClaimShare(claims=sum(i.grounding.get("claims", 0) for i in found),
                       grounded=sum(i.grounding.get("grounded", 0) for i in found))
    rows = [{"severity": i.severity, "kind": i.kind, "incident": i.incident_id,
             "when": f"{i.start_time:%H:%M}–{i.end_time:%H:%M}", "summary": i.summary,
             "cause": cause_label(i.root_cause), "where to look": candidates_label(i.root_cause),
             "root cause": i.root_cause_analysis, "merged into": i.merged_into or "",
             "grounded": f"{i.grounding.get('grounded', 0)}/{i.grounding.get('claims', 0)}", "writer": i.writer}
            for i in found]
    return dg.MaterializeResult(metadata={
        "incidents": len(found),
        "earlier_incidents_resolved": resolved_earlier,  # open ones of earlier hours the data has since passed
        "cluster_incidents": len(hour_incidents.clusters),
        "rule_incidents_merged": hour_incidents.merged,
        "by_severity": dg.MetadataValue.json({s: sum(i.severity == s for i in found)
                                              for s in ("critical", "high", "medium", "low")}),
        "grounded_pct": share.percent(),  # None: nothing to verify (no incident, or no claim in any text)
        "claims": share.claims,
        "incident_table": markdown_table(rows, ["severity", "kind", "incident", "when", "summary", "cause",
                                                "where to look", "root cause", "merged into", "grounded", "writer"]),
        "root_cause_s": round(hour_incidents.root_cause_s, 3),
        # what situation_briefing_sensor reads (it never opens the warehouse)
        "briefing_candidates": dg.MetadataValue.json(incident_candidates(found)),
        "notes": "; ".join(hour_incidents.notes) or "none",
        # where the change incidents were decided from: the window_changes step's table, or investigated here
        "change_windows": ("off" if not logintel.settings().change_incidents else
                           "window_changes" if examined is not None else "investigated here (window_changes not run)"),
        **llm_metadata(calls),
    })
