"""What a situation briefing is about, as the common composition sees it: a subject (an incident or a
finding) that names itself, reads its situation from the warehouse, or is gone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Protocol

import duckdb

BRIEFED_SEVERITIES = ("critical", "high")


class SubjectGone(ValueError):
    """The incident or finding a briefing was asked for is no longer stored: its scope (an incident's hour, a
    finding's day) was materialized again since, and what it became has an id of its own, briefed in its turn."""


@dataclass(frozen=True)
class Situation:
    """What a subject's adapter read: title and severity, one drafted item per heading, the day its
    sentences are grounded in and the window whose events must carry any field=value they name."""
    title: str
    severity: str
    items: list[dict]
    day: date
    lookup: tuple[datetime, datetime]
    about: dict[str, str] = field(default_factory=dict)  # what the document adds about the subject


class Subject(Protocol):
    """An incident or a finding a briefing can be composed for."""
    kind: str  # "incident" or "finding"

    @property
    def id(self) -> str: ...

    def fields(self) -> dict[str, str]:
        """The job's config that names it: what the sensor's candidate carries and its run config holds."""

    def read(self, con: duckdb.DuckDBPyConnection) -> Situation:
        """Its situation now; SubjectGone when it is no longer stored."""


def candidates(owed: Iterable[tuple[Subject, str]]) -> list[dict]:
    """The `briefing_candidates` an asset's metadata carries for situation_briefing_sensor: the fields and
    severity of each subject severe enough to be briefed."""
    return [{**subject.fields(), "severity": severity} for subject, severity in owed
            if severity in BRIEFED_SEVERITIES]
