"""Embeddings cached by sha256(embedder name, text), so each distinct summary is embedded once.

Cost then follows the number of new distinct patterns, not events or partitions. The cache is the state store's
`embeddings` table (`store.state_store`: PostgreSQL when configured, else a SQLite file any number of runs write), which
is where the hourly assets keep it, so embedding an hour writes no DuckDB file; a DuckDB connection of one's own (its
`embeddings_cache` table) serves as well, for a warehouse that is not shared.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from logintel.store.schema import ensure_tables
from logintel.store.state_store import StateStore
from logintel.analysis.embeddings.base import Embedder, EmbedderUnavailable, EmbeddingFailed, empty



def cache_key(embedder_name: str, text: str) -> str:
    # The separator keeps ("a", "bc") and ("ab", "c") apart.
    return hashlib.sha256(f"{embedder_name}\x1f{text}".encode()).hexdigest()


@dataclass
class CacheStats:
    texts: int = 0  # rows asked for
    distinct: int = 0  # distinct texts among them
    hits: int = 0  # distinct texts found in the cache
    embedded: int = 0  # distinct texts the embedder was called for

    def add(self, other: "CacheStats") -> None:
        self.texts += other.texts
        self.distinct += other.distinct
        self.hits += other.hits
        self.embedded += other.embedded


@dataclass
class EmbeddedTexts:
    vectors: np.ndarray
    embedder: str  # the name of the embedder whose space the vectors are in
    fallback_reason: str | None  # why an earlier embedder in the list was passed over; None if none was
    stats: CacheStats = field(default_factory=CacheStats)


class EmbeddingCache:
    """`last` holds the counts of the latest call, `total` the counts since construction."""

    def __init__(self) -> None:
        self.last = CacheStats()
        self.total = CacheStats()

    def get_or_embed(self, where: duckdb.DuckDBPyConnection | StateStore, embedder: Embedder,
                     texts: list[str]) -> np.ndarray:
        """One row per text, in order; only the distinct texts missing from the cache (`where`: the state store, or a
        DuckDB connection) reach the embedder."""
        stats = CacheStats(texts=len(texts))
        self.last = stats
        if not texts:
            return empty(embedder.dim)
        if not isinstance(where, StateStore):
            ensure_tables(where, "embeddings_cache")
        distinct = list(dict.fromkeys(texts))
        keys = [cache_key(embedder.name, text) for text in distinct]
        stats.distinct = len(distinct)
        found = _lookup(where, keys, embedder.dim)
        missing = [i for i, key in enumerate(keys) if key not in found]
        stats.hits = len(distinct) - len(missing)
        if missing:
            fresh = np.asarray(embedder.embed([distinct[i] for i in missing]), dtype=np.float32)
            if fresh.ndim != 2 or fresh.shape[0] != len(missing):
                raise EmbeddingFailed(f"embedder {embedder.name} returned {fresh.shape} for {len(missing)} texts")
            _store(where, embedder.name, [keys[i] for i in missing], fresh)
            found.update({keys[i]: fresh[row] for row, i in enumerate(missing)})
            stats.embedded = len(missing)
        self.total.add(stats)
        widths = {len(vector) for vector in found.values()}
        if len(widths) > 1:
            raise EmbeddingFailed(f"embedder {embedder.name} gave vectors of mixed widths {sorted(widths)}; "
                                  f"give each vector space its own embedder name")
        by_text = {text: found[key] for text, key in zip(distinct, keys)}
        return np.stack([by_text[text] for text in texts]).astype(np.float32)

    def get_or_embed_any(self, con: duckdb.DuckDBPyConnection | StateStore, embedders: list[Embedder],
                         texts: list[str]) -> EmbeddedTexts:
        """The first embedder that embeds every text wins; the next is tried only if it fails.

        All of one call's vectors come from one embedder: mixing spaces within a partition would make
        the distances between its patterns meaningless.
        """
        reasons = []
        for embedder in embedders:
            try:
                vectors = self.get_or_embed(con, embedder, texts)
            except (EmbedderUnavailable, EmbeddingFailed) as exc:
                reasons.append(f"{embedder.name}: {exc}")
                continue
            return EmbeddedTexts(vectors=vectors, embedder=embedder.name,
                                 fallback_reason="; ".join(reasons) or None, stats=self.last)
        raise EmbedderUnavailable("no embedder could embed the texts: " + "; ".join(reasons))


def _lookup(con: duckdb.DuckDBPyConnection | StateStore, keys: list[str], dim: int) -> dict[str, np.ndarray]:
    if isinstance(con, StateStore):
        return con.embeddings_held(keys, int(dim))
    con.register("_embedding_keys", pa.table({"key": pa.array(keys, pa.string())}))
    try:
        found = con.execute("""
            SELECT c.key, c.vector FROM embeddings_cache c JOIN _embedding_keys k ON c.key = k.key
            WHERE $dim <= 0 OR c.dim = $dim""", {"dim": int(dim)}).fetchnumpy()
    finally:
        con.unregister("_embedding_keys")
    # A row of another width under the same name is stale (the embedder changed): it counts as a miss.
    return {key: np.asarray(vector, dtype=np.float32) for key, vector in zip(found["key"], found["vector"])}


def _store(con: duckdb.DuckDBPyConnection | StateStore, name: str, keys: list[str], vectors: np.ndarray) -> None:
    if isinstance(con, StateStore):
        con.keep_embeddings(name, keys, vectors)
        return
    dim = vectors.shape[1]
    rows = pa.table({
        "key": pa.array(keys, pa.string()),
        "embedder": pa.array([name] * len(keys), pa.string()),
        "dim": pa.array([dim] * len(keys), pa.int32()),
        "vector": pa.ListArray.from_arrays(pa.array(np.arange(0, (len(keys) + 1) * dim, dim), pa.int32()),
                                           pa.array(vectors.ravel(), pa.float32())),
    })
    con.register("_embedding_rows", rows)
    try:
        con.execute("INSERT OR REPLACE INTO embeddings_cache SELECT key, embedder, dim, vector FROM _embedding_rows")
    finally:
        con.unregister("_embedding_rows")
