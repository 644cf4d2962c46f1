"""The situation-briefing job: one run per critical or high incident, or high or critical security finding
(the sensor's run key makes it once), which writes outputs/briefings/<id>.md/.json and shows it in the UI."""
import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.partitions import WAREHOUSE_POOL
from logintel.briefings.briefing import compose, subject_for
from logintel.briefings.subject import SubjectGone
from logintel.digest.publish import deliver
from logintel.digest.render import briefing_markdown, write_briefing
from logintel.llm.call_log import CallLog
from logintel.trust.claim_share import grounded_pct
from resources.llm import LLMResource
from resources.settings import LogintelSettings

BRIEFINGS = dg.AssetKey("situation_briefings")
# Written by the briefing runs (not materialized by a job of assets): declared so the UI lists it.
situation_briefings = dg.AssetSpec(BRIEFINGS, group_name="briefings", kinds={"markdown"},
                                   description="One grounded situation briefing per critical or high incident "
                                               "or security finding, under $LOGINTEL_HOME/outputs/briefings/<id>.md/.json.")


class BriefingConfig(dg.Config):
    incident_id: str = ""
    finding_id: str = ""  # a security finding instead of an incident, with the day it belongs to
    day: str = ""


@dg.op(pool=WAREHOUSE_POOL, description="Compose, ground and write the briefing of one incident or finding.")
def write_situation_briefing(context: dg.OpExecutionContext, config: BriefingConfig, warehouse: DuckDBResource,
                       logintel: LogintelSettings, llm: LLMResource) -> None:
    settings = logintel.settings()
    calls = CallLog()
    try:
        subject = subject_for(config.model_dump())
    except ValueError as unnamed:
        raise dg.Failure(str(unnamed)) from None
    with warehouse.get_connection() as con:
        try:
            briefing = compose(con, subject, llm.gateway(calls, logintel.redactor()))
        except SubjectGone as gone:
            # not a failure: what its scope became has an id of its own, briefed in its turn
            context.log.warning(f"{gone}: its scope was materialized again since; nothing to brief")
            return
    calls.write_to(logintel.state_store(), asset="situation_briefings", partition=subject.id)
    document = briefing.to_dict()
    path = write_briefing(document, settings.briefings_dir)
    markdown = briefing_markdown(document)
    delivery = (deliver(settings, "briefing", subject.id, f"Situation briefing · {subject.id}",
                        markdown, path) if settings.digest_webhook_url else {"configured": False})
    context.log_event(dg.AssetMaterialization(asset_key=BRIEFINGS, partition=None, metadata={
        "subject_kind": subject.kind, "subject_id": subject.id, "severity": briefing.severity,
        "briefing": dg.MetadataValue.md(markdown), "path": dg.MetadataValue.path(str(path)),
        "grounded_pct": grounded_pct(briefing.grounding["ratio"]), "claims": briefing.grounding["claims"],
        "invented": len(briefing.grounding["invented"]), "writer": briefing.writer,
        "llm_tokens": briefing.llm["tokens"], "llm_cost_usd": briefing.llm["cost_usd"],
        "llm_latency_ms": briefing.llm["latency_ms"], "delivery": dg.MetadataValue.json(delivery)}))


@dg.job(name="situation_briefing", description="A short grounded briefing of one critical or high incident or "
                                                "security finding.")
def briefing_job():
    write_situation_briefing()
