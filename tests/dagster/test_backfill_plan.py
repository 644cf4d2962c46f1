"""`logintel backfill --parallel N`'s plan and how its runs are started: each as soon as what it reads is in, the hours'
lake steps, window_changes and security analyst beside the patterns and the incidents, which each follow themselves
hour after hour; a run whose input failed is skipped, and what follows it follows the run before it. The runs here
are stand-ins in real worker processes that log when they start and end (`_stand_in`)."""
import io
import json
import time

from launch.backfill import INCIDENTS, LAKE_STEPS, PATTERNS, SECURITY, WINDOW_CHANGES, hour_plan
from launch.runs import materialize_planned

HOURS = ["2026-03-02-00:00", "2026-03-02-01:00", "2026-03-02-02:00", "2026-03-02-03:00", "2026-03-02-04:00"]
SECONDS = {LAKE_STEPS: 0.15, WINDOW_CHANGES: 0.1, PATTERNS: 0.1, SECURITY: 0.05, INCIDENTS: 0.4}


def _stand_in(job: str, key: str, tags: dict) -> dict:
    """A run: appends (job, key, start, end) to the log file named in its tags; fails where the tags say so."""
    began = time.time()
    time.sleep(SECONDS[job])
    with open(tags["log"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps([job, key, began, time.time()]) + "\n")
    success = [job, key] not in tags["fail"]
    return {"partition": key, "job": job, "success": success, "run_id": f"{job}/{key}", "checks_passed": 0,
            "checks_failed": [], "seconds": round(time.time() - began, 2)}


def _spans(log) -> dict:
    return {(job, key): (start, end) for job, key, start, end in map(json.loads, log.read_text().splitlines())}


def test_the_plan_runs_each_hour_after_what_it_reads_and_the_chains_hour_after_hour():
    plan = hour_plan(HOURS[:2], {})
    first, second = HOURS[:2]
    assert [(r.job, r.key, r.needs, r.after, r.rank) for r in plan] == [
        (LAKE_STEPS, first, (), (), 3),
        (WINDOW_CHANGES, first, ((LAKE_STEPS, first),), (), 2),
        (PATTERNS, first, ((LAKE_STEPS, first),), (), 1),
        (SECURITY, first, ((LAKE_STEPS, first),), (), 2),
        (INCIDENTS, first, ((WINDOW_CHANGES, first), (PATTERNS, first)), (), 0),
        (LAKE_STEPS, second, (), (), 3),
        (WINDOW_CHANGES, second, ((LAKE_STEPS, second),), ((LAKE_STEPS, first),), 2),
        (PATTERNS, second, ((LAKE_STEPS, second),), ((PATTERNS, first),), 1),
        (SECURITY, second, ((LAKE_STEPS, second),), (), 2),
        (INCIDENTS, second, ((WINDOW_CHANGES, second), (PATTERNS, second)), ((INCIDENTS, first),), 0)]


def test_runs_start_once_what_they_read_is_in_and_fill_the_workers_beside_the_chains(tmp_path):
    log = tmp_path / "runs.log"
    tags = {"log": str(log), "fail": [[LAKE_STEPS, HOURS[2]]]}
    out = io.StringIO()
    plan = hour_plan(HOURS, tags)
    ran, skipped = materialize_planned(plan, 2, out, execute=_stand_in)
    spans = _spans(log)
    # the hour whose lake steps failed skips the rest of its runs; nothing else is lost
    assert sorted((s["job"], s["partition"], s["because"]) for s in skipped) == sorted([
        (INCIDENTS, HOURS[2], f"{WINDOW_CHANGES} {HOURS[2]} was skipped"),
        (PATTERNS, HOURS[2], f"{LAKE_STEPS} {HOURS[2]} failed"),
        (SECURITY, HOURS[2], f"{LAKE_STEPS} {HOURS[2]} failed"),
        (WINDOW_CHANGES, HOURS[2], f"{LAKE_STEPS} {HOURS[2]} failed")])
    assert len(ran) == len(spans) == len(plan) - 4
    assert [r["success"] for r in ran].count(False) == 1 and f"skipped {INCIDENTS} {HOURS[2]}" in out.getvalue()
    by_name = {run.name: run for run in plan}

    def ran_before(name):  # what a run follows: the run it names, or, where that was skipped, the one that run follows
        while name not in spans and by_name[name].after:
            name = by_name[name].after[0]
        return name if name in spans else None

    for run in plan:
        if run.name not in spans:
            continue
        start = spans[run.name][0]
        assert all(start >= spans[need][1] for need in run.needs), run.name
        for earlier in filter(None, map(ran_before, run.after)):
            assert start >= spans[earlier][1], (run.name, earlier)
    # never more than two runs at once, and the hours ahead were loaded beside the incidents chain
    moments = sorted(t for span in spans.values() for t in span)
    assert max(sum(1 for s, e in spans.values() if s <= m < e) for m in moments) == 2
    chain = [span for (job, _), span in spans.items() if job == INCIDENTS]
    beside = [span for (job, _), span in spans.items() if job != INCIDENTS]
    assert any(s < chain_end and e > chain_start for chain_start, chain_end in chain for s, e in beside)


def test_a_stop_starts_no_more_runs(tmp_path):
    class Stop:
        requested = False

    stop = Stop()
    log = tmp_path / "runs.log"

    class Out(io.StringIO):
        def write(self, text):
            if "[ 1/" in text:  # the first run ended: stop now
                stop.requested = True
            return super().write(text)

    ran, skipped = materialize_planned(hour_plan(HOURS, {"log": str(log), "fail": []}), 2, Out(), stop,
                                       execute=_stand_in)
    assert 1 <= len(ran) <= 2 and not skipped and len(_spans(log)) == len(ran)
