"""The logintel settings as a Dagster resource, and the one place resources are built."""
from __future__ import annotations

from typing import Optional

import dagster as dg
from dagster_duckdb import DuckDBResource

from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.config import Settings, load_settings
from logintel.deadletters import DeadLetterStore


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

    def settings(self) -> Settings:
        from pathlib import Path
        from logintel.config import parse_threshold_overrides
        return Settings(home=Path(self.home), error_threshold=self.error_threshold,
                        threshold_overrides=parse_threshold_overrides(self.thresholds_json),
                        window_minutes=self.window_minutes, window_step_minutes=self.window_step_minutes,
                        kafka_bootstrap_servers=self.kafka_bootstrap_servers, kafka_topic=self.kafka_topic,
                        kafka_group=self.kafka_group)

    def thresholds(self) -> Thresholds:
        s = self.settings()
        return Thresholds(default=s.error_threshold, overrides=s.threshold_overrides)

    def window_spec(self) -> WindowSpec:
        return WindowSpec(self.window_minutes, self.window_step_minutes)

    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.settings().dead_letter_dir)


def _overrides_json(settings: Settings) -> str:
    import json
    return json.dumps({"|".join(k): v for k, v in settings.threshold_overrides.items()})


def build_resources(settings: Optional[Settings] = None) -> dict:
    from resources.landing import LandingZoneResource
    from resources.llm import build_llm_resource
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)  # DuckDB creates the file, not its folder
    postgres = dg.EnvVar("LOGINTEL_POSTGRES_URL") if settings.postgres_url else None
    return {
        "logintel": LogintelSettings(home=str(settings.home), error_threshold=settings.error_threshold,
                                     thresholds_json=_overrides_json(settings),
                                     window_minutes=settings.window_minutes,
                                     window_step_minutes=settings.window_step_minutes,
                                     kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
                                     kafka_topic=settings.kafka_topic, kafka_group=settings.kafka_group),
        "landing": LandingZoneResource(landing_dir=str(settings.landing_dir), postgres_url=postgres),
        "warehouse": DuckDBResource(database=str(settings.warehouse_path)),
        "llm": build_llm_resource(),
    }
