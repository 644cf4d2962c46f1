"""Embedding and clustering one hour's patterns: the glue between event_patterns, the embedding
cache and the clustering; the caller hands in the embedder and the clustering's knobs."""
from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np

from logintel.analysis.clustering import ClusterConfig, cluster_patterns
from logintel.analysis.embeddings import Embedder, EmbeddingCache
from logintel.store.schema import ensure_tables
from logintel.store.state_store import StateStore
from logintel.store.warehouse import transaction

log = logging.getLogger("logintel.clusters")


def unclustered(n: int, weights, why: str):
    from logintel.analysis.clustering import ClusterResult
    return ClusterResult(labels=np.full(n, -1, dtype=int), projection=np.zeros((n, 2)), method=why,
                         elapsed_s={}, weights=np.asarray(weights, dtype=float))



def _patterns(con, start):
    return con.execute("""SELECT pattern_id, summary, events, errors, service FROM event_patterns
                          WHERE partition_hour = $h ORDER BY pattern_id""", {"h": start}).fetchall()


def embed_partition(con: duckdb.DuckDBPyConnection, hour: datetime, embedder: Embedder,
                    cache: StateStore | None = None) -> dict:
    """Embed the hour's pattern summaries the cache lacks; `cache`: where the embedding cache is (the state store), by
    default `con`'s own table."""
    started = time.perf_counter()
    rows = _patterns(con, hour.replace(tzinfo=None))
    embeddings = EmbeddingCache()
    embeddings.get_or_embed(con if cache is None else cache, embedder, [r[1] for r in rows])
    stats = embeddings.last
    return {"embedder": embedder.name, "patterns": len(rows), "cache_hits": stats.hits, "embedded": stats.embedded,
            "elapsed_s": time.perf_counter() - started}


def cluster_partition(con: duckdb.DuckDBPyConnection, hour: datetime, embedder: Embedder, config: ClusterConfig,
                      plot_path: Path | None = None, cache: StateStore | None = None) -> dict:
    """Replace partition `hour` of pattern_clusters; returns what the asset shows. `cache`: where the embedding cache
    is (the state store), by default `con`'s own table."""
    from logintel.analysis.cluster_plot import plot_as_markdown, plot_clusters
    started = time.perf_counter()
    start = hour.replace(tzinfo=None)
    ensure_tables(con, "pattern_clusters")
    rows = _patterns(con, start)
    ids = [r[0] for r in rows]
    vectors = EmbeddingCache().get_or_embed(con if cache is None else cache, embedder, [r[1] for r in rows])
    weights = np.array([r[2] for r in rows], dtype=float)
    activity = np.zeros((len(rows), 60))
    index = {pid: i for i, pid in enumerate(ids)}
    for pid, minute, events in con.execute(
            "SELECT pattern_id, minute, events FROM pattern_activity WHERE partition_hour = $h", {"h": start}).fetchall():
        if pid in index and 0 <= minute < 60:
            activity[index[pid], minute] = events
    try:
        result = cluster_patterns(vectors, weights, activity, config)
    except Exception as exc:  # clustering is an aid: a failure must not stop the hour's incidents
        log.warning("clustering failed for %s (%s: %s); every pattern left unclustered",
                    start, type(exc).__name__, exc)
        result = unclustered(len(rows), weights, f"failed: {type(exc).__name__}: {exc}"[:200])
    with transaction(con):
        con.execute("DELETE FROM pattern_clusters WHERE partition_hour = $h", {"h": start})
        if rows:
            con.executemany("INSERT INTO pattern_clusters VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (start, pid, int(result.labels[i]), float(result.projection[i, 0]), float(result.projection[i, 1]),
                 embedder.name, result.method) for i, pid in enumerate(ids)])
    table = []
    for label in range(result.n_clusters):
        members = [i for i in range(len(rows)) if result.labels[i] == label]
        heaviest = max(members, key=lambda i: rows[i][2]) if members else None
        table.append({"cluster": label, "patterns": len(members),
                      "services": ", ".join(sorted({rows[i][4] for i in members})),
                      "errors": int(sum(rows[i][3] for i in members)),
                      "top": rows[heaviest][1][:90] if heaviest is not None else ""})
    names = [r[1] for r in rows]
    written, markdown = None, "_no patterns_"
    if rows and plot_path is not None:
        written, markdown = plot_clusters(result, names, plot_path)  # creates the folder
    elif rows:
        markdown = plot_as_markdown(result, names)
    return {"plot_path": str(written) if written else None, "patterns": len(rows),
            "clusters": result.n_clusters, "noise": result.noise, "method": result.method,
            "table": table[:15], "plot_markdown": markdown,
            "elapsed_s": time.perf_counter() - started}
