"""The deterministic offline writer: the embedded default when no LLM endpoint is configured.

It states only facts it was given, in a fixed form, and labels every text with its writer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OFFLINE_WRITER = "offline/v1"


@dataclass(frozen=True)
class WrittenText:
    text: str
    writer: str


@dataclass(frozen=True)
class IncidentFacts:
    service: str
    route: str
    error_code: str | None
    start_time: datetime
    end_time: datetime
    errors: int
    requests: int
    peak_errors: int
    window_minutes: int
    threshold: float
    users_affected: int
    p99_ms: float | None
    top_message: str | None

    @classmethod
    def from_incident(cls, incident) -> "IncidentFacts":
        messages = incident.evidence.get("messages") or []
        return cls(service=incident.service, route=incident.route, error_code=incident.error_code,
                   start_time=incident.start_time, end_time=incident.end_time, errors=incident.errors,
                   requests=incident.requests, peak_errors=incident.peak_errors,
                   window_minutes=incident.evidence.get("window_minutes", 5), threshold=incident.threshold,
                   users_affected=incident.users_affected, p99_ms=incident.p99_ms,
                   top_message=messages[0] if messages else None)


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


class OfflineWriter:
    name = OFFLINE_WRITER

    def incident_summary(self, facts: IncidentFacts) -> WrittenText:
        """One line an on-call operator can act on: who, what, when, how much."""
        what = facts.error_code or "errors"
        rate = facts.errors / facts.requests if facts.requests else 0.0
        parts = [
            f"{facts.service} {facts.route}: {what} {facts.errors} errors "
            f"in {facts.start_time:%H:%M}–{facts.end_time:%H:%M} UTC",
            f"{rate:.0%} of {facts.requests} requests to the route",
            f"peak {facts.peak_errors} per {facts.window_minutes} min (threshold {facts.threshold:g})",
        ]
        if facts.users_affected:
            parts.append(f"{facts.users_affected} users affected")
        if facts.p99_ms is not None:
            parts.append(f"p99 {_duration(facts.p99_ms)}")
        text = "; ".join(parts)
        if facts.top_message:
            message = " ".join(facts.top_message.split())
            text += f' — e.g. "{message[:120]}{"…" if len(message) > 120 else ""}"'
        return WrittenText(text=text, writer=self.name)
