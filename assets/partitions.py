"""Partition definitions shared by the assets, the sensors and the jobs."""
import dagster as dg

from resources.settings import loaded_settings

# Read once: both partition sets are fixed when the code location loads.
_SETTINGS = loaded_settings()

# Hourly: 5-minute partitions would pass Dagster's partition ceiling within a year.
hourly_partitions = dg.HourlyPartitionsDefinition(start_date=_SETTINGS.partitions_start, end_offset=1)

WAREHOUSE_POOL = "warehouse"  # DuckDB allows one writing process: every warehouse writer joins this pool
# LOGINTEL_TABLE_FORMAT=iceberg: the hourly tables are lake tables, each hour one commit of its own run. Writers of
# the hour's function alone (raw_events, windowed_aggregates, window_changes, embeddings, clusters) and readers of
# only those join no pool. A step that carries state from hour to hour joins a pool of its own, one run at a time,
# and no longer waits for the others (docs/table-format.md): the template miner's state (event_templates), the open
# incidents of earlier hours (incidents); and the analysts, whose runs share a partition of findings (a day's, which
# is also its first UTC hour's). Without the lake, each of these is the warehouse pool.
LAKE = _SETTINGS.lake.iceberg
LAKE_POOL = None if LAKE else WAREHOUSE_POOL
TEMPLATE_MINER_POOL = "template_miner" if LAKE else WAREHOUSE_POOL
INCIDENTS_POOL = "incidents" if LAKE else WAREHOUSE_POOL
FINDINGS_POOL = "findings" if LAKE else WAREHOUSE_POOL


def partition_hour(context):
    """The partition's start as a naive UTC datetime."""
    return context.partition_time_window.start.replace(tzinfo=None)


def hourly_asset(pool: str | None = WAREHOUSE_POOL, kinds=frozenset({"duckdb"}), **kwargs):
    """An hourly-partitioned asset that writes the DuckDB warehouse, so it joins the writers' pool (unless it
    writes the lake only: `pool=LAKE_POOL`)."""
    return dg.asset(partitions_def=hourly_partitions, pool=pool, kinds=set(kinds), **kwargs)


# Daily, in the digest's time zone; each day maps onto the hourly partitions of its hours.
daily_partitions = dg.DailyPartitionsDefinition(start_date=_SETTINGS.partitions_start[:10],
                                                timezone=_SETTINGS.digest_timezone, end_offset=1)


def partition_day(context):
    """The daily partition as the digest's day (its date in the digest's time zone)."""
    from logintel.daily.days import DigestDay
    return DigestDay.parse(context.partition_key, daily_partitions.timezone)


def daily_asset(pool: str = WAREHOUSE_POOL, **kwargs):
    """A daily-partitioned asset that writes the warehouse (so it joins the writers' pool, unless another is named)."""
    return dg.asset(partitions_def=daily_partitions, pool=pool, kinds={"duckdb"}, **kwargs)
