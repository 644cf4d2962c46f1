"""event_templates → embeddings → clusters: the patterns of an hour, what they mean, and which of
them belong together (hourly; cost follows distinct patterns, not events)."""
import dagster as dg

from assets.metadata import markdown_table
from assets.partitions import LAKE, LAKE_POOL, TEMPLATE_MINER_POOL, hourly_asset, partition_hour
from logintel.analysis.pattern_clusters import cluster_partition, embed_partition
from logintel.analysis.patterns import mine_patterns, top_patterns
from logintel.analysis.templates import TemplateMiner
from logintel.analysis.templates.state import StoredState
from resources.llm import LLMResource
from resources.settings import LogintelSettings
from resources.warehouse import WarehouseResource

# On the lake the patterns and their clusters are lake tables and the embedding cache is in the state store, so
# embeddings and clusters open no DuckDB file and join no pool: any number of hours run them at once. event_templates
# joins a pool of its own (TEMPLATE_MINER_POOL): the template miner's state (a document of the state store) is read,
# added to and written back by each hour, so two hours at once would lose one's new templates.


@hourly_asset(group_name="patterns", kinds={"iceberg"} if LAKE else {"duckdb"}, pool=TEMPLATE_MINER_POOL,
              deps=["raw_events"],
              description="Message templates mined from the hour's distinct messages (ids stable across hours and "
                          "runs), and the patterns: (template, service, route, error_code) with counts and activity.")
def event_templates(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    logintel: LogintelSettings) -> dg.MaterializeResult:
    hour = partition_hour(context)
    miner = TemplateMiner(state=StoredState(logintel.state_store(),
                                            imported_from=logintel.settings().templates_state_path))
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


@hourly_asset(group_name="patterns", pool=LAKE_POOL,
              deps=["event_templates"],
              description="An embedding of each distinct pattern summary, cached by hash across partitions (in the "
                          "state store).")
def embeddings(context: dg.AssetExecutionContext, warehouse: WarehouseResource, logintel: LogintelSettings,
               llm: LLMResource) -> dg.MaterializeResult:
    with warehouse.lake_connection() as con:  # reads event_patterns only: on the lake, no DuckDB file
        report = embed_partition(con, partition_hour(context), logintel.embedder(llm.config()),
                                 cache=logintel.state_store())
    return dg.MaterializeResult(metadata={
        "embedder": report["embedder"], "patterns": report["patterns"], "cache_hits": report["cache_hits"],
        "embedded": report["embedded"], "elapsed_s": round(report["elapsed_s"], 3)})


@hourly_asset(group_name="patterns", kinds={"iceberg"} if LAKE else {"duckdb"}, pool=LAKE_POOL,
              deps=["embeddings"],
              description="Patterns clustered by meaning and by spiking together in the same minutes, so one "
                          "cause's different messages in different services meet.")
def clusters(context: dg.AssetExecutionContext, warehouse: WarehouseResource, logintel: LogintelSettings,
             llm: LLMResource) -> dg.MaterializeResult:
    plot = logintel.settings().outputs_dir / "clusters" / f"{context.partition_key.replace(':', '')}.png"
    hour = partition_hour(context)
    with warehouse.hour_connection(hour, writes=("pattern_clusters",)) as con:  # the lake's: a run of its own
        report = cluster_partition(con, hour, logintel.embedder(llm.config()), logintel.cluster_config(),
                                   plot_path=plot, cache=logintel.state_store())
    return dg.MaterializeResult(metadata={
        "patterns": report["patterns"], "clusters": report["clusters"], "noise": report["noise"],
        "method": report["method"], "elapsed_s": round(report["elapsed_s"], 3),
        "cluster_table": markdown_table(report["table"], ["cluster", "patterns", "services", "errors", "top"]),
        "projection": dg.MetadataValue.md(report["plot_markdown"]),
        **({"projection_png": dg.MetadataValue.path(report["plot_path"])} if report["plot_path"] else {}),
    })
