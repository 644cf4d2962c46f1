"""The daily job over the digest's assets, and its schedule (01:00 in the digest's zone, for the day before)."""
import dagster as dg

from assets.partitions import daily_partitions

daily_job = dg.define_asset_job(
    "daily_briefing", selection=dg.AssetSelection.groups("digest"), partitions_def=daily_partitions,
    description="daily_metrics then daily_digest for one day of the digest's time zone, over that day's hourly "
                "partitions.")

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_job, name="daily_digest_schedule", hour_of_day=1, minute_of_hour=0,
    description="At 01:00 in the digest's time zone, the day that just ended.")
