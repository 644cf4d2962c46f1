"""Embeddings from an OpenAI-compatible endpoint: batched, redacted before sending, retried within bounds.

Each request (one batch) leaves a CallRecord with prompt_name "embeddings" in the CallLog.
"""
from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import openai

from logintel.analysis.embeddings.base import EmbedderUnavailable, EmbeddingFailed, empty, unit_rows
from logintel.llm.call_log import FALLBACK, OK, CallLog, CallRecord
from logintel.config import LLMConfig
# The gateway's retry policy, reused so that chat and embeddings back off alike.
from logintel.llm.gateway import BACKOFF_BASE_S, BACKOFF_CAP_S, _retry_after_s, _retryable
from logintel.llm.prices import PriceTable
from logintel.llm.redaction import Redactor

logger = logging.getLogger("logintel.llm")

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
MAX_BATCH = 256
PROMPT_NAME = "embeddings"
PROMPT_VERSION = "v1"
# Widths of the hosted models when no `dimensions` is asked for; other models are measured on first answer.
NATIVE_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class OpenAIEmbedder:
    """An Embedder over `client.embeddings.create`; raises EmbeddingFailed once its retries are spent.

    It never falls back by itself: a partition's vectors must all share one space, so the caller
    (EmbeddingCache.get_or_embed_any) switches embedder for the whole call instead.
    """

    def __init__(self, config: LLMConfig, model: str = DEFAULT_EMBEDDING_MODEL, *, dimensions: int | None = None,
                 batch_size: int = MAX_BATCH, recorder: CallLog | None = None, prices: PriceTable | None = None,
                 redactor: Redactor | None = None, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random, clock: Callable[[], float] = time.perf_counter):
        if not config.configured:
            raise EmbedderUnavailable("OpenAI embedder: no endpoint configured (set OPENAI_BASE_URL or OPENAI_API_KEY)")
        if dimensions is not None and dimensions < 1:
            raise ValueError(f"dimensions must be >= 1, got {dimensions}")
        self.config, self.model, self.dimensions = config, model, dimensions
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.recorder = recorder if recorder is not None else CallLog()
        self.prices = prices if prices is not None else PriceTable.for_path(config.price_table)
        # Summaries are templates, but a secret that slipped past the miner must still not leave.
        self.redactor = redactor if redactor is not None else Redactor()
        self._sleep, self._jitter, self._clock = sleep, jitter, clock
        self._observed_dim: int | None = None
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        # The width belongs in the name: a 256-d and a 1536-d answer of one model are different spaces.
        return f"openai:{self.model}" + (f":{self.dimensions}d" if self.dimensions else "")

    @property
    def dim(self) -> int:
        """The vector width; 0 while unknown (an unlisted model that has not answered yet)."""
        return self.dimensions or self._observed_dim or NATIVE_DIMENSIONS.get(self.model, 0)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return empty(self.dim)
        # Blank input is refused by the API; it gets the zero row, as with every embedder.
        sendable = [i for i, text in enumerate(texts) if text and text.strip()]
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(sendable), self.batch_size):
            batch = sendable[start:start + self.batch_size]
            vectors = self._embed_batch([self.redactor.redact(texts[i]) for i in batch])
            rows.update(zip(batch, vectors))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, vector in rows.items():
            out[i] = vector
        return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        started_at, start = datetime.now(timezone.utc), self._clock()
        try:
            response, attempts = self._create(texts)
        except _Failure as failure:
            self._record(started_at, start, 0, failure.attempts, FALLBACK, str(failure), self.model)
            raise EmbeddingFailed(str(failure)) from None
        usage = getattr(response, "usage", None)
        tokens = (getattr(usage, "prompt_tokens", 0) or 0) if usage is not None else 0
        answered = getattr(response, "model", None) or self.model
        priced_as = answered if self.prices.known(answered) else self.model
        try:
            vectors = self._vectors_of(response, len(texts))
        except _UnusableAnswer as problem:
            # The tokens of an unusable answer were still paid for.
            self._record(started_at, start, tokens, attempts, FALLBACK, str(problem), priced_as)
            raise EmbeddingFailed(str(problem)) from None
        self._record(started_at, start, tokens, attempts, OK, None, priced_as)
        return vectors

    def _vectors_of(self, response, expected: int) -> np.ndarray:
        data = sorted(getattr(response, "data", None) or [], key=lambda item: item.index)
        if len(data) != expected:
            raise _UnusableAnswer(f"endpoint returned {len(data)} embeddings for {expected} inputs")
        try:
            vectors = np.asarray([item.embedding for item in data], dtype=np.float64)
        except (TypeError, ValueError):  # ragged, or not numbers
            vectors = np.zeros((expected, 0))
        width = vectors.shape[1] if vectors.ndim == 2 else 0
        if width == 0 or not np.isfinite(vectors).all():
            raise _UnusableAnswer("endpoint returned empty, ragged or non-finite embeddings")
        if self.dim and width != self.dim:
            raise _UnusableAnswer(f"endpoint returned {width}-d embeddings, expected {self.dim} for {self.name}")
        self._observed_dim = width
        return unit_rows(vectors)

    def _record(self, started_at: datetime, start: float, tokens: int, attempts: int, outcome: str,
                reason: str | None, priced_as: str) -> None:
        self.recorder.append(CallRecord(
            call_id=uuid.uuid4().hex, started_at=started_at, prompt_name=PROMPT_NAME, prompt_version=PROMPT_VERSION,
            writer=f"openai:{self.model}", model=self.model, latency_ms=(self._clock() - start) * 1000.0,
            prompt_tokens=tokens, completion_tokens=0, cached_tokens=0,
            cost_usd=self.prices.cost(priced_as, tokens, 0, 0), attempts=attempts, outcome=outcome,
            fallback_reason=reason))

    def _client_for_endpoint(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                self._client = openai.OpenAI(base_url=self.config.endpoint, api_key=self.config.api_key or "unused",
                                             timeout=self.config.timeout_s, max_retries=0)
            return self._client

    def _create(self, texts: list[str]):
        client = self._client_for_endpoint()
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        last_attempt = self.config.max_retries + 1
        for attempt in range(1, last_attempt + 1):
            hint = None
            try:
                # Floats, not the client's default base64: fewer moving parts with compatible servers.
                return client.embeddings.create(model=self.model, input=texts, encoding_format="float",
                                                **extra), attempt
            except openai.APIStatusError as exc:
                problem = f"HTTP {exc.status_code}"
                if not _retryable(exc.status_code):
                    raise _Failure(f"endpoint refused the embeddings request: {problem}", attempt) from None
                hint = _retry_after_s(exc.response.headers)
            except openai.APITimeoutError:
                problem = f"timed out after {self.config.timeout_s:g} s"
            except openai.APIConnectionError as exc:
                problem = f"connection error ({exc.__cause__ or exc})"
            except openai.OpenAIError as exc:
                raise _Failure(f"unusable embeddings response: {exc}", attempt) from None
            if attempt == last_attempt:
                raise _Failure(f"embeddings endpoint failed after {attempt} attempt{'s' * (attempt != 1)}: "
                               f"{problem}", attempt)
            delay = min(hint, BACKOFF_CAP_S) if hint is not None else self._backoff_s(attempt)
            logger.info("embeddings: %s, retry %d of %d in %.2f s", problem, attempt, self.config.max_retries, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * self._jitter()


class _UnusableAnswer(Exception):
    pass


class _Failure(Exception):
    def __init__(self, reason: str, attempts: int):
        super().__init__(reason)
        self.attempts = attempts
