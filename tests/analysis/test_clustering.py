"""Pattern clustering on synthetic hours: one cause's different messages meet, background stays out, and
no edge case raises. Only test_umap_path_* runs UMAP (numba compiles on its first call, ~10 s and more)."""
from __future__ import annotations

import base64
import struct
import time

import numpy as np
import pytest

from logintel.analysis.cluster_plot import plot_as_markdown, plot_clusters
from logintel.analysis.clustering import ClusterConfig, ClusterResult, cluster_patterns
from logintel.analysis.clustering import cluster as cluster_module
from logintel.analysis.clustering import projection as projection_module
from logintel.analysis.clustering import refine as refine_module
from logintel.analysis.embeddings import HashingSvdEmbedder

MINUTES = 60
DATABASE_TRIO = [
    "orders POST /orders DB_POOL_EXHAUSTED: connection pool exhausted, waited <*> ms for a connection",
    "inventory GET /stock/{sku} QUERY_TIMEOUT: query timed out after <*> ms",
    "payments POST /charge DB_CONN_RESET: connection reset by peer while reading from database",
]
BACKGROUND = [
    "auth POST /login INVALID_CREDENTIALS: invalid password for user <*>",
    "search GET /search CACHE_MISS: cache miss for key <*>",
    "gateway GET /health UPSTREAM_404: upstream returned 404 for <*>",
    "orders GET /orders/{id} NOT_FOUND: order <*> not found",  # shares a service with the trio
    "payments POST /refund VALIDATION_ERROR: amount must be positive",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = ClusterConfig(projection="pca")  # the default, less the UMAP plot


def database_scene(seed: int):
    """The trio spikes together in minutes 20-31; background patterns keep their own, independent time."""
    rng = np.random.default_rng(seed)
    activity = []
    for rate in (15, 25, 10):
        minutes = rng.poisson(0.3, MINUTES).astype(float)
        minutes[20:32] += rng.poisson(rate, 12)
        activity.append(minutes)
    for i, rate in enumerate((2, 5, 1, 0.5, 3)):
        minutes = rng.poisson(rate, MINUTES).astype(float)
        if i == 2:
            minutes[45:50] += rng.poisson(20, 5)  # a spike of its own, at another time
        if i == 4:
            minutes[5:9] += rng.poisson(12, 4)
        activity.append(minutes)
    activity = np.array(activity)
    return HashingSvdEmbedder().embed(DATABASE_TRIO + BACKGROUND), activity.sum(axis=1), activity


def busy_scene(seed: int, patterns: int):
    """The database trio among `patterns - 3` distinct background patterns of random rates and wording."""
    rng = np.random.default_rng(seed)
    words = "pool exhausted timeout reset token expired cache miss disk full lock wait retry gateway".split()
    texts = DATABASE_TRIO + [f"svc{i % 23} GET /r{i % 7} CODE_{i % 17}: {' '.join(rng.choice(words, 5))} {i}"
                             for i in range(patterns - 3)]
    activity = rng.poisson(rng.lognormal(-0.5, 1.2, (patterns, 1)), (patterns, MINUTES)).astype(float)
    activity[:3, 20:32] += rng.poisson(20, (3, 12))
    return HashingSvdEmbedder().embed(texts), activity.sum(axis=1), activity


@pytest.mark.parametrize("seed", range(8))
def test_database_trio_meets_and_background_stays_out_with_the_default_config(seed):
    vectors, weights, activity = database_scene(seed)

    result = cluster_patterns(vectors, weights, activity)

    trio, background = result.labels[:3], result.labels[3:]
    assert trio[0] >= 0 and (trio == trio[0]).all()  # recall 1.0
    assert not (background == trio[0]).any()  # purity 1.0
    assert (background == -1).all()  # and nothing else pairs up by accident
    assert result.method == "hdbscan/exact; plot pca"  # 8 patterns: exact distances, PCA for the map
    assert result.projection.shape == (8, 2) and np.isfinite(result.projection).all()
    assert set(result.elapsed_s) >= {"space", "cluster", "refine", "projection", "total"}


@pytest.mark.parametrize("method", ["dbscan", "kmeans"])
def test_other_methods_find_the_trio_too(method):
    vectors, weights, activity = database_scene(0)

    labels = cluster_patterns(vectors, weights, activity, ClusterConfig(method=method, projection="pca")).labels

    assert labels[0] >= 0 and (labels[:3] == labels[0]).all() and not (labels[3:] == labels[0]).any()


def test_meaning_alone_does_not_join_the_trio():
    # Timing is what joins one cause's different messages: without it they stay apart.
    vectors, weights, activity = database_scene(0)

    labels = cluster_patterns(vectors, weights, activity, ClusterConfig(temporal_weight=0.0, projection="pca")).labels

    assert not (labels[0] >= 0 and (labels[:3] == labels[0]).all())


def test_two_incidents_at_different_times_stay_two_clusters():
    rng = np.random.default_rng(5)
    texts = DATABASE_TRIO + ["auth POST /login TLS_HANDSHAKE: handshake with idp failed",
                             "users GET /users/{id} INVALID_TOKEN: token signature rejected by idp"] + BACKGROUND
    activity = rng.poisson(0.3, (len(texts), MINUTES)).astype(float)
    activity[0:3, 10:20] += rng.poisson(20, (3, 10))
    activity[3:5, 40:50] += rng.poisson(15, (2, 10))
    activity[5:] += rng.poisson(2, (len(BACKGROUND), MINUTES))

    labels = cluster_patterns(HashingSvdEmbedder().embed(texts), activity.sum(axis=1), activity, FAST).labels

    database, identity = labels[0], labels[3]
    assert database >= 0 and identity >= 0 and database != identity
    assert (labels[:3] == database).all() and (labels[3:5] == identity).all() and (labels[5:] == -1).all()
    assert database == 0  # clusters are numbered by events, heaviest first


def test_one_off_events_in_the_same_minute_prove_nothing():
    # Two single events in one minute correlate perfectly; with so little evidence meaning decides.
    vectors = HashingSvdEmbedder().embed(BACKGROUND[:2])
    activity = np.zeros((2, MINUTES))
    activity[:, 30] = 1
    assert (cluster_patterns(vectors, [1, 1], activity, ClusterConfig(min_cluster_events=0)).labels == -1).all()

    activity[:, 30:35] = 40  # the same coincidence, backed by 200 events each
    labels = cluster_patterns(vectors, activity.sum(axis=1), activity, FAST).labels
    assert labels[0] >= 0 and labels[0] == labels[1]


def test_clusters_lighter_than_min_cluster_events_are_noise():
    vectors, weights, activity = database_scene(1)

    labels = cluster_patterns(vectors, weights, activity, ClusterConfig(min_cluster_events=1e9)).labels

    assert (labels == -1).all()


# --- edge cases: none of them raises ---------------------------------------------------------------------------

def test_no_patterns():
    result = cluster_patterns(np.zeros((0, 128)), np.zeros(0), np.zeros((0, MINUTES)))

    assert result.labels.shape == (0,) and result.projection.shape == (0, 2) and result.n_clusters == 0
    assert cluster_patterns([], [], []).labels.shape == (0,)


def test_one_pattern():
    vectors, weights, activity = database_scene(0)

    result = cluster_patterns(vectors[:1], weights[:1], activity[:1])

    assert result.labels.tolist() == [-1] and result.projection.shape == (1, 2)
    assert np.isfinite(result.projection).all()


@pytest.mark.parametrize("method", ["hdbscan", "dbscan", "kmeans"])
@pytest.mark.parametrize("n", [2, 6, 40])
def test_identical_patterns_form_one_cluster(method, n):
    vectors = np.tile(HashingSvdEmbedder().embed(BACKGROUND[:1]), (n, 1))
    activity = np.tile(np.arange(MINUTES, dtype=float) % 7, (n, 1))

    result = cluster_patterns(vectors, np.full(n, 10.0), activity, ClusterConfig(method=method, projection="pca"))

    assert result.labels.tolist() == [0] * n and np.isfinite(result.projection).all()


def test_nan_and_inf_inputs_are_read_as_zero():
    vectors, weights, activity = database_scene(2)
    vectors, weights, activity = vectors.astype(float), weights.astype(float), activity.copy()
    vectors[3, :5] = np.nan
    weights[4] = np.inf
    activity[5, 10] = np.nan
    activity[6, 11] = -np.inf

    result = cluster_patterns(vectors, weights, activity)

    assert np.isfinite(result.projection).all() and (result.labels[:3] == result.labels[0]).all()


def test_without_timing_meaning_alone_decides():
    vectors = HashingSvdEmbedder().embed(["payments POST /charge PG_TIMEOUT: upstream timeout after <*> ms",
                                          "payments POST /refund PG_TIMEOUT: upstream timeout after <*> ms"]
                                         + BACKGROUND)
    for activity in (None, np.zeros((7, 0)), np.ones((7, MINUTES))):  # none, no slots, flat
        labels = cluster_patterns(vectors, np.full(7, 50.0), activity).labels
        assert labels[0] >= 0 and labels[0] == labels[1] and (labels[2:] == -1).all()


def test_zero_and_negative_weights():
    vectors, _, activity = database_scene(3)

    zero = cluster_patterns(vectors, np.zeros(8), activity, ClusterConfig(min_cluster_events=0))
    negative = cluster_patterns(vectors, -np.ones(8), activity, ClusterConfig(method="kmeans"))

    assert zero.labels.shape == (8,) and negative.labels.tolist() == [-1] * 8  # no events, no cluster


def test_kmeans_with_more_clusters_than_patterns():
    vectors, weights, activity = database_scene(4)
    trio = vectors[:3], weights[:3], activity[:3]

    ten = cluster_patterns(*trio, ClusterConfig(method="kmeans", n_clusters=10, projection="pca"))
    one = cluster_patterns(*trio, ClusterConfig(method="kmeans", n_clusters=1, projection="pca"))

    assert ten.labels.tolist() == [-1, -1, -1]  # k is cut to 3: a pattern alone is no cluster
    assert one.labels.tolist() == [0, 0, 0]


def test_fewer_patterns_than_umap_needs_use_exact_distances():
    vectors, weights, activity = database_scene(5)

    result = cluster_patterns(vectors, weights, activity, ClusterConfig(reduce_above=0, umap_neighbors=50))

    assert result.method == "hdbscan/exact; plot pca" and (result.labels[:3] == result.labels[0]).all()


def test_a_failing_umap_falls_back_to_the_joint_space(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("spectral layout failed")

    monkeypatch.setattr(cluster_module, "umap_coordinates", broken)
    monkeypatch.setattr(projection_module, "umap_coordinates", broken)  # the map falls back to PCA too
    vectors, weights, activity = busy_scene(6, patterns=40)

    result = cluster_patterns(vectors, weights, activity, ClusterConfig(reduce_above=16))

    assert result.method == "hdbscan/joint; plot pca"
    assert result.labels[0] >= 0 and (result.labels[:3] == result.labels[0]).all()
    assert not (result.labels[3:] == result.labels[0]).any()


def test_an_oversized_cluster_is_trimmed_around_its_centre(monkeypatch):
    monkeypatch.setattr(refine_module, "LINKAGE_LIMIT", 4)
    vectors = np.vstack([np.tile(HashingSvdEmbedder().embed(DATABASE_TRIO[:1]), (3, 1)),
                         HashingSvdEmbedder().embed(BACKGROUND[:3])])

    labels = refine_module.refine_labels(np.zeros(6, dtype=int), vectors, np.full(6, 10.0), ClusterConfig())

    assert labels.tolist() == [0, 0, 0, -1, -1, -1]


def test_bad_shapes_and_settings_are_refused():
    with pytest.raises(ValueError, match="one row per pattern"):
        cluster_patterns(np.zeros((3, 4)), np.ones(2), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="method"):
        ClusterConfig(method="spectral")
    with pytest.raises(ValueError, match="temporal_weight"):
        ClusterConfig(temporal_weight=1.5)


# --- the plot ---------------------------------------------------------------------------------------------------

def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_is_a_png_file(tmp_path):
    vectors, weights, activity = database_scene(0)
    result = cluster_patterns(vectors, weights, activity)
    names = DATABASE_TRIO + BACKGROUND[:-1] + ["price is $5 for ${user}: $$ broken mathtext"]

    path, markdown = plot_clusters(result, names, tmp_path / "plots" / "clusters.png")

    width, height = _png_size(path.read_bytes())
    assert path.exists() and width > 300 and height > 200
    # The UI's copy is the same drawing when it fits, not a second rendering.
    assert base64.b64decode(markdown[len("![clusters](data:image/png;base64,"):-1]) == path.read_bytes()


def test_plot_as_markdown_embeds_a_small_png():
    vectors, weights, activity = database_scene(0)
    result = cluster_patterns(vectors, weights, activity)

    markdown = plot_as_markdown(result, DATABASE_TRIO + BACKGROUND)

    prefix = "![clusters](data:image/png;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")") and len(markdown) < 150_000
    _png_size(base64.b64decode(markdown[len(prefix):-1]))


def test_plot_shrinks_until_it_fits_and_draws_an_empty_hour():
    rng = np.random.default_rng(0)
    n = 400
    result = ClusterResult(labels=rng.integers(-1, 30, n), projection=rng.normal(size=(n, 2)), method="test",
                           elapsed_s={}, weights=rng.integers(1, 500, n).astype(float))
    names = [f"service-{i} GET /route/{i} CODE_{i}: message {i}" for i in range(n)]

    small = plot_as_markdown(result, names, max_chars=60_000)
    empty = plot_as_markdown(cluster_patterns(np.zeros((0, 8))), [])

    assert small.startswith("![clusters](data:image/png;base64,") and len(small) <= 60_000
    assert empty.startswith("![clusters](data:image/png;base64,")
    with pytest.raises(ValueError, match="one name per pattern"):
        plot_as_markdown(result, names[:-1])


# --- UMAP: the one test that pays for numba's compilation ------------------------------------------------------

@pytest.mark.slow
def test_umap_path__compiles_numba__reduces_and_projects():
    """UMAP for clustering (forced past reduce_above) and for the map; prints compile vs steady timings."""
    vectors, weights, activity = busy_scene(9, patterns=300)
    config = ClusterConfig(reduce_above=100)

    started = time.perf_counter()
    first = cluster_patterns(vectors, weights, activity, config)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    steady = cluster_patterns(vectors, weights, activity, config)
    steady_s = time.perf_counter() - started
    print(f"\nUMAP, 300 patterns: first call {first_s:.1f} s (numba compiles), steady {steady_s:.1f} s; "
          f"steady split {({k: round(v, 2) for k, v in steady.elapsed_s.items()})}")

    assert first.method == "hdbscan/umap-10d; plot umap"
    assert np.array_equal(first.labels, steady.labels)  # random_state makes UMAP repeatable
    assert first.projection.shape == (300, 2) and np.isfinite(first.projection).all()
    assert first.labels[0] >= 0 and (first.labels[:3] == first.labels[0]).all()
    assert not (first.labels[3:] == first.labels[0]).any()

    for method in ("dbscan", "kmeans"):  # on UMAP coordinates too
        other = cluster_patterns(vectors, weights, activity, ClusterConfig(method=method, reduce_above=100))
        assert other.method == f"{method}/umap-10d; plot umap" and (other.labels[:3] == other.labels[0]).all()

    # Fewer patterns than UMAP's neighbours, and identical ones: both still draw, finitely.
    few = cluster_patterns(vectors[:16], weights[:16], activity[:16], ClusterConfig(umap_neighbors=50))
    same = cluster_patterns(np.tile(vectors[:1], (20, 1)), np.full(20, 5.0), np.tile(activity[:1], (20, 1)))
    assert few.method.endswith("plot umap") and np.isfinite(few.projection).all()
    assert same.labels.tolist() == [0] * 20 and np.isfinite(same.projection).all()


def test_hdbscan_epsilon_search_failure_falls_back_to_plain_hdbscan(monkeypatch):
    # scikit-learn 1.9 raises TypeError from its epsilon search on some trees (seen on a simulated hour)
    from sklearn.cluster import HDBSCAN

    from logintel.analysis.clustering import cluster_patterns as run
    original = HDBSCAN.fit_predict
    calls = []

    def flaky(self, X, y=None, **kwargs):
        calls.append(self.cluster_selection_epsilon)
        if self.cluster_selection_epsilon:
            raise TypeError("only 0-dimensional arrays can be converted to Python scalars")
        return original(self, X, y, **kwargs)

    monkeypatch.setattr(HDBSCAN, "fit_predict", flaky)
    rng = np.random.default_rng(3)
    base = rng.normal(size=(2, 16))
    vectors = np.vstack([base[0] + 0.01 * rng.normal(size=(3, 16)), base[1] + 0.01 * rng.normal(size=(3, 16))])
    result = run(vectors, np.full(6, 20.0), None, ClusterConfig(projection="pca"))
    assert calls and calls[0] > 0 and 0.0 in calls
    assert result.n_clusters == 2
