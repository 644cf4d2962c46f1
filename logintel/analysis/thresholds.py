"""Error thresholds per (service, route, error_code) group: a default and wildcard overrides."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thresholds:
    default: float = 10.0
    # (service, route, error_code) -> threshold; "*" in a position matches anything there.
    overrides: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def for_group(self, service: str, route: str, error_code: str | None) -> float:
        """The most specific override wins (fewest wildcards); otherwise the default."""
        code = error_code or ""
        best, best_wildcards = self.default, 4
        for (s, r, c), value in self.overrides.items():
            if s not in ("*", service) or r not in ("*", route) or c not in ("*", code):
                continue
            wildcards = (s == "*") + (r == "*") + (c == "*")
            if wildcards < best_wildcards:
                best, best_wildcards = value, wildcards
        return best

    def breached(self, service: str, route: str, error_code: str | None, errors: float) -> bool:
        return errors > self.for_group(service, route, error_code)
