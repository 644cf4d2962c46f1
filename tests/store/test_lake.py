"""The lake (LOGINTEL_TABLE_FORMAT=iceberg): raw_events and spans as Iceberg tables, each hour replaced in one
commit, read by DuckDB from the snapshot's data files — on local files with a SQLite catalog, on an S3 server
(moto, 127.0.0.1) with the catalog in PostgreSQL; two processes writing at once; a writer killed before its commit."""
from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest

from logintel.config import LakeConfig, LakeLocation, load_settings
from logintel.store.cursors import own_cursor
from logintel.store.lake import LakeError, open_lake
from logintel.store.lake.mount import mount
from logintel.store.lake.partitions import replace_partition
from logintel.store import parquet_segments
from logintel.store.schema import TABLES

HOUR = datetime(2026, 5, 4, 10)


def _rows(hour: datetime, n: int, service: str = "orders"):
    """n raw_events rows of `hour`, as DuckDB exports them (the hour's load does the same)."""
    con = duckdb.connect()
    con.execute(TABLES["raw_events"])
    con.execute("""INSERT INTO raw_events SELECT 'e-' || i || '-' || strftime($h, '%H'), $h + INTERVAL 1 SECOND * i,
                   $s, '/r', 'GET', 200, 1.5 + i, 'info', NULL, NULL, NULL, 't' || i, NULL, NULL, NULL, NULL, 1,
                   ('{"deploy.version": "v' || i % 3 || '"}')::JSON, $h FROM range($n) t(i)""",
                {"h": hour, "s": service, "n": n})
    return con.sql("SELECT * FROM raw_events").to_arrow_table()


def _local(tmp_path) -> LakeLocation:
    return load_settings({"LOGINTEL_HOME": str(tmp_path / "home"), "LOGINTEL_TABLE_FORMAT": "iceberg"}).lake_location


def _count(lake, table="raw_events", where="TRUE") -> int:
    con = duckdb.connect()
    mount(con, lake)
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]


def test_an_hour_replaced_twice_is_held_once_and_other_hours_are_untouched(tmp_path):
    lake = open_lake(_local(tmp_path))
    assert _count(lake) == 0  # an empty lake mounts: the columns, no rows
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 50))
    replace_partition(lake, "raw_events", HOUR + timedelta(hours=1), _rows(HOUR + timedelta(hours=1), 7))
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 30, service="billing"))
    con = duckdb.connect()
    mount(con, lake)
    assert con.execute("SELECT partition_hour, service, count(*) FROM raw_events GROUP BY ALL ORDER BY 1").fetchall() \
        == [(HOUR, "billing", 30), (HOUR + timedelta(hours=1), "orders", 7)]
    # the view has the warehouse's types: JSON is JSON again, so the analyses' JSON paths work unchanged
    assert con.execute("SELECT typeof(attributes), attributes->>'$.\"deploy.version\"' FROM raw_events "
                       "WHERE event_id = 'e-1-10'").fetchone() == ("JSON", "v1")
    # a cursor (a connection of its own) sees the same views
    assert own_cursor(con).execute("SELECT count(*) FROM raw_events").fetchone()[0] == 37
    # an hour replaced by nothing is empty, not left as it was
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 0))
    assert _count(lake) == 7


def test_rows_of_another_hour_are_refused_before_anything_is_written(tmp_path):
    lake = open_lake(_local(tmp_path))
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 5))
    with pytest.raises(LakeError, match="include other hours"):
        replace_partition(lake, "raw_events", HOUR, _rows(HOUR + timedelta(hours=1), 5))
    assert _count(lake) == 5


def _write_hour(location: LakeLocation, hour: datetime, n: int) -> int:
    return replace_partition(open_lake(location), "raw_events", hour, _rows(hour, n))


