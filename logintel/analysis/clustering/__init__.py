"""Pattern clustering: summaries that mean alike or spike together meet in one cluster (HDBSCAN by default)."""
from logintel.analysis.clustering.cluster import ClusterResult, cluster_patterns
from logintel.analysis.clustering.config import ClusterConfig

__all__ = ["ClusterConfig", "ClusterResult", "cluster_patterns"]
