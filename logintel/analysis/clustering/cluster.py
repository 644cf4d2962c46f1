"""cluster_patterns: one hour's distinct patterns → cluster labels (-1 noise) and a 2-D map to draw."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from logintel.analysis.clustering.config import ClusterConfig
from logintel.analysis.clustering.methods import cluster_labels
from logintel.analysis.clustering.projection import UMAP_MIN_PATTERNS, plot_coordinates, umap_coordinates
from logintel.analysis.clustering.refine import refine_labels
from logintel.analysis.clustering.space import distance_matrix, joint_space

logger = logging.getLogger("logintel.analysis")


@dataclass
class ClusterResult:
    labels: np.ndarray  # one per pattern; -1 noise, clusters numbered 0.. by total events, heaviest first
    projection: np.ndarray  # n × 2, for the plot only: distances in it are not the clustering's
    method: str  # what ran, e.g. "hdbscan/exact" or "hdbscan/umap-10d", and the projection used
    elapsed_s: dict[str, float]
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # events per pattern, as given

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) and self.labels.max() >= 0 else 0

    @property
    def noise(self) -> int:
        return int((self.labels < 0).sum())


def cluster_patterns(vectors, weights=None, activity=None, config: ClusterConfig | None = None) -> ClusterResult:
    """Cluster patterns by what they say and when they happen.

    vectors: n × d summary embeddings; weights: events per pattern (default 1 each); activity: n × T
    counts per time slot over the partition (None: no timing, meaning alone). NaN and inf count as 0.
    """
    config = config or ClusterConfig()
    begun = time.perf_counter()
    vectors, weights, activity = _inputs(vectors, weights, activity)
    n = len(vectors)
    if n == 0:
        return ClusterResult(np.zeros(0, dtype=int), np.zeros((0, 2)), f"{config.method}/empty", {"total": 0.0},
                             weights)
    elapsed: dict[str, float] = {}
    started = time.perf_counter()
    joint = joint_space(vectors, weights, activity, config)
    elapsed["space"] = time.perf_counter() - started

    reduced, distances, space = None, None, "exact"
    if config.reduce == "umap" and n > max(config.reduce_above, UMAP_MIN_PATTERNS - 1):
        started = time.perf_counter()
        try:
            reduced = umap_coordinates(joint, config.umap_components, config, min_dist=0.0)
            space = f"umap-{config.umap_components}d"
        except Exception as exc:
            # The joint rows themselves are a correct, if slower, space: Euclidean distance between unit rows
            # orders pairs as the blended distance does, and needs no n × n matrix at this size.
            logger.warning("UMAP reduction failed (%s: %s); clustering on the joint space", type(exc).__name__, exc)
            reduced, space = joint, "joint"
        elapsed["reduce"] = time.perf_counter() - started
    if reduced is None and config.method != "kmeans":
        started = time.perf_counter()
        distances = distance_matrix(joint)
        elapsed["distances"] = time.perf_counter() - started

    started = time.perf_counter()
    raw = cluster_labels(config, joint, distances, reduced, weights)
    elapsed["cluster"] = time.perf_counter() - started
    started = time.perf_counter()
    labels = refine_labels(raw, joint, weights, config, distances)
    elapsed["refine"] = time.perf_counter() - started
    started = time.perf_counter()
    projection, drawn_by = plot_coordinates(joint, config)
    elapsed["projection"] = time.perf_counter() - started
    elapsed["total"] = time.perf_counter() - begun
    return ClusterResult(labels=labels, projection=projection, method=f"{config.method}/{space}; plot {drawn_by}",
                         elapsed_s=elapsed, weights=weights)


def _inputs(vectors, weights, activity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = _finite(vectors, "vectors")
    if vectors.ndim != 2:
        if vectors.size:
            raise ValueError(f"vectors must be n × d, got shape {vectors.shape}")
        vectors = vectors.reshape(0, 0)
    n = len(vectors)
    weights = np.ones(n) if weights is None else np.clip(_finite(weights, "weights").reshape(-1), 0.0, None)
    activity = np.zeros((n, 0)) if activity is None else _finite(activity, "activity")
    if activity.ndim == 1 and n == 0:
        activity = activity.reshape(0, 0)
    if len(weights) != n or activity.ndim != 2 or len(activity) != n:
        raise ValueError(f"one row per pattern expected: vectors {vectors.shape}, weights {weights.shape}, "
                         f"activity {activity.shape}")
    return vectors, weights, activity


def _finite(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers ({exc})") from None
    return np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
