"""Partition definitions shared by the assets, the sensor and the jobs."""
import os

import dagster as dg

# Hourly: 5-minute partitions would pass Dagster's partition ceiling within a year.
hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=os.environ.get("LOGINTEL_PARTITIONS_START", "2026-01-01-00:00"), end_offset=1)

WAREHOUSE_POOL = "warehouse"  # DuckDB allows one writing process: every warehouse writer joins this pool


def partition_hour(context):
    """The partition's start as a naive UTC datetime."""
    return context.partition_time_window.start.replace(tzinfo=None)
