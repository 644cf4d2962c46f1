"""Which names and ids exist in the warehouse at all, and which were seen in a scope's time range."""
from __future__ import annotations

from dataclasses import dataclass, field

from datetime import timedelta

from logintel.trust.entities import KnownEntities


@dataclass
class Catalogue:
    known: KnownEntities = field(default_factory=KnownEntities)
    # kind -> value -> seen in the scope's time range
    seen: dict[str, dict[str, bool]] = field(default_factory=dict)
    methods: dict[str, set[str]] = field(default_factory=dict)  # route -> methods it was called with

    def lookup(self, kind: str, value: str) -> bool | None:
        """None: not in the warehouse at all; else whether it was seen in the scope's range."""
        return self.seen.get(kind, {}).get(value)


# How far around the scope "exists in the warehouse" looks: a name unseen for a week is as good as
# invented for an operator, and bounding the scan keeps grounding cheap on a warehouse of months.
CATALOGUE_HORIZON = timedelta(days=7)


def catalogue_from_rows(rows: list[tuple]) -> Catalogue:
    """The catalogue of (service, route, method, error_code, seen in the scope's range) rows."""
    catalogue = Catalogue(known=KnownEntities.from_rows(rows))
    for service, route, method, code, in_range in rows:
        for kind, value in (("service", service), ("route", route), ("error_code", code)):
            if value is not None:
                kinds = catalogue.seen.setdefault(kind, {})
                kinds[value] = kinds.get(value, False) or in_range
        if method:
            catalogue.methods.setdefault(route, set()).add(method.upper())
    return catalogue


def mark_ids(catalogue: Catalogue, rows: list[tuple], traces: list[str], requests: list[str]) -> None:
    """Mark the named ids among (trace id, request id, event id, in the scope's range) rows."""
    wanted = {"trace_id": set(traces), "request_id": set(requests)}
    for trace, request, event, in_range in rows:
        for kind, value in (("trace_id", trace), ("request_id", request), ("request_id", event)):
            if value in wanted[kind]:
                kinds = catalogue.seen.setdefault(kind, {})
                kinds[value] = kinds.get(value, False) or in_range
