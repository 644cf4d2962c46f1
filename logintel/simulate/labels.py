"""Ground truth: for each injected scenario, its true cause, window and every trace it touched."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logintel.events import WideEvent, format_timestamp


@dataclass(frozen=True)
class ScenarioLabel:
    scenario: str
    cause: str
    cause_component: str
    start: datetime
    end: datetime
    services: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    # The root cause as attribute=value and its kind (dependency, deploy, client, infrastructure);
    # None where the scenario makes no errors.
    cause_kind: str | None = None
    cause_attribute: str | None = None
    cause_value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "cause": self.cause,
            "cause_component": self.cause_component,
            "start": format_timestamp(self.start),
            "end": format_timestamp(self.end),
            "services": list(self.services),
            "routes": list(self.routes),
            "error_codes": list(self.error_codes),
            "trace_ids": list(self.trace_ids),
            "cause_kind": self.cause_kind,
            "cause_attribute": self.cause_attribute,
            "cause_value": self.cause_value,
        }


def label_from_events(scenario: str, cause: str, cause_component: str, start: datetime, end: datetime,
                      touched: list[WideEvent], failed: list[WideEvent], cause_kind: str | None = None,
                      cause_attribute: str | None = None, cause_value: str | None = None) -> ScenarioLabel:
    """Summarise the events a scenario touched (in time order) into its label; its error codes are
    those of the events it made fail, not background errors that happened to share its window."""
    return ScenarioLabel(
        scenario=scenario, cause=cause, cause_component=cause_component, start=start, end=end,
        services=sorted({e.service for e in touched}),
        routes=sorted({e.route for e in touched}),
        error_codes=sorted({e.error_code for e in failed if e.error_code}),
        trace_ids=list(dict.fromkeys(e.trace_id for e in touched if e.trace_id)),
        cause_kind=cause_kind, cause_attribute=cause_attribute, cause_value=cause_value,
    )
