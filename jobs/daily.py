"""The daily job over the digest's assets, and its schedule (01:00 in the digest's zone, for the day before)."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import daily_partitions

daily_job = dg.define_asset_job(
    "daily_briefing", selection=dg.AssetSelection.groups("digest", "analysts"), partitions_def=daily_partitions,
    description="daily_metrics and the analysts' findings, then daily_digest for one day of the digest's time zone, over that day's hourly "
                "partitions.")


# Today is a partition too (a partial digest on demand says which hours it covers); the schedule asks
# for the day that just ended.
@dg.schedule(job=daily_job, cron_schedule="0 1 * * *", execution_timezone=daily_partitions.timezone,
             name="daily_digest_schedule",
             description="At 01:00 in the digest's time zone, the day that just ended.")
def daily_schedule(context: dg.ScheduleEvaluationContext):
    ended = (context.scheduled_execution_time.astimezone(ZoneInfo(daily_partitions.timezone)) - timedelta(days=1)).date()
    key = ended.isoformat()
    return dg.RunRequest(partition_key=key, run_key=f"daily:{key}", tags={"logintel/trigger": "schedule"})
