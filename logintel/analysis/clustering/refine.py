"""What turns raw method labels into clusters worth naming: the similarity floor, minimum size and events."""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from logintel.analysis.clustering.config import ClusterConfig
from logintel.analysis.clustering.space import distance_matrix

LINKAGE_LIMIT = 4000  # members of one cluster: 4,000² distances are 128 MB


def refine_labels(labels: np.ndarray, joint: np.ndarray, weights: np.ndarray, config: ClusterConfig,
                  distances: np.ndarray | None = None) -> np.ndarray:
    """Each cluster cut by average linkage at the floor; groups too small or too light become noise.

    Labels come back numbered by total events, 0 the heaviest, so the first cluster is the one to read.
    Distances are taken in the joint space even after UMAP, whose coordinates have no fixed scale;
    `distances`, the exact matrix when the caller already holds it, saves computing them again.
    """
    max_distance = 1.0 - config.similarity_floor
    groups: list[np.ndarray] = []
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        groups += _cut(members, joint, max_distance, distances)
    kept = [g for g in groups if len(g) >= config.min_cluster_size and weights[g].sum() >= config.min_cluster_events]
    kept.sort(key=lambda g: (-weights[g].sum(), g[0]))
    refined = np.full(len(labels), -1)
    for number, members in enumerate(kept):
        refined[members] = number
    return refined


def _cut(members: np.ndarray, joint: np.ndarray, max_distance: float,
         distances: np.ndarray | None) -> list[np.ndarray]:
    if len(members) < 2:
        return [members]
    if distances is None and len(members) > LINKAGE_LIMIT:
        # Average linkage needs the members' n × n distances; past this size keep, as one group, the
        # members close enough to the group's mean direction, which costs n × d instead.
        centre = joint[members].mean(axis=0)
        centre /= max(np.linalg.norm(centre), 1e-12)
        return [members[1.0 - joint[members] @ centre <= max_distance]]
    among = distance_matrix(joint[members]) if distances is None else distances[np.ix_(members, members)]
    tree = linkage(squareform(among, checks=False), method="average")
    parts = fcluster(tree, t=max_distance, criterion="distance")
    return [members[parts == part] for part in np.unique(parts)]
