"""The clustering step proper: HDBSCAN, DBSCAN or k-means, on exact distances or on UMAP coordinates."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.neighbors import NearestNeighbors

from logintel.analysis.clustering.config import ClusterConfig


def cluster_labels(config: ClusterConfig, joint: np.ndarray, distances: np.ndarray | None,
                   reduced: np.ndarray | None, weights: np.ndarray) -> np.ndarray:
    """Labels per pattern (-1 noise). `distances` is the exact matrix, or None when `reduced` stands for it."""
    n = len(joint)
    if n < config.min_cluster_size:
        return np.full(n, -1)
    if np.ptp(joint, axis=0).max(initial=0.0) < 1e-9:
        return np.zeros(n, dtype=int)  # all alike: density methods divide by zero distances here
    if not weights.sum() > 0:
        weights = np.ones(n)  # sklearn refuses all-zero weights; the event floor in refine still applies
    if config.method == "hdbscan":
        return _hdbscan(config, distances, reduced)
    if config.method == "dbscan":
        return _dbscan(config, distances, reduced, weights)
    return _kmeans(config, reduced if reduced is not None else joint, weights)


def _hdbscan(config: ClusterConfig, distances: np.ndarray | None, reduced: np.ndarray | None) -> np.ndarray:
    points = distances if reduced is None else reduced
    min_samples = max(1, min(config.min_samples or config.min_cluster_size, len(points) - 1))
    if reduced is not None:
        return HDBSCAN(min_cluster_size=config.min_cluster_size, min_samples=min_samples, copy=True).fit_predict(points)
    # On exact distances of a few dozen patterns there is too little density for HDBSCAN's stability to
    # mean much: alone it drops the third member of a trio, or finds nothing. Two settings tie it to the
    # floor instead: groups closer than 1 - floor are not split further (cluster_selection_epsilon), and
    # an hour whose patterns are all one incident may be one cluster (allow_single_cluster); the floor
    # then cuts whatever the root cluster lumped together.
    model = HDBSCAN(min_cluster_size=config.min_cluster_size, min_samples=min_samples, metric="precomputed",
                    cluster_selection_epsilon=max(1.0 - config.similarity_floor, 0.0), allow_single_cluster=True,
                    copy=True)
    try:
        return model.fit_predict(points)
    except TypeError:
        # scikit-learn 1.9's epsilon search can fail on some trees ("only 0-dimensional arrays can be
        # converted to Python scalars"); without the epsilon the same density model still stands, and
        # the similarity-floor cut that follows does the splitting the epsilon would have guided.
        return HDBSCAN(min_cluster_size=config.min_cluster_size, min_samples=min_samples, metric="precomputed",
                       allow_single_cluster=True, copy=True).fit_predict(points)


def _dbscan(config: ClusterConfig, distances: np.ndarray | None, reduced: np.ndarray | None,
            weights: np.ndarray) -> np.ndarray:
    # Core density counted in events: a pattern seen 50 times is a core on its own account.
    min_events = max(int(np.ceil(config.min_cluster_events)), 1)
    if reduced is None:
        eps = config.dbscan_eps or max(1.0 - config.similarity_floor, 1e-6)
        model = DBSCAN(eps=eps, min_samples=min_events, metric="precomputed")
        return model.fit_predict(distances, sample_weight=weights)
    # UMAP distances have no fixed scale: take eps from the data. The median nearest-neighbour distance
    # links clumps without chaining the whole map into one component; the floor then decides.
    eps = config.dbscan_eps or _neighbour_distance_quantile(reduced, 0.5)
    return DBSCAN(eps=eps, min_samples=min_events).fit_predict(reduced, sample_weight=weights)


def _kmeans(config: ClusterConfig, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    n = len(points)
    k = config.n_clusters or max(1, round(np.sqrt(n / 2)))
    k = min(k, n, len(np.unique(points.round(9), axis=0)))  # more centres than distinct points cannot be placed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on near-duplicates says nothing we act on
        model = KMeans(n_clusters=k, n_init=4, random_state=config.random_state)
        return model.fit_predict(points, sample_weight=weights)


def _neighbour_distance_quantile(points: np.ndarray, q: float) -> float:
    neighbours = NearestNeighbors(n_neighbors=2).fit(points)
    distances, _ = neighbours.kneighbors(points)
    return max(float(np.quantile(distances[:, 1], q)), 1e-6)
