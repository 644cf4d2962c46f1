"""What an LLM call cost, from a local price table (USD per 1M tokens); never fetched at run time.

The shipped table (prices.json) may be out of date: point LOGINTEL_LLM_PRICES at a file of the same shape.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    input: float
    cached_input: float
    output: float


class PriceTable:
    def __init__(self, prices: Mapping[str, ModelPrice]):
        self._prices = dict(prices)

    @classmethod
    def from_file(cls, path: Path | str) -> "PriceTable":
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"LLM price table {path}: cannot read it ({exc})") from None
        # Either {"models": {...}} like prices.json, or the bare {"model": {...}} mapping.
        models = raw.get("models", raw) if isinstance(raw, dict) else None
        if not isinstance(models, dict):
            raise ValueError(f"LLM price table {path}: expected an object of model -> prices")
        return cls({name: _model_price(path, name, entry)
                    for name, entry in models.items() if not name.startswith("_")})

    @classmethod
    def default(cls) -> "PriceTable":
        return cls.from_file(DEFAULT_PRICES)

    @classmethod
    def for_path(cls, path: Path | str | None) -> "PriceTable":
        return cls.default() if path is None else cls.from_file(path)

    @property
    def models(self) -> list[str]:
        return sorted(self._prices)

    def price(self, model: str | None) -> ModelPrice | None:
        if not model:
            return None
        if model in self._prices:
            return self._prices[model]
        # APIs answer with dated snapshots ("gpt-4o-mini-2024-07-18"): price them as the longest
        # listed base name, so "gpt-4o-mini-…" is not priced as "gpt-4o".
        bases = [name for name in self._prices if model.startswith(name + "-")]
        return self._prices[max(bases, key=len)] if bases else None

    def known(self, model: str | None) -> bool:
        return self.price(model) is not None

    def cost(self, model: str | None, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """USD for one call; 0.0 for a model the table does not list (check `known`)."""
        price = self.price(model)
        if price is None:
            return 0.0
        # Cached tokens are a part of the prompt tokens, billed at the cached rate.
        cached = min(max(cached_tokens, 0), prompt_tokens)
        return ((prompt_tokens - cached) * price.input + cached * price.cached_input
                + completion_tokens * price.output) / PER_TOKENS


def _model_price(path: Path, name: str, entry) -> ModelPrice:
    if not isinstance(entry, dict):
        raise ValueError(f"LLM price table {path}: {name!r} must be an object of input/cached_input/output")
    rates = {}
    for key in ("input", "cached_input", "output"):
        # A model without a cached rate is billed the full input rate for cached tokens.
        value = entry.get(key, entry.get("input") if key == "cached_input" else None)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"LLM price table {path}: {name}.{key} must be a number >= 0")
        rates[key] = float(value)
    return ModelPrice(**rates)
