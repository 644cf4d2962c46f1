"""The analysts' thresholds and windows: each analyst's rules are a frozen dataclass of defaults (stated in
the README), and an optional YAML file (LOGINTEL_ANALYST_RULES) overrides any of them by section and name.

    security:
      brute_force_failures: 40
    sre:
      forecast_horizon_hours: 12

An unknown section or name, or a value of the wrong type, is a ValueError naming it: a typo must not
silently leave a default in force."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TypeVar

import yaml

from logintel.agents.finding import AGENTS

R = TypeVar("R")
SECTIONS = AGENTS


def load_rule_sections(path: Path | None, sections: tuple[str, ...] = SECTIONS) -> dict[str, dict]:
    """The file's sections ({} without a file), each one of `sections` (the registered analysts); a clear
    ValueError for a file that cannot be used."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as problem:
        raise ValueError(f"analyst rules file {path}: cannot read it ({problem.strerror or problem})") from None
    except yaml.YAMLError as problem:
        raise ValueError(f"analyst rules file {path}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ValueError(f"analyst rules file {path}: expected sections {', '.join(sections)}, got a {type(data).__name__}")
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise ValueError(f"analyst rules file {path}: unknown section(s) {', '.join(map(str, unknown))}; "
                         f"known: {', '.join(sections)}")
    return {k: v or {} for k, v in data.items()}


def rules_from(defaults: R, overrides: dict | None, section: str) -> R:
    """`defaults` with the section's overrides applied, each checked against the default's type."""
    if not overrides:
        return defaults
    if not isinstance(overrides, dict):
        raise ValueError(f"analyst rules [{section}]: expected name: value pairs")
    fields = {f.name for f in dataclasses.fields(defaults)}
    changes = {}
    for name, value in overrides.items():
        if name not in fields:
            raise ValueError(f"analyst rules [{section}]: unknown rule {name!r}; known: {', '.join(sorted(fields))}")
        current = getattr(defaults, name)
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            if type(value) is not type(current):
                raise ValueError(f"analyst rules [{section}] {name}: expected {type(current).__name__}, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"analyst rules [{section}] {name}: expected a number, got {value!r}")
        elif isinstance(current, int) and not float(value).is_integer():
            raise ValueError(f"analyst rules [{section}] {name}: expected a whole number, got {value!r}")
        changes[name] = type(current)(value)
    return dataclasses.replace(defaults, **changes)
