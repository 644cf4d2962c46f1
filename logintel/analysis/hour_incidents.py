"""All incidents of one hourly partition: the rule incidents, the cluster incidents, and the rule
incidents folded into the cluster incident that covers them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import duckdb

from logintel.analysis.cluster_incidents import detect_cluster_incidents, fold_rule_incidents
from logintel.analysis.incidents import Incident, detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.store.warehouse import latest_event_time


@dataclass
class HourIncidents:
    rules: list[Incident]
    clusters: list[Incident]

    @property
    def all(self) -> list[Incident]:
        return self.clusters + self.rules

    @property
    def merged(self) -> int:
        return sum(1 for i in self.rules if i.merged_into)


def detect_hour_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, thresholds: Thresholds,
                          spec: WindowSpec, redact: Callable[[str], str]) -> HourIncidents:
    """`redact` cleans the example messages kept as evidence (they reach prompts and the UI)."""
    data_end = latest_event_time(con)
    rules = detect_incidents(con, hour, thresholds, spec,
                             data_end=data_end + timedelta(microseconds=1) if data_end else None)
    clusters = detect_cluster_incidents(con, hour, redact, threshold=thresholds.default,
                                        window_minutes=spec.length_minutes, data_end=data_end)
    fold_rule_incidents(rules, clusters)
    return HourIncidents(rules=rules, clusters=clusters)