def test_two_processes_write_their_hours_at_once_and_both_land(tmp_path):
    location = _local(tmp_path)
    open_lake(location).table("raw_events")  # created once; the writers race only on their commits
    hours = [HOUR + timedelta(hours=k) for k in range(6)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        written = pool.starmap(_write_hour, [(location, hour, 100 + k) for k, hour in enumerate(hours)])
    assert written == [100 + k for k in range(6)]
    con = duckdb.connect()
    mount(con, open_lake(location))
    assert con.execute("SELECT partition_hour, count(*) FROM raw_events GROUP BY 1 ORDER BY 1").fetchall() == \
        [(hour, 100 + k) for k, hour in enumerate(hours)]


def _die_before_commit(location: LakeLocation, hour: datetime) -> None:
    """Write the hour's data files, then be killed (SIGKILL) the moment the commit would start."""
    from pyiceberg.table import Transaction

    def killed(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    Transaction.commit_transaction = killed
    replace_partition(open_lake(location), "raw_events", hour, _rows(hour, 999, service="half-written"))


def test_a_writer_killed_before_its_commit_leaves_the_previous_hour_readable_and_a_retry_succeeds(tmp_path):
    location = _local(tmp_path)
    lake = open_lake(location)
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 40))
    child = multiprocessing.get_context("spawn").Process(target=_die_before_commit, args=(location, HOUR))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL
    parquet = list((tmp_path / "home" / "lake").rglob("*.parquet"))
    assert len(parquet) == 2  # its data file was written, and nothing points at it
    assert _count(lake) == 40 and _count(lake, where="service = 'half-written'") == 0
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 41))  # the retry
    assert _count(lake) == 41


def test_bad_lake_settings_are_refused_naming_the_setting():
    with pytest.raises(ValueError, match="LOGINTEL_TABLE_FORMAT"):
        LakeConfig(table_format="parquet")
    with pytest.raises(ValueError, match="LOGINTEL_LAKE_CATALOG_URL") as refused:
        LakeConfig(table_format="iceberg", catalog_url="mysql://user:secret@db/lake")
    assert "secret" not in str(refused.value)  # the password never reaches the message
    with pytest.raises(ValueError, match="LOGINTEL_LAKE_WAREHOUSE"):
        LakeConfig(table_format="iceberg", warehouse="hdfs://namenode/lake")


@pytest.fixture
def s3_endpoint(monkeypatch):
    """moto's S3 server on 127.0.0.1 with an empty bucket `lake`; credentials as any S3 client reads them."""
    pytest.importorskip("moto")
    import boto3
    from moto.server import ThreadedMotoServer
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="lake")
    yield endpoint
    server.stop()


@pytest.mark.slow
def test_on_object_storage_with_the_catalog_in_postgresql(s3_endpoint, fresh_postgres_url, tmp_path):
    """Production's shape: data files on S3, snapshots committed in PostgreSQL; a second process sees them."""
    catalog = "postgresql+psycopg2://" + fresh_postgres_url.split("://", 1)[1]
    settings = load_settings({"LOGINTEL_HOME": "/nonexistent", "LOGINTEL_TABLE_FORMAT": "iceberg",
                              "LOGINTEL_LAKE_WAREHOUSE": "s3://lake/warehouse", "LOGINTEL_LAKE_CATALOG_URL": catalog,
                              "LOGINTEL_S3_ENDPOINT": s3_endpoint, "LOGINTEL_S3_REGION": "us-east-1"})
    location = settings.lake_location
    assert location.warehouse == "s3://lake/warehouse" and location.catalog_url == catalog
    lake = open_lake(location)
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 25))
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # another process, another catalog connection
        pool.starmap(_write_hour, [(location, HOUR + timedelta(hours=1), 5)])
    assert _count(open_lake(location)) == 30
    # a local data file (a columnar landing segment a load adopted) is uploaded beside the table's own files
    later = HOUR + timedelta(hours=2)
    segment = tmp_path / "segment.parquet"
    pq.write_table(_rows(later, 4).cast(parquet_segments.SCHEMA), segment)
    replace_partition(lake, "raw_events", later, None, [str(segment)])
    assert _count(open_lake(location)) == 34 and _count(lake, where=f"partition_hour = '{later}'") == 4
    import boto3
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
            .list_objects_v2(Bucket="lake")["Contents"]]
    assert sum(k.endswith(".parquet") for k in keys) == 3 and all(k.startswith("warehouse/") for k in keys)


