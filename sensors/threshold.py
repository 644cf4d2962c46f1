"""The threshold sensor: reads the landing zone, requests a run of each affected hourly partition."""
import hashlib
from collections import defaultdict
from datetime import datetime, timezone

import dagster as dg

from jobs.hourly import incident_job
from logintel.analysis.threshold_watch import WatchState, evaluate
from logintel.store.landing import LandingUnavailable
from resources.landing_zone import LandingZoneResource
from resources.settings import LogintelSettings


@dg.sensor(job=incident_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Groups over their error threshold in a 5-minute window trigger the hourly partition's "
                       "incident run; each (group, window) fires once.")
def error_threshold_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource,
                           logintel: LogintelSettings):
    state = WatchState.from_cursor(context.cursor)
    try:
        breaches, state, hours = evaluate(landing.open(), state, logintel.thresholds(), logintel.window_spec(),
                                          now=datetime.now(timezone.utc))
    except LandingUnavailable as exc:
        # Keep the cursor: the next tick re-reads what this one could not.
        return dg.SkipReason(f"landing zone unavailable, will retry next tick: {exc}")
    by_partition = defaultdict(list)
    for breach in breaches:
        by_partition[breach.partition_key].append(breach)
    requests = []
    for partition_key, found in sorted(by_partition.items()):
        keys = sorted(b.key for b in found)
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        groups = sorted({f"{b.service} {b.route} {b.error_code or ''}".strip() for b in found})
        requests.append(dg.RunRequest(
            partition_key=partition_key, run_key=f"threshold:{partition_key}:{digest}",
            tags={"logintel/trigger": "error_threshold", "logintel/groups": "; ".join(groups)[:1000],
                  "logintel/breaches": str(len(found))}))
    context.update_cursor(state.to_cursor())
    if not requests:
        return dg.SkipReason(f"no new breaches in {len(hours)} recently changed hour(s)")
    return requests
