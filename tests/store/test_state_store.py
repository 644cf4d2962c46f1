"""The state store (the LLM call log and the digest history, outside the DuckDB warehouse) on a real SQLite file
and on the throwaway PostgreSQL: the same rules on both; four processes writing calls at once all land, once
each; an old warehouse's tables move in without overwriting what the store already holds."""
from __future__ import annotations

import multiprocessing
from datetime import date, datetime, timedelta, timezone

import duckdb
import pytest

from logintel.store.state_store import CALL_COLUMNS, DIGEST_COLUMNS, StateStore, import_from_warehouse

T0 = datetime(2026, 3, 1, 12, 0)


def _call(call_id: str, partition: str | None = "2026-03-01-12:00", asset: str | None = "incidents",
          started_at: datetime = T0, outcome: str = "ok", tokens: int = 100, cost: float = 0.001,
          latency: float = 50.0) -> tuple:
    values = {"call_id": call_id, "started_at": started_at, "prompt_name": "incident_summary", "prompt_version": "3",
              "writer": "openai:gpt-4o-mini", "model": "gpt-4o-mini", "latency_ms": latency,
              "prompt_tokens": tokens, "completion_tokens": 10, "cached_tokens": 0, "cost_usd": cost, "attempts": 1,
              "outcome": outcome, "fallback_reason": None if outcome == "ok" else "timeout", "asset": asset,
              "partition": partition}
    return tuple(values[c] for c in CALL_COLUMNS)


def _digest(day: str, ratio: float | None, cost: float = 0.0) -> tuple:
    values = {"day": date.fromisoformat(day), "created_at": datetime.fromisoformat(f"{day}T23:30:00"),
              "writer": "offline/v1", "claims": 10, "grounded": 9, "grounded_ratio": ratio, "invented": 0, "issues": 3,
              "trends": 2, "recommendations": 1, "tokens": 0, "cost_usd": cost, "latency_ms": 0.0,
              "hours_covered": 24, "hours_missing": 0}
    return tuple(values[c] for c in DIGEST_COLUMNS)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return StateStore(path=tmp_path / "state" / "state.db")
    return StateStore(postgres_url=request.getfixturevalue("fresh_postgres_url"))


def test_calls_are_held_once_and_counted_per_partition_asset_and_day(store):
    assert store.add_calls([_call("a"), _call("b", outcome="fallback", latency=900.0)]) == 2
    assert store.add_calls([_call("a"), _call("c", partition="2026-03-01-13:00", asset="daily_digest")]) == 1
    # a call tied to no partition counts for the day it started in
    store.add_calls([_call("d", partition=None, asset=None, started_at=T0 + timedelta(hours=3)),
                     _call("e", partition=None, asset=None, started_at=T0 + timedelta(days=1))])
    calls, tokens, cost, not_ok, latencies = store.call_usage(["2026-03-01-12:00"])
    assert (calls, tokens, not_ok, latencies) == (2, 220, 1, [50.0, 900.0]) and cost == pytest.approx(0.002)
    assert store.call_usage(["2026-03-01-12:00"], asset="daily_digest")[0] == 0
    day = (datetime(2026, 3, 1), datetime(2026, 3, 2))
    assert store.call_usage(["2026-03-01-12:00", "2026-03-01-13:00"], *day)[0] == 4  # a, b, c and d
    assert store.call_usage([])[0] == 0
    assert [c["call_id"] for c in store.calls()] == ["a", "b", "c", "d", "e"]
    assert store.calls()[0]["started_at"] == T0


def test_an_aware_time_is_kept_as_utc(store):
    store.add_calls([_call("z", started_at=datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))])
    assert store.calls()[0]["started_at"] == T0


def test_a_digest_replaces_its_day_and_one_with_nothing_to_verify_has_no_grounded_share(store):
    store.record_digests([_digest("2026-03-01", 0.5)])
    store.record_digests([_digest("2026-03-01", 0.9, cost=0.01), _digest("2026-03-02", None)])
    assert store.digest_rows(30) == [(date(2026, 3, 1), 0.9, 0.01), (date(2026, 3, 2), None, 0.0)]
    assert store.digest_rows(1) == [(date(2026, 3, 2), None, 0.0)]  # the last days, oldest first


def _write_calls(where: dict, worker: int, count: int) -> None:
    store = StateStore(**where)
    for k in range(count):
        store.add_calls([_call(f"w{worker}-{k}"), _call("shared")])  # every worker also offers one common call


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_four_processes_writing_at_once_all_land_once(request, tmp_path, backend):
    where = ({"path": tmp_path / "state.db"} if backend == "sqlite"
             else {"postgres_url": request.getfixturevalue("fresh_postgres_url")})
    StateStore(**where).add_calls([])  # nothing to add: no table needed yet
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_calls, args=(where, w, 25)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    ids = [c["call_id"] for c in StateStore(**where).calls()]
    assert len(ids) == len(set(ids)) == 4 * 25 + 1


def test_an_old_warehouses_tables_move_in_without_overwriting_the_store(store, tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("""CREATE TABLE llm_calls (call_id VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
        prompt_name VARCHAR NOT NULL, prompt_version VARCHAR NOT NULL, writer VARCHAR NOT NULL, model VARCHAR,
        latency_ms DOUBLE NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL, cost_usd DOUBLE NOT NULL, attempts INTEGER NOT NULL, outcome VARCHAR NOT NULL,
        fallback_reason VARCHAR, asset VARCHAR, partition VARCHAR)""")  # as the warehouse kept it
    con.executemany(f"INSERT INTO llm_calls VALUES ({', '.join('?' for _ in CALL_COLUMNS)})",
                    [list(_call("old-1")), list(_call("kept"))])
    con.execute("""CREATE TABLE daily_digests (day DATE PRIMARY KEY, created_at TIMESTAMP NOT NULL,
        writer VARCHAR NOT NULL, claims INTEGER NOT NULL, grounded INTEGER NOT NULL, grounded_ratio DOUBLE,
        invented INTEGER NOT NULL, issues INTEGER NOT NULL, trends INTEGER NOT NULL, recommendations INTEGER NOT NULL,
        tokens INTEGER NOT NULL, cost_usd DOUBLE NOT NULL, latency_ms DOUBLE NOT NULL, hours_covered INTEGER NOT NULL,
        hours_missing INTEGER NOT NULL)""")
    con.executemany(f"INSERT INTO daily_digests VALUES ({', '.join('?' for _ in DIGEST_COLUMNS)})",
                    [list(_digest("2026-02-27", 0.8)), list(_digest("2026-02-28", 0.7))])
    store.add_calls([_call("kept", tokens=999)])
    store.record_digests([_digest("2026-02-28", 1.0)])  # written since: the warehouse's older row must not win
    assert import_from_warehouse(con, store) == (1, 2)
    assert import_from_warehouse(con, store) == (0, 2)  # again: nothing new
    assert {c["call_id"]: c["prompt_tokens"] for c in store.calls()} == {"old-1": 100, "kept": 999}
    assert store.digest_rows(30) == [(date(2026, 2, 27), 0.8, 0.0), (date(2026, 2, 28), 1.0, 0.0)]
    con.close()


def test_a_store_is_a_file_or_a_url_not_both(tmp_path):
    with pytest.raises(ValueError, match="one of the two"):
        StateStore()
    with pytest.raises(ValueError, match="one of the two"):
        StateStore(path=tmp_path / "s.db", postgres_url="postgresql://x@127.0.0.1/y")
