"""The hourly graph with LOGINTEL_TABLE_FORMAT=iceberg gives what it gives on the DuckDB warehouse: the same hours,
backfilled both ways from the same landing zone, give the same incidents and the same digest; the lake holds the
hours as Iceberg snapshots, and `logintel investigate` reads them."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from logintel.store.landing_files import FileLandingZone
from tests.support import REPO_ROOT
from tests.support.factories import burst, steady

HOUR = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def _logintel(home, table_format, *args):
    env = dict(os.environ, LOGINTEL_HOME=str(home), LOGINTEL_TABLE_FORMAT=table_format)
    env.pop("LOGINTEL_POSTGRES_URL", None)
    done = subprocess.run([sys.executable, "-m", "launch.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.subprocess
@pytest.mark.slow
def test_the_lake_gives_the_same_incidents_and_digest_as_the_duckdb_warehouse(tmp_path):
    events = (steady(HOUR, 2, 6) + steady(HOUR, 2, 3, service="billing", route="POST /charge")
              + burst(HOUR + timedelta(minutes=70), 12, 120, error_code="PG_TIMEOUT"))
    outputs = {}
    for table_format in ("duckdb", "iceberg"):
        home = tmp_path / table_format
        FileLandingZone(home / "landing").write(events)
        _logintel(home, table_format, "backfill", "--start", "2026-11-23T09:00", "--end", "2026-11-23T11:00")
        digest = json.loads(_logintel(home, table_format, "digest", "--json"))
        for by_design in ("created_at", "markdown_path", "html_path"):  # when and where it was written
            digest.pop(by_design)
        outputs[table_format] = (json.loads(_logintel(home, table_format, "incidents", "--json")), digest)
    incidents, digest = outputs["iceberg"]
    assert incidents and any(i.get("error_code") == "PG_TIMEOUT" for i in incidents)
    assert outputs["iceberg"] == outputs["duckdb"]
    # the events are in the lake, not in the DuckDB file
    import duckdb
    lake_files = list((tmp_path / "iceberg" / "lake").rglob("*.parquet"))
    assert {p.parent.name for p in lake_files if "raw_events" in p.parts} == \
        {"partition_hour=2026-11-23T09%3A00%3A00", "partition_hour=2026-11-23T10%3A00%3A00"}
    warehouse = duckdb.connect(str(tmp_path / "iceberg" / "warehouse.duckdb"), read_only=True)
    assert warehouse.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw_events' "
                             "AND table_type = 'BASE TABLE'").fetchone()[0] == 0 or \
        warehouse.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
    # investigate reads the lake's events through the same views
    found = json.loads(_logintel(tmp_path / "iceberg", "iceberg", "investigate", "--start", "2026-11-23T10:10",
                                 "--end", "2026-11-23T10:22", "--json"))
    assert found["window"]["requests"] > 0
