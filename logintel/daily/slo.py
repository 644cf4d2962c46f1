"""Service-level objectives and their error budgets: the default objective with per-service and
per-route overrides, read from a YAML file, and how fast a span of traffic burns the budget."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import yaml

from logintel.config import Settings
from logintel.daily.route_metrics import ALL_ROUTES

log = logging.getLogger("logintel.daily")

DEFAULT_FILE = "default_slos.yaml"
OBJECTIVE_KEYS = ("availability", "p99_ms", "period_days")


@dataclass(frozen=True)
class Slo:
    availability: float = 0.999  # share of requests that are not errors
    p99_ms: float = 1000.0       # the hourly p99 must stay at or under this
    period_days: float = 30.0    # the error budget's period

    @property
    def budget_rate(self) -> float:
        """The error budget as a rate: the share of requests allowed to fail."""
        return 1.0 - self.availability

    @property
    def period_hours(self) -> float:
        return 24.0 * self.period_days


@dataclass(frozen=True)
class SloBook:
    """The objectives of every route: `default`, then a service's, then a route's fields win."""
    default: Slo = Slo()
    services: dict[str, Slo] = field(default_factory=dict)
    routes: dict[tuple[str, str], Slo] = field(default_factory=dict)
    source: str = DEFAULT_FILE

    def for_route(self, service: str, route: str) -> Slo:
        """The most specific objective: the route's, else its service's, else the default; route
        '*' (the service's own row) gets the service's."""
        if route != ALL_ROUTES and (service, route) in self.routes:
            return self.routes[(service, route)]
        return self.services.get(service, self.default)


def load_slos(path: Path | None = None) -> SloBook:
    """The SLO book in `path`, or the packaged default when None. A file that cannot be read, is not
    YAML, or holds a wrong key or value raises a ValueError naming the file and the problem."""
    if path is None:
        name, text = f"{__package__}/{DEFAULT_FILE}", files(__package__).joinpath(DEFAULT_FILE).read_text("utf-8")
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"SLO file {name}: cannot be read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"SLO file {name}: not valid YAML ({exc})".replace("\n", " ")) from None
    try:
        return _book(raw, name)
    except ValueError as exc:
        raise ValueError(f"SLO file {name}: {exc}") from None


def burn(slo: Slo, requests: float, errors: float, p99_ms: float | None, hours: float) -> dict:
    """How `requests` and `errors` seen over `hours` spend the error budget.

    burn_rate = error_rate / (1 - availability) (the SRE workbook's: 1x spends exactly the budget
    over the period); budget_consumed = errors / (budget_rate * requests_per_period), the period's
    requests estimated as requests * period_hours / hours, i.e. burn_rate * hours / period_hours."""
    error_rate = errors / requests if requests > 0 else 0.0
    budget_rate = slo.budget_rate
    period_requests = requests * slo.period_hours / hours if hours > 0 else 0.0
    return {
        "error_rate": error_rate,
        "budget_rate": budget_rate,
        "burn_rate": error_rate / budget_rate,
        "budget_consumed": errors / (budget_rate * period_requests) if period_requests > 0 else 0.0,
        "latency_breach": p99_ms is not None and p99_ms > slo.p99_ms,
        "availability_objective": slo.availability,
        "p99_objective_ms": slo.p99_ms,
        "period_days": slo.period_days,
    }


def _book(raw, name: str) -> SloBook:
    if not isinstance(raw, dict):
        raise ValueError("expected a mapping with `default` and optional `services`")
    _known(raw, ("default", "services"), "the top level")
    default = _slo(Slo(), raw.get("default") or {}, "default", ())
    services, routes = {}, {}
    for service, body in _mapping(raw.get("services") or {}, "services").items():
        body = _mapping(body or {}, f"services.{service}")
        services[service] = _slo(default, body, f"services.{service}", ("routes",))
        for route, route_body in _mapping(body.get("routes") or {}, f"services.{service}.routes").items():
            where = f"services.{service}.routes.{route}"
            slo = _slo(services[service], _mapping(route_body or {}, where), where, ())
            if route == ALL_ROUTES:
                services[service] = slo
            else:
                routes[(service, str(route))] = slo
    return SloBook(default, services, routes, name)


def _slo(base: Slo, body: dict, where: str, extra: tuple[str, ...]) -> Slo:
    _known(_mapping(body, where), OBJECTIVE_KEYS + extra, where)
    values = {}
    for key in OBJECTIVE_KEYS:
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}.{key} must be a number, got {value!r}")
            values[key] = float(value)
    slo = replace(base, **values)
    if not 0.0 < slo.availability < 1.0:
        raise ValueError(f"{where}.availability must be between 0 and 1 (0.999 = 99.9%), got {slo.availability}")
    if slo.p99_ms <= 0 or slo.period_days <= 0:
        raise ValueError(f"{where}: p99_ms and period_days must be > 0")
    return slo


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _known(body: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(allowed)})")


def slo_book(settings: Settings) -> tuple[SloBook, str | None]:
    """The configured SLO book, or the default with the reason when the configured file is unusable."""
    try:
        return load_slos(settings.slo_file), None
    except ValueError as problem:
        log.warning("%s; using the default SLOs", problem)
        return load_slos(None), f"{problem}; the default SLOs were used"
