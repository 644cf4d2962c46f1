"""Settings for logintel, read from the environment, all rooted at one directory (LOGINTEL_HOME)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOME = ".logintel"


@dataclass(frozen=True)
class Settings:
    home: Path
    postgres_url: str | None = None
    error_threshold: float = 10.0
    # (service, route, error_code) -> threshold; "*" matches any value in that position.
    threshold_overrides: dict[tuple[str, str, str], float] = field(default_factory=dict)
    window_minutes: int = 5
    window_step_minutes: int = 1
    # The topic the emitters' Kafka transport writes, drained into the landing zone (None: no Kafka).
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str | None = None
    kafka_group: str = "logintel-landing"

    @property
    def kafka_configured(self) -> bool:
        return bool(self.kafka_bootstrap_servers and self.kafka_topic)

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dumps_dir(self) -> Path:
        return self.home / "dumps"

    @property
    def dead_letter_dir(self) -> Path:
        return self.home / "deadletters"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"


def parse_threshold_overrides(text: str) -> dict[tuple[str, str, str], float]:
    """`{"payments|POST /charge|PG_TIMEOUT": 25, "auth|*|*": 50}` -> {(svc, route, code): threshold}."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"LOGINTEL_THRESHOLDS: invalid JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise ValueError("LOGINTEL_THRESHOLDS: expected an object of \"service|route|error_code\": number")
    overrides = {}
    for key, value in raw.items():
        parts = key.split("|")
        if len(parts) != 3:
            raise ValueError(f"LOGINTEL_THRESHOLDS: key {key!r} must be \"service|route|error_code\"")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"LOGINTEL_THRESHOLDS: threshold for {key!r} must be a number >= 0")
        overrides[tuple(parts)] = float(value)
    return overrides


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("LOGINTEL_HOME") or DEFAULT_HOME).expanduser().resolve()
    overrides_text = env.get("LOGINTEL_THRESHOLDS", "")
    if overrides_text.strip() and not overrides_text.lstrip().startswith("{"):
        overrides_text = Path(overrides_text).read_text()  # a path to a JSON file
    return Settings(
        home=home,
        postgres_url=env.get("LOGINTEL_POSTGRES_URL") or None,
        error_threshold=float(env.get("LOGINTEL_ERROR_THRESHOLD", 10)),
        threshold_overrides=parse_threshold_overrides(overrides_text),
        window_minutes=int(env.get("LOGINTEL_WINDOW_MINUTES", 5)),
        window_step_minutes=int(env.get("LOGINTEL_WINDOW_STEP_MINUTES", 1)),
        kafka_bootstrap_servers=env.get("LOGINTEL_KAFKA_BOOTSTRAP_SERVERS") or None,
        kafka_topic=env.get("LOGINTEL_KAFKA_TOPIC") or None,
        kafka_group=env.get("LOGINTEL_KAFKA_GROUP") or "logintel-landing",
    )
