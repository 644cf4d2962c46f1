"""The state store (the LLM call log, the digest history and the embedding cache, outside the DuckDB warehouse) on a
real SQLite file and on the throwaway PostgreSQL: the same rules on both; four processes writing calls at once all
land, once each; vectors come back bit for bit, a stale width is left out, and four processes embedding at once
all land; an old warehouse's tables move in without overwriting what the store already holds."""
from __future__ import annotations

import json
import multiprocessing
from datetime import date, datetime, timedelta, timezone

import duckdb
import numpy as np
import pytest

from logintel.store.state_store import (CALL_COLUMNS, DIGEST_COLUMNS, StateStore, import_embeddings,
                                       import_from_warehouse)

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


def test_vectors_come_back_bit_for_bit_and_a_stale_width_is_left_out(store):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((600, 32)).astype(np.float32)  # more keys than one IN list holds
    vectors[0, :3] = [np.float32(1e-45), -0.0, np.float32(3.4e38)]  # a denormal, a negative zero, near the largest
    keys = [f"k{i:04d}" for i in range(600)]
    store.keep_embeddings("hashing-svd-32", keys, vectors)
    held = store.embeddings_held(keys + ["never"], 32)
    assert sorted(held) == keys
    assert all(held[key].dtype == np.float32 and held[key].tobytes() == vectors[i].tobytes()
               for i, key in enumerate(keys))
    assert store.embeddings_held(keys[:2], 64) == {}  # another width under the same key: stale, a miss
    assert len(store.embeddings_held(keys[:2], 0)) == 2  # width not known: whatever is held
    store.keep_embeddings("hashing-svd-64", keys[:1], np.ones((1, 64), dtype=np.float32))  # replaced, not added
    assert store.embeddings_held(keys[:1], 32) == {} and store.embeddings_held(keys[:1], 64)[keys[0]].shape == (64,)


def _embed(where: dict, worker: int) -> None:
    from logintel.analysis.embeddings import EmbeddingCache, HashingSvdEmbedder
    texts = [f"orders POST /orders E{i}: shared summary" for i in range(40)] + \
        [f"worker {worker} own summary {i}" for i in range(10)]
    EmbeddingCache().get_or_embed(StateStore(**where), HashingSvdEmbedder(), texts)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_four_processes_embedding_at_once_all_land_and_agree(request, tmp_path, backend):
    from logintel.analysis.embeddings import HashingSvdEmbedder, cache_key
    where = ({"path": tmp_path / "state.db"} if backend == "sqlite"
             else {"postgres_url": request.getfixturevalue("fresh_postgres_url")})
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_embed, args=(where, w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    embedder = HashingSvdEmbedder()
    texts = [f"orders POST /orders E{i}: shared summary" for i in range(40)] + \
        [f"worker {w} own summary {i}" for w in range(4) for i in range(10)]
    held = StateStore(**where).embeddings_held([cache_key(embedder.name, t) for t in texts], embedder.dim)
    assert len(held) == 80
    assert np.allclose(np.stack([held[cache_key(embedder.name, t)] for t in texts]), embedder.embed(texts), atol=1e-6)


def test_an_old_warehouses_embedding_cache_moves_in(store, tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    assert import_embeddings(con, store) == 0  # a warehouse from before the cache: nothing to move
    con.execute("CREATE TABLE embeddings_cache (key VARCHAR PRIMARY KEY, embedder VARCHAR, dim INTEGER, "
                "vector FLOAT[])")  # as the warehouse kept it
    con.executemany("INSERT INTO embeddings_cache VALUES (?, ?, ?, ?)",
                    [("a", "e-3", 3, [1.0, 2.0, 3.0]), ("b", "e-3", 3, [0.5, 0.25, -1.0]), ("c", "e-2", 2, [7.0, 8.0])])
    assert import_embeddings(con, store, batch=2) == 3
    assert import_embeddings(con, store) == 3  # again: the same rows, replaced
    assert {k: v.tolist() for k, v in store.embeddings_held(["a", "b"], 3).items()} == {
        "a": [1.0, 2.0, 3.0], "b": [0.5, 0.25, -1.0]}
    assert store.embeddings_held(["c"], 2)["c"].tolist() == [7.0, 8.0]
    con.close()


def test_a_document_is_held_whole_under_its_name_and_replaced(store):
    assert store.document("template_miner") is None
    body = json.dumps({"format": "x", "texts": {"caf\u00e9 \udcff": "T1"}})  # ASCII escapes, a lone surrogate
    store.keep_document("template_miner", body)
    store.keep_document("other", "{}")
    assert store.document("template_miner") == body and json.loads(store.document("template_miner"))["format"] == "x"
    big = json.dumps({"texts": {f"t{i}": "x" * 100 for i in range(50_000)}})  # about 5.6 MB: a large miner's state
    store.keep_document("template_miner", big)
    assert store.document("template_miner") == big and store.document("other") == "{}"
