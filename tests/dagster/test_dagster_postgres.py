"""The production profile's instance: with LOGINTEL_DAGSTER_POSTGRES_URL the runs, event logs and
schedule states that `prepare_dagster_home` configures live in PostgreSQL (read back with SQL)."""
from datetime import datetime, timezone

import dagster as dg
import psycopg
import pytest

from launch.instance import REPO_ROOT, prepare_dagster_home
from logintel.config import load_settings
from logintel.store.landing_files import FileLandingZone
from tests.support.factories import steady
from tests.support.sensor_ticks import partition_key

HOUR = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


@pytest.fixture
def dagster_pg(tmp_path, monkeypatch, fresh_postgres_url):
    """LOGINTEL_HOME with a file landing zone, the Dagster instance in a fresh database; the libpq URL
    (for reading Dagster's tables with psycopg) is returned."""
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LOGINTEL_POSTGRES_URL", raising=False)
    monkeypatch.setenv("LOGINTEL_DAGSTER_POSTGRES_URL",
                       fresh_postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "unset"))  # prepare_dagster_home sets it; restored after
    return fresh_postgres_url


def test_runs_events_and_schedules_of_the_prepared_instance_live_in_postgres(dagster_pg):
    from dagster._core.test_utils import in_process_test_workspace
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
    from definitions import build_definitions

    settings = load_settings()
    FileLandingZone(settings.landing_dir).write(steady(HOUR, 1, 2))
    home = prepare_dagster_home(settings)
    assert "env: LOGINTEL_DAGSTER_POSTGRES_URL" in (home / "dagster.yaml").read_text()  # the URL is not in the file

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)

        job = build_definitions(settings).resolve_job_def("hourly_incidents")
        result = job.execute_in_process(partition_key=partition_key(HOUR), instance=instance,
                                        asset_selection=[dg.AssetKey("raw_events"), dg.AssetKey("windowed_aggregates")])
        assert result.success

        # Through the instance: the run and the asset's latest materialization with its metadata.
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
        latest = instance.get_latest_materialization_event(dg.AssetKey("raw_events"))
        assert latest.run_id == result.run_id and latest.asset_materialization.metadata["loaded"].value == 120

        # The UI's toggles: the schedule (stopped by default) started, the threshold sensor (running by
        # default, so stored only once changed) stopped.
        origin = LoadableTargetOrigin(python_file=str(REPO_ROOT / "definitions.py"), working_directory=str(REPO_ROOT))
        with in_process_test_workspace(instance, origin) as workspace:
            location = next(iter(workspace.code_locations))
            repository = next(iter(location.get_repositories().values()))
            schedule = repository.get_schedule("hourly_incidents_schedule")
            instance.start_schedule(schedule)
            sensor = repository.get_sensor("error_threshold_sensor")
            instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)

    # Straight from PostgreSQL: Dagster's own tables hold the run, its events and the instigators.
    with psycopg.connect(dagster_pg) as conn:
        run = conn.execute("SELECT pipeline_name, status, partition FROM runs WHERE run_id = %s",
                           (result.run_id,)).fetchone()
        assert run == ("hourly_incidents", "SUCCESS", partition_key(HOUR))
        events = conn.execute("SELECT dagster_event_type, asset_key, partition FROM event_logs"
                              " WHERE run_id = %s AND dagster_event_type IS NOT NULL", (result.run_id,)).fetchall()
        materialized = {(key, part) for kind, key, part in events if kind == "ASSET_MATERIALIZATION"}
        assert materialized == {('["raw_events"]', partition_key(HOUR)), ('["windowed_aggregates"]', partition_key(HOUR))}
        # Run events keep their legacy names in the table (RUN_START is stored as PIPELINE_START).
        assert {"PIPELINE_START", "PIPELINE_SUCCESS", "STEP_SUCCESS"} <= {kind for kind, _, _ in events}
        body = conn.execute("SELECT event FROM event_logs WHERE run_id = %s AND dagster_event_type = "
                            "'ASSET_MATERIALIZATION' AND asset_key = '[\"raw_events\"]'", (result.run_id,)).fetchone()[0]
        assert '"loaded"' in body and "120" in body  # the metadata, as Dagster serialized it
        instigators = conn.execute("SELECT selector_id, instigator_type, status FROM instigators").fetchall()
        assert set(instigators) == {(schedule.selector_id, "SCHEDULE", "RUNNING"),
                                    (sensor.selector_id, "SENSOR", "STOPPED")}
        jobs = conn.execute("SELECT job_type, status FROM jobs").fetchall()
        assert sorted(jobs) == [("SCHEDULE", "RUNNING"), ("SENSOR", "STOPPED")]
