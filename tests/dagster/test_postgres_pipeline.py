"""The PostgreSQL landing zone end to end: CLI ingest into a real PostgreSQL, the sensor reading it,
and the hourly job materializing from it."""
import json
import subprocess
import sys
from datetime import timedelta

import dagster as dg
import pytest

from logintel.config import load_settings
from logintel.store.landing_postgres import PostgresLandingZone
from tests.support.factories import burst, steady
from tests.support.sensor_ticks import partition_key, tick


@pytest.fixture
def pg_home(tmp_path, monkeypatch, fresh_postgres_url):
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOGINTEL_POSTGRES_URL", fresh_postgres_url)
    return tmp_path / "home"


@pytest.mark.subprocess
def test_cli_ingest_delivers_to_postgres(pg_home, tmp_path, fresh_postgres_url, previous_hour):
    events = steady(previous_hour, 0.5, 4)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(e.to_json() for e in events) + "\n{broken\n")
    out = subprocess.run([sys.executable, "-m", "logintel.cli", "ingest", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "120 accepted" in out.stdout and "1 dead-lettered" in out.stdout
    zone = PostgresLandingZone(fresh_postgres_url)
    assert len(zone.read_hour(previous_hour).lines) == 120
    # ingesting the same file again adds nothing: event ids are the dedupe key
    subprocess.run([sys.executable, "-m", "logintel.cli", "ingest", str(path)], check=True, capture_output=True)
    assert len(zone.read_hour(previous_hour).lines) == 120


@pytest.mark.slow
@pytest.mark.subprocess
def test_sensor_and_job_run_on_the_postgres_landing_zone(pg_home, fresh_postgres_url, previous_hour):
    from definitions import build_definitions
    from sensors.threshold import error_threshold_sensor
    settings = load_settings()
    assert settings.postgres_url == fresh_postgres_url
    zone = PostgresLandingZone(fresh_postgres_url)
    zone.write(steady(previous_hour, 1, 5) + burst(previous_hour + timedelta(minutes=15), 10, 60, error_code="PG_TIMEOUT"))
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        first = tick(error_threshold_sensor, defs, instance=instance)
        assert [r.partition_key for r in first.run_requests] == [partition_key(previous_hour)]
        again = tick(error_threshold_sensor, defs, cursor=first.cursor, instance=instance)
        assert again.run_requests == []
        result = defs.resolve_job_def("hourly_incidents").execute_in_process(
            partition_key=first.run_requests[0].partition_key, instance=instance)
    assert result.success
    meta = result.asset_materializations_for_node("raw_events")[0].metadata
    assert meta["loaded"].value == 360 and meta["landing"].value.startswith("postgresql://")
    out = subprocess.run([sys.executable, "-m", "logintel.cli", "incidents", "--json"], capture_output=True, text=True)
    rows = [r for r in json.loads(out.stdout) if not r["merged_into"]]  # a change incident folds into it
    assert [r["error_code"] for r in rows] == ["PG_TIMEOUT"] and rows[0]["errors"] == 60


def test_sensor_skips_with_the_reason_when_postgres_is_down(tmp_path, monkeypatch):
    import socket
    from definitions import build_definitions
    from sensors.threshold import error_threshold_sensor
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOGINTEL_POSTGRES_URL", f"postgresql://app:secret@127.0.0.1:{port}/logintel")
    result = tick(error_threshold_sensor, build_definitions(load_settings()), cursor='{"watermark": null, "fired": {}}')
    assert result.run_requests == []
    assert "landing zone unavailable" in result.skip_message and "secret" not in result.skip_message
    assert f"127.0.0.1:{port}" in result.skip_message
