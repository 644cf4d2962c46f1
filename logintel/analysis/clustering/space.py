"""The joint space where meaning and timing meet: one unit row per pattern whose dot products are the blend.

For unit summary vectors e and standardised activity z, the row [sqrt(1-w)·e, sqrt(w)·z] has
dot product (1-w)·cos + w·corr, so 1 - dot is exactly the blended distance; UMAP, k-means and the
exact distance matrix all work in this one space.
"""
from __future__ import annotations

import numpy as np

from logintel.analysis.clustering.config import ClusterConfig


def joint_space(vectors: np.ndarray, weights: np.ndarray, activity: np.ndarray, config: ClusterConfig) -> np.ndarray:
    meaning = _unit(vectors)
    timing, varies = activity_signal(activity)
    # Per-pattern trust in the timing: weak for a handful of events, none for a flat series.
    trust = weights / (weights + config.temporal_evidence_events) if config.temporal_evidence_events > 0 \
        else np.ones_like(weights)
    share = config.temporal_weight * np.where(varies, trust, 0.0)
    joint = np.hstack([np.sqrt(1.0 - share)[:, None] * meaning, np.sqrt(share)[:, None] * timing])
    return _unit(joint)


def activity_signal(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose dot product is the Pearson correlation of sqrt(counts), and which rows vary at all."""
    # sqrt stabilises Poisson noise, so a busy pattern's jitter does not drown a quiet pattern's spike.
    signal = np.sqrt(np.clip(activity, 0.0, None))
    centred = signal - signal.mean(axis=1, keepdims=True) if signal.shape[1] else signal
    norms = np.linalg.norm(centred, axis=1)
    varies = norms > 1e-9
    return centred / np.where(varies, norms, 1.0)[:, None], varies


def distance_matrix(joint: np.ndarray) -> np.ndarray:
    """1 - dot, symmetric, zero diagonal, in [0, 2]."""
    distances = np.clip(1.0 - joint @ joint.T, 0.0, 2.0)
    distances = (distances + distances.T) / 2.0
    np.fill_diagonal(distances, 0.0)
    return distances


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
