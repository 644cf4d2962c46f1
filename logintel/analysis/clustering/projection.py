"""Low-dimensional views of the joint space: UMAP (imported lazily: numba compiles on first use) and PCA."""
from __future__ import annotations

import logging
import warnings

import numpy as np

from logintel.analysis.clustering.config import ClusterConfig

logger = logging.getLogger("logintel.analysis")

# UMAP's spectral initialisation needs a few more points than dimensions; below this it is not worth it.
UMAP_MIN_PATTERNS = 15


def umap_coordinates(joint: np.ndarray, n_components: int, config: ClusterConfig, min_dist: float) -> np.ndarray:
    """UMAP with cosine distance, so its neighbourhoods are the joint space's; raises on degenerate input."""
    import umap  # here, not at module level: importing it alone costs seconds

    n = len(joint)
    model = umap.UMAP(n_components=min(n_components, n - 2), n_neighbors=max(2, min(config.umap_neighbors, n - 1)),
                      min_dist=min_dist, metric="cosine", random_state=config.random_state, n_jobs=1)
    with warnings.catch_warnings():
        # n_jobs overridden by random_state, spectral init falling back to random: both expected here.
        warnings.simplefilter("ignore")
        coordinates = model.fit_transform(joint)
    if not np.isfinite(coordinates).all():
        raise ValueError("UMAP produced non-finite coordinates")
    return _pad(np.asarray(coordinates, dtype=np.float64), n_components)


def plot_coordinates(joint: np.ndarray, config: ClusterConfig) -> tuple[np.ndarray, str]:
    """n × 2 coordinates for the plot and the name of what made them."""
    n = len(joint)
    if config.projection == "umap" and n >= max(config.projection_min_patterns, UMAP_MIN_PATTERNS):
        try:
            return umap_coordinates(joint, 2, config, min_dist=0.1), "umap"
        except Exception as exc:  # a plot is never worth failing the clustering for
            logger.warning("UMAP projection failed (%s: %s); using PCA", type(exc).__name__, exc)
    return pca_coordinates(joint), "pca"


def pca_coordinates(points: np.ndarray) -> np.ndarray:
    """The first two principal components, signs fixed so the same input always draws the same way."""
    if len(points) == 0:
        return np.zeros((0, 2))
    centred = points - points.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    keep = min(2, len(s))
    signs = np.sign(vt[np.arange(keep), np.abs(vt[:keep]).argmax(axis=1)])
    coordinates = u[:, :keep] * s[:keep] * np.where(signs == 0, 1.0, signs)
    return _pad(np.nan_to_num(coordinates), 2)


def _pad(coordinates: np.ndarray, width: int) -> np.ndarray:
    if coordinates.shape[1] >= width:
        return coordinates
    return np.hstack([coordinates, np.zeros((len(coordinates), width - coordinates.shape[1]))])