def test_an_hour_session_publishes_its_tables_hour_when_it_ends_and_nothing_when_it_fails(tmp_path):
    from logintel.store.lake.hour_runs import hour_session
    from logintel.store.schema import ensure_tables
    lake = open_lake(_local(tmp_path))
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 12))

    def windows(con, requests):
        ensure_tables(con, "windowed_aggregates")
        con.execute("""INSERT INTO windowed_aggregates SELECT $h, $h, $h + INTERVAL 5 MINUTE, service, route, NULL,
                       $n, 0, 0, $n, 1, 1, 1, 1, 1, 1, true FROM raw_events GROUP BY ALL""", {"h": HOUR, "n": requests})
    with hour_session(lake, HOUR, ("windowed_aggregates",)) as con:
        assert con.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 12  # what it reads is mounted
        windows(con, 12)
        con.execute("SELECT * FROM raw_events")  # a result left unread does not stop the publication
    assert _count(lake, "windowed_aggregates", "requests = 12") == 1
    with pytest.raises(RuntimeError, match="the step failed"):
        with hour_session(lake, HOUR, ("windowed_aggregates",)) as con:
            windows(con, 99)
            raise RuntimeError("the step failed")
    assert _count(lake, "windowed_aggregates", "requests = 12") == 1 and _count(lake, "windowed_aggregates") == 1



def _incident(con, hour: datetime, incident_id: str, status: str = "open") -> None:
    con.execute("""INSERT INTO incidents (incident_id, partition_hour, kind, service, route, start_time, end_time,
                   first_seen, breached_windows, threshold, peak_errors, errors, requests, error_rate, users_affected,
                   severity, status, summary, writer, related_traces, related_traces_total, services, root_cause)
                   VALUES ($id, $h, 'threshold', 'orders', '/r', $h, $h + INTERVAL 10 MINUTE, $h, 2, 5, 9, 12, 40,
                   0.3, 3, 'high', $status, 'orders failing', 'offline/v1', ['t1', 't2'], 2, ['orders', 'db'],
                   '{"service": "db"}'::JSON)""", {"id": incident_id, "h": hour, "status": status})


