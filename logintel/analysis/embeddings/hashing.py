"""The default embedder: hashed character and word n-grams, projected by a fixed sparse random map to 128-d.

Needs no model weights and holds no fitted state, so a text gets the same vector in every process,
partition and run; that is what lets vectors be cached across partitions and compared across hours.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from logintel.analysis.embeddings.base import empty, unit_rows

HASHED_FEATURES = 2 ** 20
PROBES = 4  # non-zeros per column of the projection: sparse JL keeps distances well from about 2 up
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class HashingSvdEmbedder:
    """Character 3–5-grams and word 1–2-grams, sublinear TF, summed through one fixed random projection.

    Named for the LSA recipe it stands in for (term weights → SVD). A TruncatedSVD, or IDF weights,
    would be fitted to one partition's texts, so the space would move from hour to hour and cached
    vectors would stop being comparable. Here the projection matrix is never fitted nor stored: the
    entry for (hashed feature j, output dim) is a pure function of (seed, j), computed by splitmix64,
    so it is identical in every process and library version. HashingVectorizer's MurmurHash3 is
    likewise stateless. What IDF would have done is left to the template miner, whose `<*>` masks
    already remove the per-request variable parts.
    """

    def __init__(self, dim: int = 128, seed: int = 7, word_weight: float = 0.5):
        if dim < 2:
            raise ValueError(f"embedding dim must be >= 2, got {dim}")
        if not 0.0 <= word_weight <= 1.0:
            raise ValueError(f"word_weight must be in [0, 1], got {word_weight}")
        self.dim, self.seed, self.word_weight = dim, seed, word_weight
        self.name = f"hashing-v1-d{dim}-s{seed}-w{word_weight:g}"
        # Char n-grams within word boundaries tolerate inflections and ids glued to words
        # ("timed out" / "timeout"); words add the vocabulary ("pool", "exhausted").
        self._chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=HASHED_FEATURES,
                                        alternate_sign=False, norm=None, lowercase=True)
        # Letters and digits only, so DB_POOL_EXHAUSTED and db.pool.exhausted both give db, pool, exhausted.
        self._words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)[^\W_]{2,}",
                                        n_features=HASHED_FEATURES, alternate_sign=False, norm=None,
                                        lowercase=True)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return empty(self.dim)
        texts = [text or "" for text in texts]
        chars = _project(_sublinear(self._chars.transform(texts)), self.dim, self.seed, salt=1)
        words = _project(_sublinear(self._words.transform(texts)), self.dim, self.seed, salt=2)
        # Each block at unit length first, so the weight, not the text length, sets the mix.
        mixed = (np.sqrt(1.0 - self.word_weight) * unit_rows(chars).astype(np.float64)
                 + np.sqrt(self.word_weight) * unit_rows(words).astype(np.float64))
        return unit_rows(mixed)


def _sublinear(counts: sp.csr_matrix) -> sp.csr_matrix:
    # A word repeated in a template should count, but not linearly.
    counts = counts.tocsr(copy=True)
    counts.data = np.log1p(counts.data)
    return counts


def _project(features: sp.csr_matrix, dim: int, seed: int, salt: int) -> np.ndarray:
    """features @ R, where R[j] has PROBES entries ±1/sqrt(PROBES) at dims and signs hashed from (seed, salt, j)."""
    coo = features.tocoo()
    if coo.nnz == 0:
        return np.zeros((features.shape[0], dim))
    # Only the columns these texts use are materialised: R itself would be 2^20 rows.
    used, column = np.unique(coo.col, return_inverse=True)
    compact = sp.csr_matrix((coo.data, (coo.row, column)), shape=(features.shape[0], len(used)))
    keys = used.astype(np.uint64)[:, None] | (np.arange(PROBES, dtype=np.uint64)[None, :] << np.uint64(21))
    with np.errstate(over="ignore"):  # uint64 arithmetic is meant to wrap
        hashed = _splitmix64(keys + np.uint64(salt << 24) + np.uint64(seed) * _GOLDEN)
    dims = (hashed % np.uint64(dim)).astype(np.int64).ravel()
    signs = np.where((hashed >> np.uint64(40)) & np.uint64(1), 1.0, -1.0).ravel() / np.sqrt(PROBES)
    rows = np.repeat(np.arange(len(used)), PROBES)
    projection = sp.csr_matrix((signs, (rows, dims)), shape=(len(used), dim))  # duplicates add up
    return (compact @ projection).toarray()


def _splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))
