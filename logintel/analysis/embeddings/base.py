"""The Embedder contract: a named, fixed-width map from text to L2-normalised float32 rows."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


class EmbedderUnavailable(RuntimeError):
    """The embedder cannot run here (an optional package or an endpoint is missing); pick another."""


class EmbeddingFailed(RuntimeError):
    """The embedder was reachable but did not answer usefully; nothing was returned for the batch."""


@runtime_checkable
class Embedder(Protocol):
    # `name` is part of every cache key: two embedders may share a name only if they share a vector space.
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text (a blank text gets the zero row)."""
        ...


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as float32; zero rows stay zero rather than becoming NaN."""
    matrix = np.nan_to_num(np.asarray(matrix, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)
