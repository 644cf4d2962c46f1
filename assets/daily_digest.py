"""daily_digest: the day's briefing (top 3 issues, anomaly trends, efficiency recommendations, what the
pipeline did), every sentence grounded, written as md/json/html and shown here; and its grounding check."""
import base64

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.digest import daily_metrics
from assets.findings import efficiency_findings, security_findings, sre_findings
from assets.metadata import llm_metadata, markdown_table
from assets.partitions import WAREHOUSE_POOL, daily_asset, daily_partitions, partition_day
from logintel.digest.grounding_verdict import MIN_GROUNDED, verify_digest_file
from logintel.digest.publish import write_daily_digest
from logintel.llm.call_log import CallLog
from logintel.trust.claim_share import grounded_pct
from resources.llm import LLMResource
from resources.settings import LogintelSettings


@daily_asset(group_name="digest", deps=[daily_metrics, sre_findings, security_findings, efficiency_findings],
             description="The daily digest: top 3 issues by impact (users × minutes × severity), anomaly trends "
                         "(slow trends, SLO burn, significant changes, traffic drops, new templates), resource-"
                         "efficiency recommendations with estimated savings, and what the pipeline did. Numbers are "
                         "computed; a model only rewords them; every sentence carries its source and grounding. "
                         "Files: $LOGINTEL_HOME/outputs/digests/YYYY-MM-DD.{md,json,html}.")
def daily_digest(context: dg.AssetExecutionContext, warehouse: DuckDBResource, logintel: LogintelSettings,
                 llm: LLMResource) -> dg.MaterializeResult:
    day = partition_day(context)
    calls = CallLog()
    with warehouse.get_connection() as con:
        written = write_daily_digest(con, day, logintel.settings(), llm.gateway(calls, logintel.redactor()))
    calls.write_to(logintel.state_store(), asset="daily_digest", partition=context.partition_key)
    document = written.document
    for note in written.notes:
        context.log.warning(note)
    if written.delivery and (written.delivery.get("retrying") or written.delivery.get("failed")):
        context.log.warning(f"digest delivery: {written.delivery.get('retrying', 0)} retrying, "
                            f"{written.delivery.get('failed', 0)} failed (kept in the outbox)")
    history = base64.b64encode(written.history_png).decode("ascii")
    grounding = document["grounding"]
    return dg.MaterializeResult(metadata={
        "digest": dg.MetadataValue.md(written.markdown + "\n\n![grounded % and cost per digest]"
                                      f"(data:image/png;base64,{history})\n"),
        "grounded_pct": grounded_pct(grounding["ratio"]),
        "claims": grounding["claims"],
        "invented": len(grounding["invented"]),
        "top_issues": len(document["top_issues"]),
        "trends": len(document["trends"]),
        "recommendations": len(document["recommendations"]),
        "hours_covered": len(document["hours_covered"]),
        "writer": document["writer"],
        "digest_latency_ms": document["llm"]["latency_ms"],
        "prompt_chars": document["llm"]["prompt_chars"],
        "markdown_path": dg.MetadataValue.path(written.paths["markdown_path"]),
        "html_path": dg.MetadataValue.path(written.paths["html_path"]),
        "json_path": dg.MetadataValue.path(written.paths["json_path"]),
        "delivery": dg.MetadataValue.json(written.delivery or {"configured": False}),
        **llm_metadata(calls),
    })


@dg.asset_check(asset=daily_digest, partitions_def=daily_partitions, pool=WAREHOUSE_POOL,
                description=f"The digest file as written, grounded again sentence by sentence: an invented service, "
                            f"route, error code or field=value is an ERROR; under {MIN_GROUNDED:.0%} of claims "
                            f"grounded is a WARN.")
def daily_digest_grounded(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource,
                          logintel: LogintelSettings) -> dg.AssetCheckResult:
    path = logintel.settings().digests_dir / f"{context.partition_key}.json"
    with warehouse.get_connection() as con:
        verdict = verify_digest_file(con, path)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.ERROR if verdict.invented or verdict.problem else dg.AssetCheckSeverity.WARN,
        description=verdict.description(),
        metadata={"grounded_pct": verdict.share.percent(), "claims": verdict.claims,
                  "sentences": verdict.sentences, "invented": len(verdict.invented),
                  "ungrounded": markdown_table(verdict.ungrounded[:20], ["source", "sentence", "why"])})