def test_an_hour_session_with_history_publishes_the_earlier_hours_it_changed_in_the_same_commit(tmp_path):
    """The incidents step reads every hour's incidents and resolves earlier ones: its session starts with all of
    them and publishes its own hour and every hour whose rows it changed as one snapshot; the rest stay as they
    were (their data files untouched), and a failure publishes nothing."""
    from pyiceberg.catalog.sql import SqlCatalog
    from logintel.store.lake.hour_runs import hour_session
    from logintel.store.lake.partitions import data_files
    from logintel.analysis.incidents.incident import ensure_schema
    location = _local(tmp_path)
    lake = open_lake(location)
    hours = [HOUR + timedelta(hours=i) for i in range(3)]
    for number, hour in enumerate(hours[:2]):
        with hour_session(lake, hour, ("incidents",), history=("incidents",)) as con:
            ensure_schema(con)
            _incident(con, hour, f"inc-{number}")
    untouched = [f for f in data_files(lake, "incidents")[0] if "T11" in f]
    commits = len(lake.table("incidents").metadata.metadata_log)  # one entry per commit of the table
    with hour_session(lake, hours[2], ("incidents",), history=("incidents",)) as con:
        ensure_schema(con)
        assert con.execute("SELECT incident_id FROM incidents ORDER BY 1").fetchall() == [("inc-0",), ("inc-1",)]
        con.execute("UPDATE incidents SET status = 'resolved' WHERE incident_id = 'inc-0'")
        _incident(con, hours[2], "inc-2")
    assert len(lake.table("incidents").metadata.metadata_log) == commits + 1  # hours 10 and 12 in one commit
    assert [f for f in data_files(lake, "incidents")[0] if "T11" in f] == untouched
    read = duckdb.connect()
    mount(read, lake)
    assert read.execute("SELECT incident_id, status, services, root_cause->>'service' FROM incidents ORDER BY 1"
                        ).fetchall() == [("inc-0", "resolved", ["orders", "db"], "db"),
                                         ("inc-1", "open", ["orders", "db"], "db"),
                                         ("inc-2", "open", ["orders", "db"], "db")]
    with pytest.raises(RuntimeError, match="the step failed"):
        with hour_session(lake, hours[2], ("incidents",), history=("incidents",)) as con:
            con.execute("UPDATE incidents SET status = 'open'")
            raise RuntimeError("the step failed")
    assert len(lake.table("incidents").metadata.metadata_log) == commits + 1
    # another engine reads the lists as lists
    catalog = SqlCatalog("logintel", uri=location.catalog_url, warehouse=location.warehouse)
    rows = catalog.load_table("logintel.incidents").scan().to_arrow().sort_by("incident_id")
    assert rows["related_traces"].to_pylist() == [["t1", "t2"]] * 3 and rows["status"][0].as_py() == "resolved"


def test_a_reach_copies_only_the_hours_a_step_can_read_or_change(tmp_path):
    """An incidents table grows for as long as logintel runs: the session copies the hours from `back` before its
    own and any hour holding an open incident, not the rest, which keep their data files; what it changes in an
    old open one is published as before."""
    from logintel.store.lake.hour_runs import HistoryReach, hour_session
    from logintel.store.lake.partitions import data_files
    from logintel.analysis.incidents.incident import ensure_schema
    lake = open_lake(_local(tmp_path))
    old_closed, old_open, recent = HOUR - timedelta(days=3), HOUR - timedelta(days=2), HOUR - timedelta(hours=1)
    for hour, incident_id, status in ((old_closed, "closed", "resolved"), (old_open, "stale", "open"),
                                      (recent, "recent", "resolved")):
        with hour_session(lake, hour, ("incidents",), history=("incidents",)) as con:
            ensure_schema(con)
            _incident(con, hour, incident_id, status)
    kept = [f for f in data_files(lake, "incidents")[0] if "T10" in f and "2026-05-01" in f]
    assert len(kept) == 1
    reach = HistoryReach(back=timedelta(hours=2), also="status = 'open'")
    with hour_session(lake, HOUR, ("incidents",), history=("incidents",), reach=reach) as con:
        ensure_schema(con)
        assert con.execute("SELECT incident_id FROM incidents ORDER BY 1").fetchall() == [("recent",), ("stale",)]
        con.execute("UPDATE incidents SET status = 'resolved' WHERE incident_id = 'stale'")
        _incident(con, HOUR, "now")
    assert [f for f in data_files(lake, "incidents")[0] if "T10" in f and "2026-05-01" in f] == kept
    read = duckdb.connect()
    mount(read, lake)
    assert read.execute("SELECT incident_id, status FROM incidents ORDER BY 1").fetchall() == [
        ("closed", "resolved"), ("now", "open"), ("recent", "resolved"), ("stale", "resolved")]

