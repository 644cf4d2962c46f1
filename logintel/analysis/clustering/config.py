"""The knobs of pattern clustering, in one object; the defaults are the ones the tests hold to."""
from __future__ import annotations

from dataclasses import dataclass, replace

from logintel.config import Settings

METHODS = ("hdbscan", "dbscan", "kmeans")
REDUCTIONS = ("umap", "none")
PROJECTIONS = ("umap", "pca")


@dataclass(frozen=True)
class ClusterConfig:
    method: str = "hdbscan"
    # UMAP before clustering only past `reduce_above` patterns. Below it, exact pairwise distances are cheap
    # (3,000 patterns: 0.8 s, +220 MB) and measured better: on synthetic hours of 400-2,000 patterns they
    # kept 91-94% of each planted incident together against 71-77% after UMAP (purity 0.68-0.83 against
    # 0.75-0.82), in a twentieth of the time. Above it the n × n matrix outgrows memory (5,000: +600 MB).
    reduce: str = "umap"
    reduce_above: int = 3000
    umap_components: int = 10
    umap_neighbors: int = 15
    min_cluster_size: int = 2  # patterns: two different messages of one cause are already worth joining
    min_samples: int | None = 1  # HDBSCAN density; 1 lets small groups stand (None: min_cluster_size)
    # Weight enters through events, since HDBSCAN takes no sample weights: a cluster must stand for at
    # least this many events (else noise); DBSCAN counts its core density in events (sample_weight);
    # KMeans centroids are event-weighted; and a pattern's temporal evidence grows with its events.
    min_cluster_events: float = 5.0
    # distance = (1 - w) * cosine distance of the summaries + w * (1 - correlation of the activity).
    # Timing leads: one cause's messages differ, so their summaries sit near cosine 0 and only their
    # spiking together can join them. At 0.6, and the floor below, identical messages still meet on a
    # faint co-movement (correlation >= 0.08), while unrelated ones need correlation >= 0.75.
    temporal_weight: float = 0.6
    # Activity correlation is trusted as n / (n + this) for a pattern of n events: two one-off events in the
    # same minute correlate perfectly and prove nothing.
    temporal_evidence_events: float = 5.0
    # Every cluster is cut (average linkage) until its members are on average at least this similar
    # (similarity = 1 - distance). Unrelated patterns sit near 0; one cause's messages near 0.55.
    similarity_floor: float = 0.45
    n_clusters: int | None = None  # k-means; None: about sqrt(n / 2)
    dbscan_eps: float | None = None  # None: 1 - similarity_floor on exact distances, a k-NN quantile after UMAP
    projection: str = "umap"  # the 2-D plot; PCA below projection_min_patterns, where UMAP breaks
    projection_min_patterns: int = 15
    random_state: int = 7

    def __post_init__(self) -> None:
        _one_of("method", self.method, METHODS)
        _one_of("reduce", self.reduce, REDUCTIONS)
        _one_of("projection", self.projection, PROJECTIONS)
        if not 0.0 <= self.temporal_weight <= 1.0:
            raise ValueError(f"temporal_weight must be in [0, 1], got {self.temporal_weight}")
        if not -1.0 <= self.similarity_floor <= 1.0:
            raise ValueError(f"similarity_floor must be in [-1, 1], got {self.similarity_floor}")
        if self.min_cluster_size < 2:
            raise ValueError(f"min_cluster_size must be >= 2, got {self.min_cluster_size}")
        if self.min_samples is not None and self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1 or None, got {self.min_samples}")
        for name in ("umap_components", "umap_neighbors"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)}")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1 or None, got {self.n_clusters}")
        if self.dbscan_eps is not None and self.dbscan_eps <= 0:
            raise ValueError(f"dbscan_eps must be > 0 or None, got {self.dbscan_eps}")
        if self.min_cluster_events < 0 or self.temporal_evidence_events < 0:
            raise ValueError("min_cluster_events and temporal_evidence_events must be >= 0")

    @classmethod
    def from_settings(cls, settings: Settings) -> "ClusterConfig":
        """LOGINTEL_CLUSTER_METHOD, LOGINTEL_CLUSTER_TEMPORAL_WEIGHT; the plot uses PCA unless
        LOGINTEL_CLUSTER_PROJECTION=umap (UMAP's numba compile costs ~30 s per process)."""
        config = cls(projection=settings.cluster_projection)
        if settings.cluster_method:
            config = replace(config, method=settings.cluster_method)
        if settings.cluster_temporal_weight is not None:
            config = replace(config, temporal_weight=settings.cluster_temporal_weight)
        return config


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
