"""Dagster config derived from logintel's settings dataclasses (logintel/config.py), so a setting is declared
once, there: one config field per dataclass field, converted by its type, secrets as `dg.EnvVar`."""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, NamedTuple, Optional

import dagster as dg
from pydantic import Field

from logintel.config import ENV_PASSTHROUGH, SECRET_ENV


class Conversion(NamedTuple):
    """How one field travels as Dagster config: the config type, and the conversions both ways."""
    config_type: Any
    to_config: Callable[[Any], Any]
    from_config: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _overrides_to_config(overrides: Mapping[tuple[str, str, str], float]) -> dict[str, float]:
    # LOGINTEL_THRESHOLDS' own form, "service|route|error_code": config keys are strings.
    return {"|".join(key): value for key, value in overrides.items()}


def _overrides_from_config(overrides: Mapping[str, float]) -> dict[tuple[str, str, str], float]:
    return {tuple(key.split("|")): value for key, value in overrides.items()}


# By the field's type. `X | None` is X's conversion with None passed through; a nested dataclass becomes
# a nested config model (`_nested`); secrets go by their metadata, whatever their type (`conversion`).
CONVERSIONS: dict[Any, Conversion] = {
    str: Conversion(str, _same, _same),
    int: Conversion(int, _same, _same),
    float: Conversion(float, _same, _same),
    bool: Conversion(bool, _same, _same),
    Path: Conversion(str, str, Path),
    dict[tuple[str, str, str], float]: Conversion(Dict[str, float], _overrides_to_config, _overrides_from_config),
}


def _secret(env_var: str) -> Conversion:
    """The variable's name, not its value: the UI shows `{"env": name}` and each run reads the value."""
    return Conversion(Optional[str], lambda value: dg.EnvVar(env_var) if value else None, _same)


def _each_by_name(variables: Mapping[str, str]) -> dict[str, dg.EnvVar]:
    """Every variable as its name, like a secret: some hold credentials (a transport's PostgreSQL URL)."""
    return {name: dg.EnvVar(name) for name in variables}


ENV_MAP = Conversion(Dict[str, str], _each_by_name, dict)


def _optional(inner: Conversion) -> Conversion:
    return Conversion(Optional[inner.config_type],
                      lambda value: None if value is None else inner.to_config(value),
                      lambda value: None if value is None else inner.from_config(value))


def _nested(source: type) -> Conversion:
    fields = ConfigFields(source)
    model = fields.model(f"{source.__name__}Fields", dg.Config)
    return Conversion(model, lambda value: model(**fields.to_config(value)), fields.from_config)


def by_type(hint: Any, where: str) -> Conversion:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return _optional(by_type(next(a for a in args if a is not type(None)), where))
    if dataclasses.is_dataclass(hint):
        return _nested(hint)
    if hint in CONVERSIONS:
        return CONVERSIONS[hint]
    raise TypeError(f"{where}: no Dagster config conversion for {hint!r}; add one to CONVERSIONS in "
                    "resources/config_fields.py, or leave the field out of the resource with the reason")


def conversion(field: dataclasses.Field, hint: Any, where: str) -> Conversion:
    if SECRET_ENV in field.metadata:
        return _secret(field.metadata[SECRET_ENV])
    if ENV_PASSTHROUGH in field.metadata:
        return ENV_MAP
    return by_type(hint, where)


class ConfigFields:
    """A settings dataclass as Dagster config: a field per dataclass field, under its own name unless
    `renamed` (where the resource already has a method of that name), except those `left_out`, each with
    the reason (they come back as the dataclass' defaults)."""

    def __init__(self, source: type, renamed: Mapping[str, str] | None = None,
                 left_out: Mapping[str, str] | None = None) -> None:
        self.source, self.renamed, self.left_out = source, dict(renamed or {}), dict(left_out or {})
        names = {f.name for f in dataclasses.fields(source)}
        unknown = (set(self.renamed) | set(self.left_out)) - names
        if unknown:
            raise ValueError(f"{source.__name__} has no fields {sorted(unknown)}")
        hints = typing.get_type_hints(source)
        self.conversions = {f.name: conversion(f, hints[f.name], f"{source.__name__}.{f.name}")
                            for f in dataclasses.fields(source) if f.name not in self.left_out}

    def config_name(self, name: str) -> str:
        return self.renamed.get(name, name)

    def model(self, name: str, base: type) -> type:
        """A subclass of `base` (dg.Config or dg.ConfigurableResource) with the fields, the dataclass'
        defaults included, to subclass in turn with methods."""
        namespace: dict[str, Any] = {"__annotations__": {}, "__module__": __name__, "__qualname__": name}
        for field in dataclasses.fields(self.source):
            if field.name in self.conversions:
                key, convert = self.config_name(field.name), self.conversions[field.name]
                namespace["__annotations__"][key] = convert.config_type
                if _has_default(field):
                    namespace[key] = _default(field, convert)
        return type(name, (base,), namespace)

    def to_config(self, value: Any) -> dict[str, Any]:
        """The model's keyword arguments for `value` (an instance of the dataclass)."""
        return {self.config_name(name): convert.to_config(getattr(value, name))
                for name, convert in self.conversions.items()}

    def from_config(self, model: Any) -> Any:
        """The dataclass again, from a model built by `model` (or anything with its attributes)."""
        return self.source(**{name: convert.from_config(getattr(model, self.config_name(name)))
                              for name, convert in self.conversions.items()})


def _has_default(field: dataclasses.Field) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _default(field: dataclasses.Field, convert: Conversion) -> Any:
    if field.default is not dataclasses.MISSING:
        return convert.to_config(field.default)
    # Built per model, as the dataclass builds it per instance.
    return Field(default_factory=lambda: convert.to_config(field.default_factory()))
