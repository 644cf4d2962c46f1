"""SamplingPolicy: the dynamic sampler's settings, validated strictly, loaded from JSON or YAML.

Any problem (bad JSON, an unknown field, a rate out of bounds) is a `PolicyError` naming the field,
so a bad policy is rejected whole and whoever holds the last good one keeps it.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

# What an always-keep rule may match on; a rule matches when every key it names matches.
RULE_KEYS = ("service", "route", "route_prefix", "level", "status", "attributes")
MAX_RATE = 1_000_000


class PolicyError(ValueError):
    """A sampling policy that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class SamplingPolicy:
    version: int = 1
    base_rate: int = 1                  # keep 1 in base_rate normal events at or below target load
    max_rate: int = 1000                # never sample sparser than 1 in max_rate
    target_events_per_s: float = 1000.0
    buffer_high_water: float = 0.5      # buffer fill (0-1) past which the rate grows too
    slow_ms: float = 1000.0             # duration_ms at or above this is always kept
    always_keep: tuple[dict, ...] = ()  # rules, e.g. {"service": "payments", "level": ["warn"]}
    min_hold_s: float = 10.0            # the rate falls only this long after its last change
    hysteresis: float = 2.0             # and changes only when the target differs by this factor
    window_s: float = 10.0              # load is events/s over this sliding window

    def __post_init__(self) -> None:
        _check(self)

    @classmethod
    def passthrough(cls) -> SamplingPolicy:
        """Keep everything: what an emitter uses until its first policy arrives (version 0)."""
        return cls(version=0, base_rate=1, max_rate=1)

    @classmethod
    def from_dict(cls, data: Any) -> SamplingPolicy:
        if not isinstance(data, Mapping):
            raise PolicyError(f"policy: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PolicyError(f"unknown policy field(s): {', '.join(map(str, unknown))}; "
                              f"known: {', '.join(sorted(known))}")
        values = dict(data)
        if "always_keep" in values:
            rules = values["always_keep"]
            if rules is None:
                rules = []
            if not isinstance(rules, (list, tuple)):
                raise PolicyError("always_keep: expected a list of rules")
            values["always_keep"] = tuple(rules)
        try:
            return cls(**values)
        except TypeError as exc:  # should not happen after the unknown-field check; say it plainly
            raise PolicyError(f"policy: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> SamplingPolicy:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PolicyError(f"policy: invalid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["always_keep"] = [dict(rule) for rule in self.always_keep]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def etag(self) -> str:
        """`"<version>-<hash>"`: the version for people, the hash so equal versions with different
        content (a server restarted from an older file) never look the same to a client."""
        digest = hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()[:16]
        return f'"{self.version}-{digest}"'


def load_policy(path: str | Path) -> SamplingPolicy:
    """A policy file: JSON, or YAML when the name ends in .yaml/.yml."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # only for YAML policies
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: invalid YAML: {exc}") from None
        try:
            return SamplingPolicy.from_dict(data)
        except PolicyError as exc:
            raise PolicyError(f"{path}: {exc}") from None
    try:
        return SamplingPolicy.from_json(text)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


def _check(p: SamplingPolicy) -> None:
    _integer("version", p.version, 0, 2**53)
    _integer("base_rate", p.base_rate, 1, MAX_RATE)
    _integer("max_rate", p.max_rate, 1, MAX_RATE)
    if p.max_rate < p.base_rate:
        raise PolicyError(f"max_rate: must be >= base_rate ({p.base_rate}), got {p.max_rate}")
    _real("target_events_per_s", p.target_events_per_s, low=0.0, strict=True)
    _real("buffer_high_water", p.buffer_high_water, low=0.0, high=1.0, strict=True)
    _real("slow_ms", p.slow_ms, low=0.0, strict=True)
    _real("min_hold_s", p.min_hold_s, low=0.0)
    _real("hysteresis", p.hysteresis, low=1.0)
    _real("window_s", p.window_s, low=0.0, strict=True)
    for i, rule in enumerate(p.always_keep):
        _rule(i, rule)


def _integer(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{name}: expected an integer, got {value!r}")
    if not low <= value <= high:
        raise PolicyError(f"{name}: must be between {low} and {high}, got {value}")


def _real(name: str, value: Any, low: float, high: float | None = None, strict: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PolicyError(f"{name}: expected a finite number, got {value!r}")
    if value < low or (strict and value == low):
        raise PolicyError(f"{name}: must be {'>' if strict else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise PolicyError(f"{name}: must be <= {high}, got {value}")


def _rule(i: int, rule: Any) -> None:
    where = f"always_keep[{i}]"
    if not isinstance(rule, Mapping) or not rule:
        raise PolicyError(f"{where}: expected a non-empty object of {'/'.join(RULE_KEYS)}")
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; known: {', '.join(RULE_KEYS)}")
    for key, value in rule.items():
        if key == "attributes":
            if not isinstance(value, Mapping) or not value:
                raise PolicyError(f"{where}.attributes: expected a non-empty object of name: value")
            continue
        options = value if isinstance(value, list) else [value]
        wanted = int if key == "status" else str
        if not options or any(isinstance(v, bool) or not isinstance(v, wanted) for v in options):
            raise PolicyError(f"{where}.{key}: expected {wanted.__name__} or a list of them, got {value!r}")


def rule_matches(rule: Mapping[str, Any], event: Any) -> bool:
    """True when `event` (a WideEvent) satisfies every key of `rule`; lists mean any of."""
    for key, value in rule.items():
        if key == "attributes":
            attrs = event.attributes
            if any(attrs.get(name) != want for name, want in value.items()):
                return False
            continue
        options = value if isinstance(value, list) else (value,)
        if key == "route_prefix":
            if not any(event.route.startswith(prefix) for prefix in options):
                return False
        elif getattr(event, key) not in options:
            return False
    return True

