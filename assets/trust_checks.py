"""Trust checks on every asset holding LLM text: grounded ratio, and no invented entities."""
import dagster as dg

from assets.incidents import incidents
from assets.metadata import markdown_table
from assets.partitions import LAKE_POOL, hourly_partitions, partition_hour
from logintel.llm.call_log import recorded_usage
from logintel.trust.partition_grounding import incident_grounding
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource


@dg.asset_check(asset=incidents, partitions_def=hourly_partitions, pool=LAKE_POOL,
                description="Every number and name in the incident summaries is checked against the warehouse: "
                            "grounded ratio >= LOGINTEL_MIN_GROUNDED_RATIO (default 90%) else WARN; any invented "
                            "service, route, error code or trace id is an ERROR. A model's sentences offered, "
                            "accepted and replaced by their drafts are counted.")
def incident_summaries_grounded(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource,
                                logintel: LogintelSettings) -> dg.AssetCheckResult:
    with warehouse.lake_connection() as con:  # reads incidents, raw_events and windows: on the lake, no DuckDB file
        verdict = incident_grounding(con, partition_hour(context), logintel.min_grounded_ratio)
    usage = recorded_usage(logintel.state_store(), asset="incidents", partition=context.partition_key)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR if verdict.invented else dg.AssetCheckSeverity.WARN,
        description=verdict.description(),
        metadata={"grounded_pct": verdict.share.percent(), "claims": verdict.claims,
                  "grounded": verdict.grounded, "summaries": verdict.texts, "invented": len(verdict.invented),
                  **{f"model_sentences_{k}": v for k, v in verdict.rewording.items()},
                  "llm_calls": usage["calls"], "llm_tokens": usage["tokens"],
                  "llm_cost_usd": round(usage["cost_usd"], 6), "llm_latency_ms_p95": round(usage["latency_ms_p95"], 1),
                  "ungrounded_claims": markdown_table(verdict.ungrounded[:20],
                                                      ["incident", "writer", "claim", "evidence"]),
                  "invented_entities": markdown_table(verdict.invented[:20], ["incident", "writer", "entity"])})
