"""event_templates → embeddings → clusters: the patterns of an hour, what they mean, and which of
them belong together (hourly; cost follows distinct patterns, not events)."""
from contextlib import ExitStack

import dagster as dg
from dagster_duckdb import DuckDBResource

from assets.metadata import markdown_table
from assets.partitions import LAKE, hourly_asset, partition_hour
from logintel.analysis.pattern_clusters import cluster_partition, embed_partition
from logintel.analysis.patterns import mine_patterns, top_patterns
from logintel.analysis.templates import TemplateMiner
from resources.llm import LLMResource
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource

# On the lake the patterns and their clusters are lake tables; these steps still join the warehouse pool: the
# template miner carries its state from hour to hour, and the embedding cache is in the DuckDB file.
_KINDS = {"iceberg", "duckdb"} if LAKE else {"duckdb"}


@hourly_asset(group_name="patterns", kinds={"iceberg"} if LAKE else {"duckdb"},
              deps=["raw_events"],
              description="Message templates mined from the hour's distinct messages (ids stable across hours and "
                          "runs), and the patterns: (template, service, route, error_code) with counts and activity.")
def event_templates(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    miner = TemplateMiner(state_path=logintel.settings().templates_state_path)
    with warehouse.hour_connection(hour, writes=("event_patterns", "pattern_activity")) as con:
        report = mine_patterns(con, hour, miner)
        top = top_patterns(con, hour)
    miner.save()
    return dg.MaterializeResult(metadata={
        "patterns": report.patterns, "distinct_messages": report.distinct_messages,
        "new_templates": report.new_templates, "events": report.events,
        "elapsed_s": round(report.elapsed_s, 3),
        "top_patterns": markdown_table(top,
                                       ["service", "route", "error_code", "template_id", "template", "events"]),
    })


@hourly_asset(group_name="patterns",
              deps=["event_templates"],
              description="An embedding of each distinct pattern summary, cached by hash across partitions.")
def embeddings(context: dg.AssetExecutionContext, warehouse: DuckDBResource, logintel: LogintelSettings,
               llm: LLMResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        report = embed_partition(con, partition_hour(context), logintel.embedder(llm.config()))
    return dg.MaterializeResult(metadata={
        "embedder": report["embedder"], "patterns": report["patterns"], "cache_hits": report["cache_hits"],
        "embedded": report["embedded"], "elapsed_s": round(report["elapsed_s"], 3)})


@hourly_asset(group_name="patterns", kinds=_KINDS,
              deps=["embeddings"],
              description="Patterns clustered by meaning and by spiking together in the same minutes, so one "
                          "cause's different messages in different services meet.")
def clusters(context: dg.AssetExecutionContext, warehouse: WarehouseResource, logintel: LogintelSettings,
             llm: LLMResource) -> dg.MaterializeResult:
    plot = logintel.settings().outputs_dir / "clusters" / f"{context.partition_key.replace(':', '')}.png"
    hour = partition_hour(context)
    with ExitStack() as stack:
        # on the lake, pattern_clusters is written in the hour's own session and the embeddings read from the file
        cache = stack.enter_context(warehouse.get_connection()) if LAKE else None
        con = stack.enter_context(warehouse.hour_connection(hour, writes=("pattern_clusters",)))
        report = cluster_partition(con, hour, logintel.embedder(llm.config()), logintel.cluster_config(),
                                   plot_path=plot, cache_con=cache)
    return dg.MaterializeResult(metadata={
        "patterns": report["patterns"], "clusters": report["clusters"], "noise": report["noise"],
        "method": report["method"], "elapsed_s": round(report["elapsed_s"], 3),
        "cluster_table": markdown_table(report["table"], ["cluster", "patterns", "services", "errors", "top"]),
        "projection": dg.MetadataValue.md(report["plot_markdown"]),
        **({"projection_png": dg.MetadataValue.path(report["plot_path"])} if report["plot_path"] else {}),
    })
