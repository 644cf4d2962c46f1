"""Materializing partitions in process, recorded in the Dagster instance (the UI shows the runs):
what the demo and `logintel backfill` share, with one progress line per run."""
from __future__ import annotations

import sys
import time

# Step logs go to the instance (the UI shows them); the terminal gets one line per partition.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
BAR_WIDTH = 24


def progress_bar(done: int, total: int) -> str:
    filled = BAR_WIDTH * done // max(total, 1)
    return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"


def materialize(job, instance, requests: list[tuple[str, dict]], out=None, stop=None) -> list[dict]:
    """Run `job` once per (partition key, tags), printing a progress line each; one result dict per run
    (`partition`, `job`, `success`, `run_id`, `checks_passed`, `checks_failed`, `seconds`). With `stop` (a
    `launch.interruption.StopRequest`), no run starts once a stop was requested."""
    out = out or sys.stdout
    results = []
    for index, (key, tags) in enumerate(requests, 1):
        if stop is not None and stop.requested:
            break
        t0 = time.perf_counter()
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False,
                                        tags=tags, run_config=QUIET)
        checks = [e.asset_check_evaluation_data for e in result.all_events
                  if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        failed_checks = [c.check_name for c in checks if not c.passed]
        seconds = time.perf_counter() - t0
        results.append({"partition": key, "job": job.name, "success": result.success, "run_id": result.run_id,
                        "checks_passed": len(checks) - len(failed_checks), "checks_failed": failed_checks,
                        "seconds": round(seconds, 2)})
        print(f"    {progress_bar(index, len(requests))} [{index:>2}/{len(requests)}] {key}  "
              f"{'ok' if result.success else 'FAILED'}  checks {len(checks) - len(failed_checks)}/{len(checks)} passed"
              f"{' (' + ', '.join(failed_checks) + ')' if failed_checks else ''}  {seconds:.1f}s", file=out, flush=True)
    return results


def failed(results: list[dict]) -> list[str]:
    return [r["partition"] for r in results if not r["success"]]