def test_another_engine_reads_the_same_tables_through_the_catalog(tmp_path):
    """pyiceberg's own reader (what Spark, Trino or ClickHouse do through the same catalog): the rows DuckDB sees,
    partition pruning by hour included."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import EqualTo
    location = _local(tmp_path)
    lake = open_lake(location)
    for offset, n in ((0, 20), (1, 9)):
        replace_partition(lake, "raw_events", HOUR + timedelta(hours=offset), _rows(HOUR + timedelta(hours=offset), n))
    # a fresh client; the catalog name is part of each row of the catalog table, as in any JDBC catalog
    catalog = SqlCatalog("logintel", uri=location.catalog_url, warehouse=location.warehouse)
    table = catalog.load_table("logintel.raw_events")
    scan = table.scan(row_filter=EqualTo("partition_hour", (HOUR + timedelta(hours=1)).isoformat()))
    assert len(list(scan.plan_files())) == 1  # the other hour's file is pruned by its partition
    rows = scan.to_arrow().sort_by("event_id")
    con = duckdb.connect()
    mount(con, lake)
    expected = con.execute("SELECT event_id, duration_ms, attributes::VARCHAR FROM raw_events "
                           "WHERE partition_hour = $h ORDER BY event_id", {"h": HOUR + timedelta(hours=1)}).fetchall()
    assert list(zip(rows["event_id"].to_pylist(), rows["duration_ms"].to_pylist(),
                    rows["attributes"].to_pylist())) == expected


def test_two_runs_replacing_the_same_hour_at_once_fail_the_later_commit_and_never_mix_their_rows(tmp_path):
    location = _local(tmp_path)
    first, second = open_lake(location), open_lake(location)
    replace_partition(first, "raw_events", HOUR, _rows(HOUR, 10))
    stale = first.table("raw_events")  # the first run read the table ...
    replace_partition(second, "raw_events", HOUR, _rows(HOUR, 20, service="second"))  # ... the second committed
    first.table = lambda name, refresh=True: stale  # the first commits from what it read
    with pytest.raises(LakeError, match="replaced by another run at the same time"):
        replace_partition(first, "raw_events", HOUR, _rows(HOUR, 30, service="first"))
    con = duckdb.connect()
    mount(con, open_lake(location))
    assert con.execute("SELECT service, count(*) FROM raw_events GROUP BY 1").fetchall() == [("second", 20)]


def test_a_lake_under_a_folder_with_a_quote_in_its_name_mounts(tmp_path):
    location = load_settings({"LOGINTEL_HOME": str(tmp_path / "o'brien's home"),
                              "LOGINTEL_TABLE_FORMAT": "iceberg"}).lake_location
    lake = open_lake(location)
    replace_partition(lake, "raw_events", HOUR, _rows(HOUR, 3))
    assert _count(lake) == 3


def test_findings_stored_before_their_partition_column_migrate_with_it_derived_from_their_scope(tmp_path):
    """A warehouse whose findings predate `partition_hour` is only read by `migrate`: the column comes from the
    scope (an hour's UTC hour, a day's date at 00:00), and the copy is verified row for row."""
    from logintel.store.findings import scope_partition
    from logintel.store.lake.migration import migrate
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    old.execute(TABLES["findings"].replace(",\n    partition_hour TIMESTAMP", ""))
    old.execute("""INSERT INTO findings VALUES
        ('f-1', 'security', '2026-05-04-10:00', '2026-05-04', 'brute_force', 'high', 0.9, 't', 'x', true, '{}', $now),
        ('f-2', 'sre', '2026-05-04', '2026-05-04', 'burn_rate_page', 'critical', 0.99, 't', 'y', true, '{}', $now)""",
                {"now": HOUR})
    old.close()
    source = duckdb.connect(str(path), read_only=True)
    lake = open_lake(_local(tmp_path))
    (result,) = migrate(source, lake, tables=("findings",))
    assert result.verified and (result.hours, result.rows) == (2, 2)
    read = duckdb.connect()
    mount(read, lake)
    assert read.execute("SELECT finding_id, partition_hour FROM findings ORDER BY 1").fetchall() == [
        ("f-1", scope_partition("2026-05-04-10:00", HOUR.date())), ("f-2", datetime(2026, 5, 4))]
    assert scope_partition("2026-05-04-10:00", HOUR.date()) == HOUR
