"""Where the LLM endpoint is and how patiently to use it, read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class LLMConfig:
    base_url: str | None = None
    # Kept out of repr so a logged or printed config never carries the secret.
    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    timeout_s: float = 30.0
    max_retries: int = 2
    price_table: Path | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"LLM timeout must be > 0 seconds, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ValueError(f"LLM max_retries must be >= 0, got {self.max_retries}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "LLMConfig":
        env = os.environ if env is None else env

        def setting(name: str) -> str | None:
            value = (env.get(name) or "").strip()
            return value or None

        base_url, api_key = setting("OPENAI_BASE_URL"), setting("OPENAI_API_KEY")
        if base_url is None and api_key is not None:
            base_url = DEFAULT_OPENAI_BASE_URL  # a bare key means the hosted OpenAI API
        prices = setting("LOGINTEL_LLM_PRICES")
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=setting("LOGINTEL_LLM_MODEL") or DEFAULT_MODEL,
            timeout_s=_number(setting("LOGINTEL_LLM_TIMEOUT_S"), 30.0, float, "LOGINTEL_LLM_TIMEOUT_S"),
            max_retries=_number(setting("LOGINTEL_LLM_MAX_RETRIES"), 2, int, "LOGINTEL_LLM_MAX_RETRIES"),
            price_table=Path(prices).expanduser() if prices else None,
        )

    @property
    def endpoint(self) -> str | None:
        """The URL calls go to, or None when no endpoint is configured."""
        if self.base_url:
            return self.base_url
        return DEFAULT_OPENAI_BASE_URL if self.api_key else None

    @property
    def configured(self) -> bool:
        return self.endpoint is not None


def _number(text: str | None, default, kind, name: str):
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name}: expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
