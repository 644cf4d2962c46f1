"""The logintel settings as a Dagster resource (its fields derived from `Settings`), the settings the code
location loads with, and the one place resources are built."""
from __future__ import annotations

import functools
from typing import Optional

import dagster as dg

from logintel.analysis.clustering import ClusterConfig
from logintel.analysis.embeddings import Embedder
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.config import LLMConfig, Settings, load_settings
from logintel.llm.redaction import Redactor
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.state_store import StateStore, open_state_store
from resources.config_fields import ConfigFields

# Settings fields the resource leaves out, each with the reason (they come back as their defaults).
# Secrets are not left out: they travel as the variables they are read from (dg.EnvVar).
LEFT_OUT: dict[str, str] = {}
# `embedder()` is the method that builds the embedder, so the field holding its name is named so.
RENAMED = {"embedder": "embedder_name"}
SETTINGS_FIELDS = ConfigFields(Settings, renamed=RENAMED, left_out=LEFT_OUT)


class LogintelSettings(SETTINGS_FIELDS.model("SettingsFields", dg.ConfigurableResource)):
    """The `Settings` the code location loaded with (see the README), a config field per setting; the
    secrets' fields hold the variables they come from, so the UI shows names, never values."""

    @classmethod
    def from_settings(cls, settings: Settings) -> "LogintelSettings":
        return cls(**SETTINGS_FIELDS.to_config(settings))

    def settings(self) -> Settings:
        return SETTINGS_FIELDS.from_config(self)

    def thresholds(self) -> Thresholds:
        s = self.settings()
        return Thresholds(default=s.error_threshold, overrides=s.threshold_overrides)

    def window_spec(self) -> WindowSpec:
        return WindowSpec(self.window_minutes, self.window_step_minutes)

    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.settings().dead_letter_dir)

    def state_store(self) -> StateStore:
        """The LLM call log and the digest history: PostgreSQL when configured, else SQLite under the home."""
        return open_state_store(self.settings())

    def redactor(self) -> Redactor:
        return Redactor(secret=self.redaction_secret)

    def embedder(self, llm: LLMConfig) -> Embedder:
        """LOGINTEL_EMBEDDER's embedder; `llm` (the LLM resource's config) serves the endpoint's."""
        from logintel.llm.embedders import build_embedder
        return build_embedder(self.embedder_name, self.embedding_model, llm)

    def cluster_config(self) -> ClusterConfig:
        return ClusterConfig.from_settings(self.settings())


@functools.cache
def loaded_settings() -> Settings:
    """The environment, read once per process: for what is fixed when the code location loads (the
    partitions, the default resources)."""
    return load_settings()


def build_resources(settings: Optional[Settings] = None) -> dict:
    from resources.landing_zone import LandingZoneResource
    from resources.llm import build_llm_resource
    from resources.warehouse import WarehouseResource
    settings = settings or loaded_settings()
    settings.home.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
    logintel = LogintelSettings.from_settings(settings)
    postgres = SETTINGS_FIELDS.conversions["postgres_url"].to_config(settings.postgres_url)  # an EnvVar
    return {
        "logintel": logintel,
        "landing": LandingZoneResource(landing_dir=str(settings.landing_dir), postgres_url=postgres),
        "warehouse": WarehouseResource.from_settings(settings),
        "llm": build_llm_resource(settings),
    }
