"""The hourly graph with LOGINTEL_TABLE_FORMAT=iceberg gives what it gives on the DuckDB warehouse: the same hours,
backfilled both ways from the same landing zone — on the lake with two hours' lake steps at once — give the same
incidents and the same digest; the lake holds the hours as Iceberg snapshots, and `logintel investigate` reads them.
`logintel migrate` moves a DuckDB warehouse's hours into the lake and proves nothing was lost."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from benchmarks.scale import comparable_digest, same_results
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
        at_once = ["--parallel", "2"] if table_format == "iceberg" else []
        _logintel(home, table_format, "backfill", "--start", "2026-11-23T09:00", "--end", "2026-11-23T11:00", *at_once)
        digest = comparable_digest(json.loads(_logintel(home, table_format, "digest", "--json")))
        outputs[table_format] = (json.loads(_logintel(home, table_format, "incidents", "--json")), digest)
    incidents, digest = outputs["iceberg"]
    assert incidents and any(i.get("error_code") == "PG_TIMEOUT" for i in incidents)
    assert digest["grounding"]["claims"] > 0
    assert outputs["iceberg"][0] == outputs["duckdb"][0]
    differing = sorted(k for k in digest.keys() | outputs["duckdb"][1].keys()
                       if not same_results(digest.get(k), outputs["duckdb"][1].get(k)))
    assert differing == [], {k: (digest.get(k), outputs["duckdb"][1].get(k)) for k in differing}
    # the events and their windows are in the lake, not in the DuckDB file
    import duckdb
    lake_files = list((tmp_path / "iceberg" / "lake").rglob("*.parquet"))
    for table in ("raw_events", "spans", "windowed_aggregates", "window_changes"):
        assert {p.parent.name for p in lake_files if table in p.parts} <= \
            {"partition_hour=2026-11-23T09%3A00%3A00", "partition_hour=2026-11-23T10%3A00%3A00"}
    assert len([p for p in lake_files if {"raw_events", "windowed_aggregates", "window_changes"} & set(p.parts)]) == 6
    warehouse = duckdb.connect(str(tmp_path / "iceberg" / "warehouse.duckdb"), read_only=True)
    assert warehouse.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw_events' "
                             "AND table_type = 'BASE TABLE'").fetchone()[0] == 0 or \
        warehouse.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
    # investigate reads the lake's events through the same views
    found = json.loads(_logintel(tmp_path / "iceberg", "iceberg", "investigate", "--start", "2026-11-23T10:10",
                                 "--end", "2026-11-23T10:22", "--json"))
    assert found["window"]["requests"] > 0


@pytest.mark.subprocess
@pytest.mark.slow
def test_migrate_moves_the_warehouses_hours_into_the_lake_and_readers_see_the_same(tmp_path):
    from logintel.adapters.otlp_metrics import parse_metrics_document
    from tests.adapters.test_otlp_metrics import _resource, document, gauge, point
    home = tmp_path / "home"
    cpu = [point(int((HOUR + timedelta(minutes=m, seconds=10)).timestamp() * 10**9), 0.9 if 30 <= m < 40 else 0.01)
           for m in range(120)]  # a pod's CPU a minute, hot in the minutes investigated below
    metrics = parse_metrics_document(document(gauge("k8s.pod.cpu.usage", *cpu),
                                              resource=_resource("ledger", "ledger-0"))).events
    FileLandingZone(home / "landing").write(steady(HOUR, 2, 4) + burst(HOUR + timedelta(minutes=30), 10, 80,
                                                                      error_code="PG_TIMEOUT") + metrics)
    _logintel(home, "duckdb", "backfill", "--start", "2026-11-23T09:00", "--end", "2026-11-23T11:00")
    window = ["investigate", "--start", "2026-11-23T09:28", "--end", "2026-11-23T09:42", "--json"]
    before = json.loads(_logintel(home, "duckdb", *window))
    incidents_before = json.loads(_logintel(home, "duckdb", "incidents", "--json"))
    findings = ["findings", "--date", "2026-11-23", "--json"]
    findings_before = json.loads(_logintel(home, "duckdb", *findings))
    report = json.loads(_logintel(home, "iceberg", "migrate", "--json"))
    tables = {t["table"]: t for t in report["tables"]}
    assert set(tables) == {"raw_events", "spans", "metric_points", "windowed_aggregates", "window_changes",
                           "event_patterns", "pattern_activity", "pattern_clusters", "incidents", "findings",
                           "analyst_runs"}
    assert tables["metric_points"]["hours"] == 2 and tables["metric_points"]["rows"] == 120
    assert any(c["kind"] == "resource" and c["service"] == "ledger" for c in before["candidates"])
    assert all(t["verified"] for t in tables.values())
    assert tables["incidents"]["rows"] > 0 and tables["event_patterns"]["rows"] > 0
    assert tables["analyst_runs"]["rows"] > 0  # every analyst's run is kept, with or without findings
    assert incidents_before and json.loads(_logintel(home, "iceberg", "incidents", "--json")) == incidents_before
    assert json.loads(_logintel(home, "iceberg", *findings)) == findings_before
    assert tables["window_changes"]["hours"] == 2 and tables["window_changes"]["rows"] == 2 * 12  # every window
    assert tables["raw_events"]["hours"] == 2 and tables["raw_events"]["rows"] == 2 * 60 * 4 + 80
    after = json.loads(_logintel(home, "iceberg", *window))  # now read from the lake's views
    for by_design in ("elapsed_s",):
        before.pop(by_design), after.pop(by_design)
    assert after == before
    again = json.loads(_logintel(home, "iceberg", "migrate", "--json"))  # a second run replaces, adds nothing
    assert [t["rows"] for t in again["tables"]] == [t["rows"] for t in report["tables"]]
    # after an upgrade that made more tables lake tables, only those
    some = json.loads(_logintel(home, "iceberg", "migrate", "--tables", "incidents,findings", "--json"))
    assert [(t["table"], t["rows"], t["verified"]) for t in some["tables"]] == [
        ("incidents", tables["incidents"]["rows"], True), ("findings", tables["findings"]["rows"], True)]
    unknown = subprocess.run([sys.executable, "-m", "launch.cli", "migrate", "--tables", "incidents,alerts"],
                             capture_output=True, text=True, cwd=REPO_ROOT,
                             env=dict(os.environ, LOGINTEL_HOME=str(home), LOGINTEL_TABLE_FORMAT="iceberg"))
    assert unknown.returncode == 2 and "alerts" in unknown.stderr and "analyst_runs" in unknown.stderr
    assert report["state"]["where"] == str(home / "state" / "state.db")
    state_only = subprocess.run([sys.executable, "-m", "launch.cli", "migrate", "--json"], capture_output=True,
                                text=True, cwd=REPO_ROOT,
                                env=dict(os.environ, LOGINTEL_HOME=str(home), LOGINTEL_TABLE_FORMAT="duckdb"))
    assert state_only.returncode == 0 and "LOGINTEL_TABLE_FORMAT=iceberg" in state_only.stderr  # how to move the rest
    assert json.loads(state_only.stdout)["tables"] == []


@pytest.mark.subprocess
def test_parallel_hours_on_the_duckdb_warehouse_are_refused_with_the_reason(tmp_path):
    refused = subprocess.run([sys.executable, "-m", "launch.cli", "backfill", "--start", "2026-11-23T09:00", "--end",
                              "2026-11-23T11:00", "--parallel", "2"], capture_output=True, text=True, cwd=REPO_ROOT,
                             env=dict(os.environ, LOGINTEL_HOME=str(tmp_path), LOGINTEL_TABLE_FORMAT="duckdb"))
    assert refused.returncode == 2
    assert "LOGINTEL_TABLE_FORMAT=iceberg" in refused.stderr and "one writing process" in refused.stderr
