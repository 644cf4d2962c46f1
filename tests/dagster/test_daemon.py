"""The daemon, end to end: the real `dagster-daemon run` on a throwaway instance loads the code location from
workspace.yaml and ticks the sensors (on by default). A breaching burst in the landing zone makes
error_threshold_sensor launch the hourly run that puts the incident into the warehouse; a dump file as the
emitter leaves it makes dump_files_sensor launch `replay_dumps`, and its report makes replayed_partitions_sensor
launch the hour's run that brings the replayed events into the warehouse. Then every process it started stops."""
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from launch.instance import prepare_dagster_home
from launch.process_group import start_group, stop_group
from logintel.config import load_settings
from logintel.ingest.buffer import Item
from logintel.ingest.transports.disk import DumpWriter
from logintel.store.landing_files import FileLandingZone
from logintel.store.warehouse import connect
from tests.support import REPO_ROOT
from tests.support.factories import burst, steady
from tests.support.process_tree import descendants, in_groups, wait_until_gone
from tests.support.sensor_ticks import partition_key

RUNS_S = 480  # three runs (two of the whole hourly graph) launched by the daemon on a busy 2-core machine
STOP_S = 30   # the daemon, its code server and any run still going get this long after SIGINT
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]
FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.CANCELING}


def _env(home: Path, dagster_home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGINTEL_", "OPENAI_", "DAGSTER_"))}
    return {**env, "LOGINTEL_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}


def _by_sensor(instance, sensor: str) -> list:
    return instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": sensor}))


def _why(instance, run) -> str:
    errors = [e.message or "" for e in instance.all_logs(run.run_id)
              if e.is_dagster_event and e.dagster_event.is_failure]
    return f"run {run.run_id[:8]} of {run.job_name} {run.tags.get('dagster/partition', '')}: {run.status}\n" + \
        "\n".join(errors[-5:])


def _wait_for(instance, wanted: dict, daemon, log: Path, seen: list) -> dict:
    """Poll the instance until each of `wanted` (name: (sensor, partition or None)) has a successful run;
    fail at once on a failed run or a dead daemon. `seen` collects the daemon's process tree on the way."""
    deadline, done = time.monotonic() + RUNS_S, {}
    while time.monotonic() < deadline:
        assert daemon.poll() is None, f"dagster-daemon exited with {daemon.returncode}:\n{log.read_text()[-3000:]}"
        seen += [p for p in descendants(daemon.pid) if p.pid not in {q.pid for q in seen}]
        for name, (sensor, partition) in wanted.items():
            for run in _by_sensor(instance, sensor):
                if partition and run.tags.get("dagster/partition") != partition:
                    continue
                assert run.status not in FAILED, _why(instance, run)
                if run.status == dg.DagsterRunStatus.SUCCESS:
                    done[name] = run
        if len(done) == len(wanted):
            return done
        time.sleep(2)
    runs = [f"{r.job_name} {r.tags.get('dagster/partition', '')} {r.status}" for r in instance.get_runs()]
    pytest.fail(f"not all runs succeeded in {RUNS_S} s (have {sorted(done)}); runs {runs}:\n{log.read_text()[-3000:]}")


def _settle(instance, timeout_s: float = 120) -> None:
    """Let runs the sensors launched meanwhile (situation briefings) finish, so none is cut off by the stop."""
    deadline = time.monotonic() + timeout_s
    while instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)) and time.monotonic() < deadline:
        time.sleep(2)
    for run in instance.get_runs():
        assert run.status not in FAILED, _why(instance, run)


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.timeout(RUNS_S + 120 + STOP_S + 60)
def test_daemon_sensors_launch_runs_that_reach_the_warehouse(home, monkeypatch, tmp_path, previous_hour):
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))  # prepare_dagster_home sets it; restored after
    settings = load_settings()
    dagster_home = prepare_dagster_home(settings)  # the dagster.yaml `logintel ui` and the demo use
    burst_hour, dump_hour = previous_hour, previous_hour - timedelta(hours=1)
    FileLandingZone(settings.landing_dir).write(
        steady(burst_hour, 1, 5) + burst(burst_hour + timedelta(minutes=10), 10, 80, error_code="PG_TIMEOUT"))
    # Healthy traffic of an earlier hour, only in a dump: nothing for the threshold sensor, all for the replay.
    dumped = steady(dump_hour, 1, 2, service="orders", route="/orders")
    assert DumpWriter(settings.dumps_dir).write([Item.of(e) for e in dumped])[0] == len(dumped)

    log = tmp_path / "daemon.log"
    seen = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:  # its storage exists before the daemon's
        with log.open("wb") as out:
            daemon = start_group([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                 cwd=REPO_ROOT, env=_env(settings.home, dagster_home), stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started = time.monotonic()
        try:  # sensors are on by default (DefaultSensorStatus.RUNNING): the daemon ticks them as it starts
            runs = _wait_for(instance, {
                "threshold": ("error_threshold_sensor", partition_key(burst_hour)),
                "replay": ("dump_files_sensor", None),
                "replayed hour": ("replayed_partitions_sensor", partition_key(dump_hour)),
            }, daemon, log, seen)
            ran_in = time.monotonic() - started
            assert runs["threshold"].job_name == runs["replayed hour"].job_name == "hourly_incidents"
            assert runs["threshold"].tags["logintel/trigger"] == "error_threshold"
            assert runs["replay"].job_name == "replay_dumps"
            _settle(instance)
        finally:
            stopping = time.monotonic()
            stop_group(daemon, signal.SIGINT, grace_s=STOP_S)
            stopped_in = time.monotonic() - stopping
            seen += [p for p in descendants(daemon.pid) if p.pid not in {q.pid for q in seen}]
            left = wait_until_gone(seen, pgids={daemon.pid}, timeout_s=5)
        assert left == [], f"still running after the daemon was stopped: {left}"
        assert in_groups([daemon.pid]) == []
        commands = [p.cmdline for p in seen]
        assert any("dagster api grpc" in c for c in commands)  # the code server the daemon started
        assert sum("multiprocessing.spawn" in c for c in commands) >= 2  # the run and step workers it spawned

    # Only now, with no writer left, the warehouse is opened (read-only).
    con = connect(settings.warehouse_path, read_only=True)
    try:
        incidents = con.execute("SELECT service, route, error_code, errors FROM incidents WHERE partition_hour = ? "
                                "AND merged_into IS NULL",  # a change incident of the burst folds into it
                                [burst_hour.replace(tzinfo=None)]).fetchall()
        replayed = con.execute("SELECT count(*) FROM raw_events WHERE event_id IN (SELECT unnest(?))",
                               [[e.event_id for e in dumped]]).fetchone()[0]
    finally:
        con.close()
    assert [(s, r, c) for s, r, c, _ in incidents] == [("payments", "/payments/charge", "PG_TIMEOUT")]
    assert incidents[0][3] > settings.error_threshold
    assert replayed == len(dumped)
    assert not list(settings.dumps_dir.glob("20*/*.jsonl"))  # replayed, so archived
    print(f"3 runs in {ran_in:.0f} s, {len(seen)} processes stopped in {stopped_in:.1f} s")
