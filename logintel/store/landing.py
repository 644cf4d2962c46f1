"""The landing zone contract: where the ingestion path delivers canonical WideEvent lines.

Two implementations share it: JSONL segment files (the embedded default, `landing_files`) and a
PostgreSQL table (`landing_postgres`). Readers get an `HourBatch` of raw lines per event hour, so
the warehouse validates whatever actually landed (a crash can tear a line) in one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Protocol

from logintel.store.dead_letters import DeadLetter
from logintel.events import WideEvent

HOUR = timedelta(hours=1)


def hour_floor(ts: datetime) -> datetime:
    ts = ts.astimezone(timezone.utc) if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    return ts.replace(minute=0, second=0, microsecond=0)


def hour_key(hour: datetime) -> str:
    """The name of an hour in paths: 2026-11-23T10 (UTC)."""
    return hour_floor(hour).strftime("%Y-%m-%dT%H")


def parse_hour_key(key: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)


class LandingUnavailable(RuntimeError):
    """The landing zone cannot be reached (a dead database, a missing mount); says where and why."""


@dataclass
class HourBatch:
    """Every line that landed for one event hour, before validation.

    `lines` are decoded text lines (one JSON object expected per line), `sources` say where each
    came from (file:line or table:id); `rejects` are lines that could not even be decoded (bad
    UTF-8, torn last line) and are already dead letters. `files` are canonical segment files the
    reader left unread for the warehouse's own reader (`FileLandingZone.read_hour(canonical_as_files=True)`).
    """
    hour: datetime
    lines: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    rejects: list[DeadLetter] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # canonical segments left for the warehouse to read itself


@dataclass(frozen=True)
class LandingChanges:
    """What arrived since a watermark: the hours touched and the new watermark to store."""
    watermark: str
    hours: set[datetime]


class LandingZone(Protocol):
    def write(self, events: Iterable[WideEvent]) -> int:
        """Deliver events durably; returns how many were written (duplicates may be skipped)."""

    def hours(self) -> list[datetime]:
        """Every event hour that holds data, ascending."""

    def read_hour(self, hour: datetime, canonical_as_files: bool = False) -> HourBatch:
        """All lines for one event hour; with `canonical_as_files`, canonical segment files may be left unread
        in `files` for the warehouse's own reader."""

    def changes_since(self, watermark: str | None) -> LandingChanges:
        """Hours that received data after `watermark` (None: everything); cheap, for sensors."""

    def describe(self) -> str:
        """Where the data is, for people (a path or a redacted URL)."""
