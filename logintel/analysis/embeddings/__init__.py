"""Embeddings of distinct pattern summaries: pluggable embedders and a warehouse cache keyed by text hash."""
from logintel.analysis.embeddings.base import Embedder, EmbedderUnavailable, EmbeddingFailed, unit_rows
from logintel.analysis.embeddings.cache import (CacheStats, EmbeddedTexts, EmbeddingCache,
                                                cache_key)
from logintel.analysis.embeddings.hashing import HashingSvdEmbedder
from logintel.analysis.embeddings.sentence import SentenceTransformerEmbedder

__all__ = ["CacheStats", "EmbeddedTexts", "Embedder", "EmbedderUnavailable",
           "EmbeddingCache", "EmbeddingFailed", "HashingSvdEmbedder", "SentenceTransformerEmbedder", "cache_key",
           "unit_rows"]
