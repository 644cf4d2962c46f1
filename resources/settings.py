"""The logintel settings as a Dagster resource, and the one place resources are built."""
from __future__ import annotations

from typing import Optional

import dagster as dg
from dagster_duckdb import DuckDBResource

from logintel.analysis.clustering import ClusterConfig
from logintel.analysis.embeddings import Embedder
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.config import LLMConfig, Settings, load_settings
from logintel.llm.redaction import Redactor
from logintel.store.dead_letters import DeadLetterStore


class LogintelSettings(dg.ConfigurableResource):
    """LOGINTEL_* settings as read when the code location loaded (see the README)."""
    home: str
    error_threshold: float = 10.0
    thresholds_json: str = "{}"
    window_minutes: int = 5
    window_step_minutes: int = 1
    kafka_bootstrap_servers: Optional[str] = None
    kafka_topic: Optional[str] = None
    kafka_group: str = "logintel-landing"
    min_grounded_ratio: float = 0.9
    redaction_secret: Optional[str] = None  # an EnvVar when set, so the UI never shows it
    embedder_name: str = "hashing"
    embedding_model: str = "text-embedding-3-small"
    cluster_method: Optional[str] = None
    cluster_temporal_weight: Optional[float] = None
    cluster_projection: str = "pca"
    digest_timezone: str = "UTC"
    slo_file: Optional[str] = None
    digest_webhook_url: Optional[str] = None  # an EnvVar when set: the URL is the credential
    analyst_rules_file: Optional[str] = None

    def settings(self) -> Settings:
        from pathlib import Path

        from logintel.config import parse_threshold_overrides
        return Settings(home=Path(self.home), error_threshold=self.error_threshold,
                        threshold_overrides=parse_threshold_overrides(self.thresholds_json),
                        window_minutes=self.window_minutes, window_step_minutes=self.window_step_minutes,
                        kafka_bootstrap_servers=self.kafka_bootstrap_servers, kafka_topic=self.kafka_topic,
                        kafka_group=self.kafka_group, min_grounded_ratio=self.min_grounded_ratio,
                        redaction_secret=self.redaction_secret, embedder=self.embedder_name,
                        embedding_model=self.embedding_model, cluster_method=self.cluster_method,
                        cluster_temporal_weight=self.cluster_temporal_weight,
                        cluster_projection=self.cluster_projection, digest_timezone=self.digest_timezone,
                        slo_file=Path(self.slo_file) if self.slo_file else None,
                        digest_webhook_url=self.digest_webhook_url,
                        analyst_rules_file=Path(self.analyst_rules_file) if self.analyst_rules_file else None)

    def thresholds(self) -> Thresholds:
        s = self.settings()
        return Thresholds(default=s.error_threshold, overrides=s.threshold_overrides)

    def window_spec(self) -> WindowSpec:
        return WindowSpec(self.window_minutes, self.window_step_minutes)

    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.settings().dead_letter_dir)

    def redactor(self) -> Redactor:
        return Redactor(secret=self.redaction_secret)

    def embedder(self, llm: LLMConfig) -> Embedder:
        """LOGINTEL_EMBEDDER's embedder; `llm` (the LLM resource's config) serves the endpoint's."""
        from logintel.llm.embedders import build_embedder
        return build_embedder(self.embedder_name, self.embedding_model, llm)

    def cluster_config(self) -> ClusterConfig:
        return ClusterConfig.from_settings(self.settings())


def _overrides_json(settings: Settings) -> str:
    import json
    return json.dumps({"|".join(k): v for k, v in settings.threshold_overrides.items()})


def build_resources(settings: Optional[Settings] = None) -> dict:
    from resources.landing_zone import LandingZoneResource
    from resources.llm import build_llm_resource
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
    postgres = dg.EnvVar("LOGINTEL_POSTGRES_URL") if settings.postgres_url else None
    secret = dg.EnvVar("LOGINTEL_REDACTION_SECRET") if settings.redaction_secret else None
    webhook = dg.EnvVar("LOGINTEL_DIGEST_WEBHOOK_URL") if settings.digest_webhook_url else None
    return {
        "logintel": LogintelSettings(home=str(settings.home), error_threshold=settings.error_threshold,
                                     thresholds_json=_overrides_json(settings),
                                     window_minutes=settings.window_minutes,
                                     window_step_minutes=settings.window_step_minutes,
                                     kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
                                     kafka_topic=settings.kafka_topic, kafka_group=settings.kafka_group,
                                     min_grounded_ratio=settings.min_grounded_ratio, redaction_secret=secret,
                                     embedder_name=settings.embedder, embedding_model=settings.embedding_model,
                                     cluster_method=settings.cluster_method,
                                     cluster_temporal_weight=settings.cluster_temporal_weight,
                                     cluster_projection=settings.cluster_projection,
                                     digest_timezone=settings.digest_timezone,
                                     slo_file=str(settings.slo_file) if settings.slo_file else None,
                                     digest_webhook_url=webhook,
                                     analyst_rules_file=str(settings.analyst_rules_file)
                                     if settings.analyst_rules_file else None),
        "landing": LandingZoneResource(landing_dir=str(settings.landing_dir), postgres_url=postgres),
        "warehouse": DuckDBResource(database=str(settings.warehouse_path)),
        "llm": build_llm_resource(settings),
    }
