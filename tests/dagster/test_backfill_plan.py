"""`logintel backfill --parallel N`'s plan and how its runs are started: each as soon as what it reads is in, the hours'
lake steps and window_changes beside the rest of the graph, which follows itself hour after hour; an hour whose
loading failed skips its rest and no later hour waits for it. The runs here are stand-ins in real worker processes
that log when they start and end (`_stand_in`)."""
import io
import json
import os
import time

from launch.backfill import AFTER_LAKE_STEPS, LAKE_STEPS, WINDOW_CHANGES, hour_plan
from launch.runs import materialize_planned

HOURS = ["2026-03-02-00:00", "2026-03-02-01:00", "2026-03-02-02:00", "2026-03-02-03:00", "2026-03-02-04:00"]
SECONDS = {LAKE_STEPS: 0.15, WINDOW_CHANGES: 0.1, AFTER_LAKE_STEPS: 0.4}


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


def test_the_plan_runs_each_hour_after_what_it_reads_and_the_rest_hour_after_hour():
    plan = hour_plan(HOURS[:2], {})
    assert [(r.job, r.key, r.needs, r.after, r.rank) for r in plan] == [
        (LAKE_STEPS, HOURS[0], (), (), 2),
        (WINDOW_CHANGES, HOURS[0], ((LAKE_STEPS, HOURS[0]),), (), 1),
        (AFTER_LAKE_STEPS, HOURS[0], ((WINDOW_CHANGES, HOURS[0]),), (), 0),
        (LAKE_STEPS, HOURS[1], (), (), 2),
        (WINDOW_CHANGES, HOURS[1], ((LAKE_STEPS, HOURS[1]),), ((LAKE_STEPS, HOURS[0]),), 1),
        (AFTER_LAKE_STEPS, HOURS[1], ((WINDOW_CHANGES, HOURS[1]),), ((AFTER_LAKE_STEPS, HOURS[0]),), 0)]


def test_runs_start_once_what_they_read_is_in_and_fill_the_workers_beside_the_serial_chain(tmp_path):
    log = tmp_path / "runs.log"
    tags = {"log": str(log), "fail": [[LAKE_STEPS, HOURS[2]]]}
    out = io.StringIO()
    ran, skipped = materialize_planned(hour_plan(HOURS, tags), 2, out, execute=_stand_in)
    spans = _spans(log)
    # the hour whose lake steps failed skips its window_changes and its rest; nothing else is lost
    assert sorted(skipped, key=lambda s: s["job"]) == [
        {"partition": HOURS[2], "job": AFTER_LAKE_STEPS, "because": f"{WINDOW_CHANGES} {HOURS[2]} was skipped"},
        {"partition": HOURS[2], "job": WINDOW_CHANGES, "because": f"{LAKE_STEPS} {HOURS[2]} failed"}]
    assert len(ran) == len(spans) == 3 * len(HOURS) - 2
    assert [r["success"] for r in ran].count(False) == 1 and f"skipped {AFTER_LAKE_STEPS} {HOURS[2]}" in out.getvalue()
    for index, key in enumerate(HOURS):
        if key == HOURS[2]:
            continue
        start = spans[(WINDOW_CHANGES, key)][0]
        assert start >= spans[(LAKE_STEPS, key)][1]
        if index:  # its first window's baseline is the previous hour's: loaded (or failed) first
            assert start >= spans[(LAKE_STEPS, HOURS[index - 1])][1]
        rest = spans[(AFTER_LAKE_STEPS, key)][0]
        assert rest >= spans[(WINDOW_CHANGES, key)][1]
        earlier = [k for k in HOURS[:index] if (AFTER_LAKE_STEPS, k) in spans]
        if earlier:  # the rest follows the previous hour's rest, one at a time
            assert rest >= spans[(AFTER_LAKE_STEPS, earlier[-1])][1]
    # never more than two runs at once, and the hours ahead were loaded beside the serial chain
    moments = sorted(t for span in spans.values() for t in span)
    at_once = max(sum(1 for s, e in spans.values() if s <= m < e) for m in moments)
    assert at_once == 2
    chain = [spans[(AFTER_LAKE_STEPS, k)] for k in HOURS if (AFTER_LAKE_STEPS, k) in spans]
    beside = [span for (job, _), span in spans.items() if job != AFTER_LAKE_STEPS]
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
    assert os.path.exists(log)
