"""Replay of dump files on real files: idempotent by event_id, torn lines dead-lettered, files archived,
affected hours reported; the Dagster job in process and both sensors' run requests."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from logintel.config import load_settings
from logintel.store.dead_letters import DeadLetterStore
from logintel.ingest.replay import dump_files, replay_dumps
from logintel.store.landing import hour_key
from logintel.store.landing_files import FileLandingZone
from tests.support import REPO_ROOT
from tests.support.factories import event

# The previous hour is always inside the hourly partitions (they end one hour after now).
HOUR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
PARTITION = HOUR.strftime("%Y-%m-%d-%H:00")


def write_dump(dumps, name, events, tail=b""):
    folder = dumps / HOUR.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes("".join(e.to_json() + "\n" for e in events).encode() + tail)
    return path


@pytest.fixture
def setup(home):
    dumps = home / "dumps"
    return dumps, FileLandingZone(home / "landing"), DeadLetterStore(home / "deadletters")


def test_replay_lands_dead_letters_torn_tail_archives_and_reports_hours(setup):
    dumps, zone, store = setup
    events = [event(HOUR + timedelta(minutes=m)) for m in range(5)] + [event(HOUR + timedelta(minutes=70))]
    write_dump(dumps, "seg-1.jsonl", events, tail=b'{"event_id": "torn", "times')
    (dumps / HOUR.strftime("%Y-%m-%d") / "seg-2.jsonl.partial").write_text(events[0].to_json() + "\n")
    report = replay_dumps(dumps, zone, store, dumps / "archive")
    assert (report.lines, report.replayed, report.duplicates, report.dead_lettered) == (7, 6, 0, 1)
    assert report.accounted() and report.by_cause == {"torn_line": 1}
    assert report.partitions == [hour_key(HOUR), hour_key(HOUR + timedelta(hours=1))]
    assert len(zone.read_hour(HOUR).lines) == 5
    [dead] = list(store.records())
    assert dead["stage"] == "replay" and dead["payload"] == '{"event_id": "torn", "times'
    # Archived under the same date folder; the in-progress .partial file was left alone.
    assert (dumps / "archive" / HOUR.strftime("%Y-%m-%d") / "seg-1.jsonl").exists()
    assert [p.name for p in dump_files(dumps)] == []
    assert (dumps / HOUR.strftime("%Y-%m-%d") / "seg-2.jsonl.partial").exists()


def test_replaying_twice_adds_nothing(setup):
    dumps, zone, store = setup
    events = [event(HOUR + timedelta(minutes=m)) for m in range(4)]
    write_dump(dumps, "a.jsonl", events)
    first = replay_dumps(dumps, zone, store, dumps / "archive")
    # The same events dumped again (e.g. a resend after a timeout), plus one repeated within the file.
    write_dump(dumps, "a.jsonl", events + events[:1])
    second = replay_dumps(dumps, zone, store, dumps / "archive")
    assert first.replayed == 4
    assert (second.lines, second.replayed, second.duplicates, second.partitions) == (5, 0, 5, [])
    assert len(zone.read_hour(HOUR).lines) == 4
    assert len(list((dumps / "archive").rglob("a*.jsonl"))) == 2  # same name archived twice, both kept


def cli(home, *args):
    env = dict(os.environ, LOGINTEL_HOME=str(home))
    env.pop("LOGINTEL_POSTGRES_URL", None)
    return subprocess.run([sys.executable, "-m", "logintel.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT)


def test_cli_replay_defaults_to_the_dump_dir_and_saves_a_report(setup, home):
    dumps, zone, _ = setup
    write_dump(dumps, "c.jsonl", [event(HOUR), event(HOUR + timedelta(minutes=1))], tail=b"not json\n")
    out = cli(home, "replay", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (report["replayed"], report["dead_lettered"], report["by_cause"]) == (2, 1, {"invalid_json": 1})
    assert len(list((dumps / "reports").glob("*.json"))) == 1
    idle = cli(home, "replay").stdout
    assert "0 replayed" in idle and "report:" not in idle
    assert len(list((dumps / "reports").glob("*.json"))) == 1  # an idle run leaves no report behind


def tick(sensor, defs, cursor=None):
    from resources import build_resources
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs,
                                          resources=build_resources(load_settings()))
        return sensor.evaluate_tick(context)


def test_job_and_sensors_replay_then_request_the_affected_partitions(defs, setup):
    from sensors.dump_files import dump_files_sensor
    from sensors.replayed_partitions import replayed_partitions_sensor
    dumps, zone, _ = setup
    assert tick(dump_files_sensor, defs).run_requests == []
    path = write_dump(dumps, "d.jsonl", [event(HOUR + timedelta(minutes=5)), event(HOUR + timedelta(minutes=65))])
    seen = tick(dump_files_sensor, defs)
    [request] = seen.run_requests
    assert request.run_config["ops"]["replay_dump_files"]["config"]["paths"] == [str(path)]
    assert tick(dump_files_sensor, defs, cursor=seen.cursor).run_requests == []  # seen once

    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("replay_dumps").execute_in_process(run_config=request.run_config,
                                                                         instance=instance)
    assert result.success
    assert result.output_for_node("replay_dump_files")["replayed"] == 2
    assert not path.exists() and not (dumps.parent / "warehouse.duckdb").exists()

    backfill = tick(replayed_partitions_sensor, defs)
    next_hour = (HOUR + timedelta(hours=1)).strftime("%Y-%m-%d-%H:00")
    assert sorted(r.partition_key for r in backfill.run_requests) == [PARTITION, next_hour]
    assert all(r.tags["logintel/trigger"] == "replay" for r in backfill.run_requests)
    assert tick(replayed_partitions_sensor, defs, cursor=backfill.cursor).run_requests == []
