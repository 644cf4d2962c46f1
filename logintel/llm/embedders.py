"""The embedder a deployment configured (LOGINTEL_EMBEDDER): a local one (hashed n-grams, the default;
or all-MiniLM-L6-v2) or the OpenAI-compatible endpoint's."""
from __future__ import annotations

from logintel.analysis.embeddings import Embedder, HashingSvdEmbedder
from logintel.config import LLMConfig


def build_embedder(name: str, model: str, llm: LLMConfig) -> Embedder:
    """`name` is one of logintel.config.EMBEDDERS; `model` and `llm` serve the endpoint's embedder."""
    if name == "sentence-transformers":
        from logintel.analysis.embeddings import SentenceTransformerEmbedder
        return SentenceTransformerEmbedder()
    if name == "openai":
        from logintel.llm.embeddings_client import OpenAIEmbedder
        return OpenAIEmbedder(llm, model=model)
    return HashingSvdEmbedder()
