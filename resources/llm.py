"""The LLM gateway as a Dagster resource: an OpenAI-compatible endpoint when configured, else the
deterministic offline writer (the embedded default)."""
from __future__ import annotations

from typing import Optional

import dagster as dg

from logintel.llm.call_log import CallLog
from logintel.config import LLMConfig, Settings
from logintel.llm.gateway import LLMGateway


class LLMResource(dg.ConfigurableResource):
    base_url: Optional[str] = None
    api_key: Optional[str] = None
    model: str = "gpt-4o-mini"
    timeout_s: float = 30.0
    max_retries: int = 2
    price_table: Optional[str] = None

    def config(self) -> LLMConfig:
        from pathlib import Path
        return LLMConfig(base_url=self.base_url, api_key=self.api_key, model=self.model, timeout_s=self.timeout_s,
                         max_retries=self.max_retries,
                         price_table=Path(self.price_table) if self.price_table else None)

    def gateway(self, log: CallLog) -> LLMGateway:
        return LLMGateway(self.config(), recorder=log)


def build_llm_resource(settings: Settings) -> LLMResource:
    """From the settings (OPENAI_BASE_URL, OPENAI_API_KEY, LOGINTEL_LLM_*); the key stays an EnvVar, so the
    resource's config in the UI never shows it."""
    config = settings.llm
    return LLMResource(
        base_url=config.base_url,
        api_key=dg.EnvVar("OPENAI_API_KEY") if config.api_key else None,
        model=config.model, timeout_s=config.timeout_s, max_retries=config.max_retries,
        price_table=str(config.price_table) if config.price_table else None)
