"""The LLM gateway as a Dagster resource: an OpenAI-compatible endpoint when configured, else the
deterministic offline writer (the embedded default)."""
from __future__ import annotations

import dagster as dg

from logintel.config import LLMConfig, Settings
from logintel.llm.call_log import CallLog
from logintel.llm.gateway import LLMGateway
from logintel.llm.redaction import Redactor
from resources.config_fields import ConfigFields

LLM_FIELDS = ConfigFields(LLMConfig)


class LLMResource(LLM_FIELDS.model("LLMConfigFields", dg.ConfigurableResource)):
    """An `LLMConfig` field by field; the key holds OPENAI_API_KEY's name, so the UI never shows it."""

    def config(self) -> LLMConfig:
        return LLM_FIELDS.from_config(self)

    def gateway(self, log: CallLog, redactor: Redactor | None = None) -> LLMGateway:
        """The gateway; `redactor` (the settings' own, LOGINTEL_REDACTION_SECRET) keeps pseudonyms stable."""
        return LLMGateway(self.config(), recorder=log, redactor=redactor)


def build_llm_resource(settings: Settings) -> LLMResource:
    """From the settings (OPENAI_BASE_URL, OPENAI_API_KEY, LOGINTEL_LLM_*)."""
    return LLMResource(**LLM_FIELDS.to_config(settings.llm))
