"""Trust checks on every asset holding LLM text: grounded ratio, and no invented entities."""
import json
import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.incidents import incidents
from assets.metadata import markdown_table
from assets.partitions import WAREHOUSE_POOL, hourly_partitions, partition_hour

# Below this share of verified claims the check warns; configurable per deployment.
MIN_GROUNDED_RATIO = float(os.environ.get("LOGINTEL_MIN_GROUNDED_RATIO", "0.9"))


@dg.asset_check(asset=incidents, partitions_def=hourly_partitions, pool=WAREHOUSE_POOL,
                description=f"Every number and name in the incident summaries is checked against the warehouse: "
                            f"grounded ratio >= {MIN_GROUNDED_RATIO:.0%} else WARN; any invented service, route, "
                            "error code or trace id is an ERROR.")
def incident_summaries_grounded(context: dg.AssetCheckExecutionContext,
                                warehouse: DuckDBResource) -> dg.AssetCheckResult:
    hour = partition_hour(context)
    with warehouse.get_connection() as con:
        rows = con.execute("SELECT incident_id, writer, grounding FROM incidents WHERE partition_hour = $h",
                           {"h": hour}).fetchall()
        usage = con.execute("""
            SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0), coalesce(sum(cost_usd), 0),
                   coalesce(quantile_cont(latency_ms, 0.95), 0)
            FROM llm_calls WHERE asset = 'incidents' AND partition = $p""",
                            {"p": context.partition_key}).fetchone() if _has_table(con, "llm_calls") else (0, 0, 0, 0)
    claims = grounded = 0
    invented, ungrounded = [], []
    for incident_id, writer, grounding in rows:
        g = json.loads(grounding) if grounding else {}
        claims += g.get("claims", 0)
        grounded += g.get("grounded", 0)
        invented += [{"incident": incident_id, "writer": writer, "entity": e} for e in g.get("invented", [])]
        ungrounded += [{"incident": incident_id, "writer": writer, "claim": u.get("claim", {}).get("text"),
                        "evidence": u.get("evidence")} for u in g.get("ungrounded", [])]
    ratio = grounded / claims if claims else 1.0
    passed = ratio >= MIN_GROUNDED_RATIO and not invented
    if invented:
        description = f"{len(invented)} invented entities: " + ", ".join(sorted({i['entity'] for i in invented}))
    elif not passed:
        description = f"only {ratio:.0%} of {claims} claims grounded (minimum {MIN_GROUNDED_RATIO:.0%})"
    else:
        description = f"{grounded}/{claims} claims grounded" if claims else "no incidents, nothing to check"
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if invented else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"grounded_pct": round(100 * ratio, 2), "claims": claims, "grounded": grounded,
                  "summaries": len(rows), "invented": len(invented),
                  "llm_calls": int(usage[0]), "llm_tokens": int(usage[1]), "llm_cost_usd": round(float(usage[2]), 6),
                  "llm_latency_ms_p95": round(float(usage[3]), 1),
                  "ungrounded_claims": markdown_table(ungrounded[:20], ["incident", "writer", "claim", "evidence"]),
                  "invented_entities": markdown_table(invented[:20], ["incident", "writer", "entity"])})


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])
