"""New or grown dump files start a `replay_dumps` run of exactly those files."""
import hashlib
import json
from pathlib import Path

import dagster as dg

from jobs.replay import ReplayConfig, replay_job
from logintel.ingest.replay import dump_files
from resources.settings import LogintelSettings


def _dump_sizes(dumps: Path) -> dict[str, int]:
    return {str(p.relative_to(dumps)): p.stat().st_size for p in dump_files(dumps)} if dumps.exists() else {}


@dg.sensor(job=replay_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="New or grown dump files under $LOGINTEL_HOME/dumps start a replay of those files.")
def dump_files_sensor(context: dg.SensorEvaluationContext, logintel: LogintelSettings):
    dumps = logintel.settings().dumps_dir
    seen = json.loads(context.cursor) if context.cursor else {}
    current = _dump_sizes(dumps)
    new = sorted(name for name, size in current.items() if seen.get(name) != size)
    # Only files still present are remembered: archived ones leave the listing, so the cursor stays small.
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not new:
        return dg.SkipReason(f"no new dump files in {dumps}")
    digest = hashlib.sha256(json.dumps([[n, current[n]] for n in new]).encode()).hexdigest()[:16]
    return dg.RunRequest(run_key=f"replay:{digest}", tags={"logintel/trigger": "dump_files",
                                                           "logintel/files": str(len(new))},
                         run_config=dg.RunConfig(ops={"replay_dump_files": ReplayConfig(
                             paths=[str(dumps / n) for n in new])}))
