"""EmitterConfig: the emitter's settings, from a dict, a YAML file or `LOGINTEL_EMIT_*` variables.

Unknown keys and out-of-range values raise ValueError naming the key, so a typo never silently
falls back to a default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from logintel.config import LANDING_SEGMENTS, default_home, parse_flag

TRANSPORT_KINDS = ("kafka", "postgres", "files")
FSYNC_POLICIES = ("batch", "always", "never")
ENV_PREFIX = "LOGINTEL_EMIT_"


@dataclass(frozen=True)
class TransportSpec:
    kind: str     # "kafka", "postgres" or "files"
    target: str   # Kafka bootstrap servers, a PostgreSQL URL, or the file landing zone's root directory
    options: tuple[tuple[str, Any], ...] = ()  # kafka: topic, delivery_timeout_s, producer properties; files: segments, seal


@dataclass(frozen=True)
class EmitterConfig:
    transports: tuple[TransportSpec, ...] = ()
    dump_dir: Path | None = None          # None: $LOGINTEL_HOME/dumps
    dead_letter_dir: Path | None = None   # None: $LOGINTEL_HOME/deadletters
    service: str | None = None            # the service of LogHandler records and of dicts emitted without one
    buffer_max_events: int = 10_000
    buffer_max_bytes: int = 16 * 1024 * 1024
    batch_size: int = 500
    flush_interval_s: float = 1.0
    fsync: str = "batch"
    disk_limit_bytes: int = 1024 ** 3
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    retry_hold_s: float = 10.0            # how long events may wait in memory for a transport to recover
    send_timeout_s: float = 30.0          # a send that has not returned by then counts as failed
    postgres_connect_timeout_s: int = 5
    sampling_policy: str | None = None    # a policy file or a policy server's URL; None: no sampling
    policy_poll_s: float = 30.0

    def __post_init__(self) -> None:
        home = default_home()
        if self.dump_dir is None:
            object.__setattr__(self, "dump_dir", home / "dumps")
        if self.dead_letter_dir is None:
            object.__setattr__(self, "dead_letter_dir", home / "deadletters")
        object.__setattr__(self, "dump_dir", Path(self.dump_dir))
        object.__setattr__(self, "dead_letter_dir", Path(self.dead_letter_dir))
        for spec in self.transports:
            if spec.kind not in TRANSPORT_KINDS:
                raise ValueError(f"transports: unknown kind {spec.kind!r}; expected one of {TRANSPORT_KINDS}")
            if not spec.target:
                raise ValueError(f"transports: {spec.kind} needs a target (url or dir)")
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync: {self.fsync!r} is not one of {FSYNC_POLICIES}")
        for name in ("buffer_max_events", "buffer_max_bytes", "batch_size", "disk_limit_bytes",
                     "postgres_connect_timeout_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1 (got {getattr(self, name)})")
        for name in ("flush_interval_s", "backoff_base_s", "backoff_cap_s", "policy_poll_s", "send_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0 (got {getattr(self, name)})")
        if not self.retry_hold_s >= 0:
            raise ValueError(f"retry_hold_s: must be >= 0 (got {self.retry_hold_s}); 0 dumps at once")

    # -- constructors --------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmitterConfig:
        known = {f.name: f for f in fields(cls) if True}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown emitter config key(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "transports":
                values[key] = tuple(_transport(item) for item in (value or ()))
            elif value is None or key in ("dump_dir", "dead_letter_dir", "service", "fsync", "sampling_policy"):
                values[key] = value
            else:
                values[key] = _number(key, value, float if key.endswith("_s") else int)
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> EmitterConfig:
        import yaml  # only needed for this constructor
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping at the top level")
        return cls.from_dict(data)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmitterConfig:
        """LOGINTEL_EMIT_<FIELD>=value; LOGINTEL_EMIT_TRANSPORTS="postgres,files" picks the chain,
        with LOGINTEL_EMIT_POSTGRES_URL (else LOGINTEL_POSTGRES_URL) and LOGINTEL_EMIT_FILES_DIR."""
        env = os.environ if env is None else env
        data: dict[str, Any] = {}
        names = {f.name for f in fields(cls)} - {"transports"}
        for name in names:
            value = env.get(ENV_PREFIX + name.upper())
            if value not in (None, ""):
                data[name] = value
        chain = [k.strip() for k in env.get(ENV_PREFIX + "TRANSPORTS", "").split(",") if k.strip()]
        targets = {"postgres": env.get(ENV_PREFIX + "POSTGRES_URL") or env.get("LOGINTEL_POSTGRES_URL"),
                   "files": env.get(ENV_PREFIX + "FILES_DIR"),
                   "kafka": env.get(ENV_PREFIX + "KAFKA_BOOTSTRAP_SERVERS")}
        data["transports"] = [{"type": kind, "target": targets.get(kind)} for kind in chain]
        for spec in data["transports"]:
            if spec["type"] == "kafka" and env.get(ENV_PREFIX + "KAFKA_TOPIC"):
                spec["topic"] = env[ENV_PREFIX + "KAFKA_TOPIC"]
            if spec["type"] == "files" and env.get(ENV_PREFIX + "FILES_SEGMENTS"):
                spec["segments"] = env[ENV_PREFIX + "FILES_SEGMENTS"]
            if spec["type"] == "files" and env.get(ENV_PREFIX + "FILES_SEAL"):
                spec["seal"] = env[ENV_PREFIX + "FILES_SEAL"]
        return cls.from_dict(data)

    def with_overrides(self, **changes: Any) -> EmitterConfig:
        return replace(self, **changes)


def _transport(item: Any) -> TransportSpec:
    if isinstance(item, TransportSpec):
        return item
    if not isinstance(item, Mapping):
        raise ValueError(f"transports: each entry must be a mapping, got {item!r}")
    kind = item.get("type") or item.get("kind")
    target = item.get("target") or item.get("url") or item.get("dir") or item.get("bootstrap_servers")
    common = {"type", "kind", "target", "url", "dir", "bootstrap_servers"}
    if kind == "kafka":
        return TransportSpec(kind="kafka", target=str(target) if target else "",
                             options=_kafka_options(item, common))
    options: tuple[tuple[str, Any], ...] = ()
    if kind == "files" and "segments" in item:
        if item["segments"] not in LANDING_SEGMENTS:
            raise ValueError(f"transports: files segments must be one of {', '.join(LANDING_SEGMENTS)}, "
                             f"got {item['segments']!r}")
        common = common | {"segments"}
        options += (("segments", item["segments"]),)
    if kind == "files" and "seal" in item:
        common = common | {"seal"}
        seal = item["seal"]  # a bool from a dict or YAML, text from the environment
        if not isinstance(seal, bool):
            seal = parse_flag(str(seal), False, "transports: files seal")
        options += (("seal", seal),)
    unknown = set(item) - common
    if unknown:
        raise ValueError(f"transports: unknown key(s) {sorted(unknown)} in {kind!r}")
    return TransportSpec(kind=str(kind), target=str(target) if target else "", options=options)


def _kafka_options(item: Mapping[str, Any], common: set[str]) -> tuple[tuple[str, Any], ...]:
    """topic, delivery_timeout_s, and producer properties: nested under `producer_config`, or given
    at the top level by their librdkafka names, which all contain a dot (`linger.ms`)."""
    if not item.get("topic"):
        raise ValueError("transports: kafka needs a topic")
    producer = dict(item.get("producer_config") or {})
    options: dict[str, Any] = {"topic": str(item["topic"])}
    for key, value in item.items():
        if key in common or key in ("topic", "producer_config"):
            continue
        if key == "delivery_timeout_s":
            options[key] = _number(key, value, float)
        elif "." in key:
            producer[key] = value
        else:
            raise ValueError(f"transports: unknown key {key!r} in 'kafka' (producer properties "
                             "go under producer_config)")
    if producer:
        options["producer_config"] = tuple(sorted(producer.items()))
    return tuple(sorted(options.items()))


def _number(key: str, value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"{key}: expected a number, got {value!r}")
    try:
        number = kind(value) if kind is float else int(str(value).replace("_", ""))
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected {'a number' if kind is float else 'an integer'}, got {value!r}") from None
    return number
