"""Replay through Dagster: the dump-files sensor requests the replay_dumps job for new dump files (once
each), the job replays them in process, and the replayed-partitions sensor then requests the hourly
partitions the replay touched (once)."""
from datetime import timedelta

import dagster as dg
import pytest

from tests.support.dumps import write_dump
from tests.support.factories import event
from tests.support.sensor_ticks import partition_key, tick


@pytest.mark.slow
def test_job_and_sensors_replay_then_request_the_affected_partitions(defs, home, previous_hour):
    from sensors.dump_files import dump_files_sensor
    from sensors.replayed_partitions import replayed_partitions_sensor
    dumps = home / "dumps"  # where the dump-files sensor and the replay job look
    hour = previous_hour  # always inside the hourly partitions (they end one hour after now)
    assert tick(dump_files_sensor, defs).run_requests == []
    path = write_dump(dumps, hour, "d.jsonl", [event(hour + timedelta(minutes=5)), event(hour + timedelta(minutes=65))])
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
    next_hour = partition_key(hour + timedelta(hours=1))
    assert sorted(r.partition_key for r in backfill.run_requests) == [partition_key(hour), next_hour]
    assert all(r.tags["logintel/trigger"] == "replay" for r in backfill.run_requests)
    assert tick(replayed_partitions_sensor, defs, cursor=backfill.cursor).run_requests == []
