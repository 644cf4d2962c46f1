"""PostgresLandingZone against a real PostgreSQL 15 on 127.0.0.1 (see conftest's cluster fixtures)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from logintel.events import WideEvent, parse_json_line
from logintel.store.landing import hour_floor
from logintel.store.landing_postgres import (
    LandingUnavailable,
    PostgresLandingZone,
    libpq_url,
    redact_url,
)
from tests.support.postgres_cluster import free_port

H0 = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
H1 = H0 + timedelta(hours=1)
H2 = H0 + timedelta(hours=2)


def make_event(n: int, hour: datetime, **extra) -> WideEvent:
    return WideEvent(
        event_id=f"evt-{n:06d}", timestamp=hour + timedelta(seconds=n % 3600, microseconds=n),
        service="checkout", route="/orders/{id}", duration_ms=12.5 + n, level="info",
        method="GET", status=200, attributes={"region": "eu-west-1"}, **extra)


@pytest.fixture
def zone(fresh_postgres_url):
    with PostgresLandingZone(fresh_postgres_url) as landing:
        yield landing


def test_round_trip_by_hour(zone):
    events = [make_event(i, H1) for i in range(5)] + [make_event(100 + i, H0) for i in range(3)]
    assert zone.write(events) == 8

    assert zone.hours() == [H0, H1]
    batch = zone.read_hour(H1 + timedelta(minutes=30))  # any instant inside the hour
    assert batch.hour == H1
    assert batch.lines == [e.to_json() for e in events[:5]]
    assert [parse_json_line(line) for line in batch.lines] == events[:5]
    assert all(source.startswith("landing_events:") for source in batch.sources)
    seqs = [int(source.split(":")[1]) for source in batch.sources]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert batch.rejects == []
    assert zone.read_hour(H2).lines == []


def test_payload_is_kept_byte_for_byte(zone):
    event = make_event(1, H0, error_message='tab\there "quoted" \\ back\nslash ünïcødé ✓ \u2028',
                       user_agent="Mozilla/5.0 (X11)")
    zone.write([event])
    [line] = zone.read_hour(H0).lines
    assert line == event.to_json()
    assert parse_json_line(line) == event


def test_rewrite_is_idempotent(zone):
    events = [make_event(i, H0) for i in range(10)]
    assert zone.write(events) == 10
    assert zone.write(events) == 0
    assert zone.write(events[5:] + [make_event(50, H0), make_event(50, H0)]) == 1
    assert len(zone.read_hour(H0).lines) == 11


def test_write_lines_like_the_file_zone(zone):
    events = [make_event(i, H2) for i in range(3)]
    lines = [e.to_json() for e in events] + ['{"event_id": "half', "not json at all"]
    assert zone.write_lines(H2 + timedelta(minutes=5), lines) == 5
    assert zone.write_lines(H2, lines) == 0
    batch = zone.read_hour(H2)
    # Undecodable lines land too: the warehouse turns them into dead letters, as it does for files.
    assert sorted(batch.lines) == sorted(lines)
    assert zone.hours() == [H2]


def test_write_rows_cuts_each_hour_on_the_server(zone):
    events = [make_event(i, H0) for i in range(3)] + [make_event(10 + i, H2) for i in range(2)]
    rows = [(e.event_id, e.timestamp, e.to_json()) for e in events]
    assert zone.write_rows(rows) == 5
    assert zone.write_rows(rows[3:] + [(events[0].event_id, events[0].timestamp, "a different copy")]) == 0
    assert zone.hours() == [H0, H2]
    assert zone.read_hour(H0).lines == [e.to_json() for e in events[:3]]
    assert zone.read_hour(H2).lines == [e.to_json() for e in events[3:]]
    assert zone.write([events[0]]) == 0  # one key space whichever way a row arrived
    naive = make_event(99, H1)
    assert zone.write_rows([(naive.event_id, naive.timestamp.replace(tzinfo=None), naive.to_json())]) == 1
    assert zone.hours() == [H0, H1, H2]  # a naive event time means UTC


def test_write_lines_with_an_escaped_event_id(zone):
    event = make_event(1, H0)
    tricky = WideEvent(**{**{f: getattr(event, f) for f in event.__dataclass_fields__},
                          "event_id": 'id "quoted" \\ slash'})
    assert zone.write_lines(H0, [tricky.to_json()]) == 1
    assert zone.write([tricky]) == 0  # same key whichever way it arrived
    assert zone.read_hour(H0).lines == [tricky.to_json()]


def test_overlapping_concurrent_writers_do_not_deadlock(fresh_postgres_url, monkeypatch):
    monkeypatch.setattr("logintel.store.landing_postgres.BATCH_ROWS", 500)
    events = [make_event(i, H0) for i in range(3000)]
    zones = [PostgresLandingZone(fresh_postgres_url) for _ in range(3)]
    zones[0].hours()  # create the table before the race
    counts: list[int] = []
    errors: list[BaseException] = []

    def writer(landing: PostgresLandingZone, order: list[WideEvent]) -> None:
        try:
            counts.append(landing.write(order))
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    orders = [events, events[::-1], events[1000:] + events[:1000]]
    threads = [threading.Thread(target=writer, args=pair) for pair in zip(zones, orders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for landing in zones:
        landing.close()
    assert errors == []
    assert sum(counts) == 3000


def test_large_batch_spans_several_transactions(zone, monkeypatch):
    monkeypatch.setattr("logintel.store.landing_postgres.BATCH_ROWS", 7)
    events = [make_event(i, H0 + timedelta(hours=i % 2)) for i in range(30)]
    assert zone.write(iter(events)) == 30
    assert zone.write(iter(events)) == 0
    assert len(zone.read_hour(H0).lines) + len(zone.read_hour(H1).lines) == 30


def test_changes_since_progresses_only_with_new_writes(zone):
    first = zone.changes_since(None)
    assert first.hours == set()

    zone.write([make_event(1, H0), make_event(2, H1)])
    after_write = zone.changes_since(first.watermark)
    assert after_write.hours == {H0, H1}
    assert zone.changes_since(None).hours == {H0, H1}

    idle = zone.changes_since(after_write.watermark)
    assert idle.hours == set()
    assert zone.changes_since(idle.watermark).hours == set()

    zone.write([make_event(1, H0)])  # a replay inserts nothing, so nothing changed
    assert zone.changes_since(idle.watermark).hours == set()

    zone.write([make_event(3, H2)])
    assert zone.changes_since(idle.watermark).hours == {H2}


def test_changes_since_sees_rows_that_commit_out_of_seq_order(zone, fresh_postgres_url):
    zone.hours()  # creates the table
    with psycopg.connect(fresh_postgres_url) as slow:
        # This transaction draws the lower seq but commits last.
        slow.execute("INSERT INTO landing_events (event_id, event_time, event_hour, payload) "
                      "VALUES ('slow', %s, %s, '{}')", (H0, H0))
        zone.write([make_event(1, H1)])
        seen = zone.changes_since(None)
        assert seen.hours == {H1}
        slow.commit()
    slow_seq = int(zone.read_hour(H0).sources[0].split(":")[1])
    fast_seq = int(zone.read_hour(H1).sources[0].split(":")[1])
    assert slow_seq < fast_seq
    later = zone.changes_since(seen.watermark)
    assert later.hours == {H0}
    assert zone.changes_since(later.watermark).hours == set()


def test_watermark_from_another_cluster_rescans_everything(zone):
    zone.write([make_event(1, H0)])
    assert zone.changes_since("999999999:999999999:").hours == {H0}


def test_garbage_watermark_is_a_value_error(zone):
    with pytest.raises(ValueError, match="watermark"):
        zone.changes_since("12345")


def test_dead_server_names_the_url():
    port = free_port()  # nothing listens there
    landing = PostgresLandingZone(f"postgresql+psycopg2://app:s3cret@127.0.0.1:{port}/logintel")
    with pytest.raises(LandingUnavailable) as info:
        landing.write([make_event(1, H0)])
    message = str(info.value)
    assert f"postgresql://app:***@127.0.0.1:{port}/logintel" in message
    assert "s3cret" not in message
    assert "refused" in message.lower()
    with pytest.raises(LandingUnavailable):
        landing.hours()


def test_server_stopped_mid_stream_then_back(postgres_cluster, fresh_postgres_url):
    landing = PostgresLandingZone(fresh_postgres_url)
    assert landing.write([make_event(1, H0)]) == 1
    with postgres_cluster.stopped():
        with pytest.raises(LandingUnavailable, match=f"127.0.0.1:{postgres_cluster.port}"):
            landing.write([make_event(2, H0)])
        with pytest.raises(LandingUnavailable):
            landing.changes_since(None)
    # The next call reconnects by itself.
    assert landing.write([make_event(2, H0)]) == 1
    assert len(landing.read_hour(H0).lines) == 2
    landing.close()


def test_idle_connection_survives_a_restart(postgres_cluster, fresh_postgres_url):
    landing = PostgresLandingZone(fresh_postgres_url)
    landing.write([make_event(1, H0)])
    postgres_cluster.restart()
    assert landing.hours() == [H0]
    landing.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2", "postgresql+psycopg", "postgres"])
def test_sqlalchemy_style_urls_are_accepted(fresh_postgres_url, scheme):
    url = scheme + fresh_postgres_url[len("postgresql"):]
    with PostgresLandingZone(url) as landing:
        assert landing.write([make_event(1, H0)]) in (0, 1)
        assert landing.hours() == [H0]
        assert "+" not in landing.describe()


def test_concurrent_first_use_creates_the_table_once(fresh_postgres_url):
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            with PostgresLandingZone(fresh_postgres_url) as landing:
                landing.write([make_event(offset + i, H0) for i in range(50)])
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with PostgresLandingZone(fresh_postgres_url) as landing:
        assert len(landing.read_hour(H0).lines) == 200


def test_custom_table_and_schema(fresh_postgres_url):
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA ingest")
    with PostgresLandingZone(fresh_postgres_url, table="ingest.events") as landing:
        landing.write([make_event(1, H1)])
        assert landing.read_hour(H1).sources[0].startswith("events:")
    with PostgresLandingZone(fresh_postgres_url) as default_table:
        assert default_table.hours() == []


def test_table_name_is_validated():
    with pytest.raises(ValueError):
        PostgresLandingZone("postgresql://x@127.0.0.1/db", table="events; DROP TABLE x")


def test_url_helpers():
    assert libpq_url("postgresql+psycopg2://u:p@h:5432/d") == "postgresql://u:p@h:5432/d"
    assert libpq_url("postgresql+psycopg://h/d") == "postgresql://h/d"
    assert redact_url("postgresql://u:p%40ss@h:5432/d?sslmode=require") == "postgresql://u:***@h:5432/d?sslmode=require"
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert "secret" not in redact_url("postgresql://h/d?user=u&password=secret")
    assert redact_url("host=h user=u password='a b' dbname=d") == "host=h user=u password=*** dbname=d"
    described = PostgresLandingZone("postgresql+psycopg2://u:pw@db.internal:5433/logs").describe()
    assert described == "postgresql://u:***@db.internal:5433/logs"


def test_hour_floor_of_naive_event_time_is_utc(zone):
    naive = make_event(7, H0.replace(tzinfo=None))
    zone.write([naive])
    assert zone.hours() == [hour_floor(H0)]


def test_released_databases_come_back_empty(postgres_cluster):
    url = postgres_cluster.acquire_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA leftovers")
        conn.execute("CREATE TABLE leftovers.t (x int)")
        conn.execute("CREATE TABLE public.u (x int)")
    with PostgresLandingZone(url) as landing:
        landing.write([make_event(1, H0)])
        postgres_cluster.release_database(url)  # even with this zone's connection still open
    again = postgres_cluster.acquire_database()
    try:
        assert again == url
        with psycopg.connect(again) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                                  " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
                                  " AND n.nspname NOT LIKE 'pg\\_temp%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp%'"
                                  ).fetchone()[0]
            schemas = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
                                                  " AND nspname <> 'information_schema'")]
        assert tables == 0
        assert schemas == ["public"]
        with PostgresLandingZone(again) as landing:
            assert landing.hours() == []
    finally:
        postgres_cluster.release_database(again)


def test_an_event_id_with_a_nul_lands_with_its_neighbours(zone):
    # COPY refuses U+0000 in text: one such event built by hand must not send its batch to the dump.
    events = [make_event(i, H0) for i in range(9)]
    events.insert(4, WideEvent(**{**vars_of(make_event(99, H0)), "event_id": "evt-\u0000-99"}))
    assert zone.write(events) == 10
    landed = [parse_json_line(line) for line in zone.read_hour(H0).lines]
    assert {e.event_id for e in landed} == {e.event_id for e in events[:4] + events[5:]} | {"evt-\ufffd-99"}


def vars_of(event: WideEvent) -> dict:
    return {f: getattr(event, f) for f in WideEvent.__dataclass_fields__}


def test_ingesting_a_file_whose_second_line_holds_a_nul_lands_both_lines(zone, tmp_path):
    from logintel.ingest.log_files import ingest_paths
    from logintel.store.dead_letters import DeadLetterStore
    good, bad = make_event(1, H0).to_record(), make_event(2, H0).to_record()
    bad["event_id"], bad["route"] = "evt-\u0000-2", "/orders/\u0000"
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    report = ingest_paths([path], zone, DeadLetterStore(tmp_path / "dead"))
    assert (report.accepted, report.landed, report.dead_lettered) == (2, 2, 0)
    routes = sorted(parse_json_line(line).route for line in zone.read_hour(H0).lines)
    assert routes == ["/orders/{id}", "/orders/\ufffd"]
