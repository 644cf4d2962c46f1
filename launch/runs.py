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
        result = _execute(job, instance, key, tags)
        results.append(result)
        _progress(out, index, len(requests), result)
    return results


def _execute(job, instance, key: str, tags: dict) -> dict:
    t0 = time.perf_counter()
    result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False, tags=tags,
                                    run_config=QUIET)
    checks = [e.asset_check_evaluation_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed_checks = [c.check_name for c in checks if not c.passed]
    return {"partition": key, "job": job.name, "success": result.success, "run_id": result.run_id,
            "checks_passed": len(checks) - len(failed_checks), "checks_failed": failed_checks,
            "seconds": round(time.perf_counter() - t0, 2)}


def _progress(out, index: int, total: int, result: dict) -> None:
    checks = result["checks_passed"] + len(result["checks_failed"])
    print(f"    {progress_bar(index, total)} [{index:>2}/{total}] {result['partition']}  "
          f"{'ok' if result['success'] else 'FAILED'}  checks {result['checks_passed']}/{checks} passed"
          f"{' (' + ', '.join(result['checks_failed']) + ')' if result['checks_failed'] else ''}  "
          f"{result['seconds']:.1f}s", file=out, flush=True)


def materialize_at_once(job_name: str, requests: list[tuple[str, dict]], workers: int, out=None,
                        stop=None) -> list[dict]:
    """`materialize` with up to `workers` runs at once, each in a process of its own (spawned: the code location and
    the instance are loaded there, DAGSTER_HOME inherited); results in the order of `requests`, progress lines as
    runs finish. With `stop`, no run starts once a stop was requested (the running ones finish)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    out = out or sys.stdout
    results: dict[str, dict] = {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending, queue = set(), list(requests)
        while queue or pending:
            while queue and len(pending) < workers and not (stop is not None and stop.requested):
                key, tags = queue.pop(0)
                pending.add(pool.submit(_run_in_worker, job_name, key, tags))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                results[result["partition"]] = result
                _progress(out, len(results), len(requests), result)
    return [results[key] for key, _ in requests if key in results]


def _run_in_worker(job_name: str, key: str, tags: dict) -> dict:
    import dagster as dg
    from launch.instance import load_definitions
    global _DEFINITIONS
    if _DEFINITIONS is None:
        import warnings
        with warnings.catch_warnings():  # the parent loaded the same definitions and showed their warnings
            warnings.simplefilter("ignore")
            _DEFINITIONS = load_definitions()
    with dg.DagsterInstance.get() as instance:
        return _execute(_DEFINITIONS.resolve_job_def(job_name), instance, key, tags)


_DEFINITIONS = None  # a worker process's code location, loaded once for all its runs


def failed(results: list[dict]) -> list[str]:
    return [r["partition"] for r in results if not r["success"]]
