"""Materializing partitions in process, recorded in the Dagster instance (the UI shows the runs):
what the demo and `logintel backfill` share, with one progress line per run."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

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


def _progress(out, index: int, total: int, result: dict, with_job: bool = False) -> None:
    checks = result["checks_passed"] + len(result["checks_failed"])
    print(f"    {progress_bar(index, total)} [{index:>2}/{total}] {result['partition']}  "
          f"{result['job'] + '  ' if with_job else ''}"
          f"{'ok' if result['success'] else 'FAILED'}  checks {result['checks_passed']}/{checks} passed"
          f"{' (' + ', '.join(result['checks_failed']) + ')' if result['checks_failed'] else ''}  "
          f"{result['seconds']:.1f}s", file=out, flush=True)


@dataclass
class PlannedRun:
    """One run of a plan (`materialize_planned`): `job` for partition `key`, once the runs named in `needs` succeeded
    and those in `after` ended however they did (each named (job, partition key), each planned before it); among the
    runs ready at once, the lowest `rank` starts first, then the earliest planned."""
    job: str
    key: str
    tags: dict
    needs: tuple[tuple[str, str], ...] = ()
    after: tuple[tuple[str, str], ...] = ()
    rank: int = 0

    @property
    def name(self) -> tuple[str, str]:
        return self.job, self.key


def materialize_planned(plan: list[PlannedRun], workers: int, out=None, stop=None,
                        execute=None) -> tuple[list[dict], list[dict]]:
    """Run the plan's runs, up to `workers` at once, each in a process of its own (spawned: the code location and the
    instance are loaded there, DAGSTER_HOME inherited), each as soon as what it waits for has ended: the result of
    every run that ran, in plan order, and the runs skipped since a run they need failed or was skipped (`partition`,
    `job`, `because`). Progress lines as runs end. With `stop`, no run starts once a stop was requested (the running
    ones finish). `execute(job, key, tags)`, a module's function, runs one in its process (by default the job's
    materialization, recorded in the instance)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    out = out or sys.stdout
    results: dict[tuple[str, str], dict] = {}
    skipped: dict[tuple[str, str], dict] = {}
    waiting, planned = list(plan), {run.name for run in plan}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running: dict = {}
        while waiting or running:
            for run in list(waiting):  # a run whose needs failed or were skipped never runs
                lost = next((n for n in run.needs if n in skipped or (n in results and not results[n]["success"])),
                            None)
                if lost is not None:
                    waiting.remove(run)
                    skipped[run.name] = {"partition": run.key, "job": run.job,
                                         "because": f"{lost[0]} {lost[1]} " + ("was skipped" if lost in skipped
                                                                               else "failed")}
                    print(f"    skipped {run.job} {run.key}: {skipped[run.name]['because']}", file=out, flush=True)
            ended = _ended(plan, planned, results, skipped)
            ready = sorted((run for run in waiting if all(n in results for n in run.needs)
                            and all(n in ended or n not in planned for n in run.after)),
                           key=lambda run: (run.rank, plan.index(run)))
            while ready and len(running) < workers and not (stop is not None and stop.requested):
                run = ready.pop(0)
                waiting.remove(run)
                running[pool.submit(execute or _run_in_worker, run.job, run.key, run.tags)] = run
            if not running:
                break  # a stop was requested, or nothing left can run
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                run = running.pop(future)
                results[run.name] = future.result()
                _progress(out, len(results), len(plan) - len(skipped), results[run.name], with_job=True)
    return [results[run.name] for run in plan if run.name in results], list(skipped.values())


def _ended(plan: list[PlannedRun], planned: set[tuple[str, str]], results: dict,
           skipped: dict) -> set[tuple[str, str]]:
    """The runs that ended: those that ran, and those skipped once what they come after ended too (a skipped hour's
    rest ends when the hour before it does, so the next hour still follows that one). The plan names only earlier
    runs in `after`, so one pass in its order settles it."""
    ended: set[tuple[str, str]] = set()
    for run in plan:
        if run.name in results or (run.name in skipped
                                   and all(n in ended or n not in planned for n in run.after)):
            ended.add(run.name)
    return ended


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
