"""`investigate`: on-demand root-cause ranking of the services for any window, against its own baseline.

The baseline, unless given, is the `DEFAULT_BASELINE` minutes before the window (as long as the window when it
is longer): near enough in time to share the traffic's mix and the deploy, long enough to hold many times a
short window's requests so its p90s and rates are steadier than the window's — and long enough that an earlier
fault is a minority of it. A fault lasts minutes; in the ten minutes before a window, the one before it (an
incident still ending, the previous of a run of faults at one service) can fill half the baseline, and the
window then reads as no change. Over half an hour it is at most a third of it. Rates are per request and latencies
compared route by route with themselves, so the traffic's growth over those minutes moves nothing. When those minutes hold no request
(a gap in the data), the same window a day earlier is used when held, else as many minutes up to the last request
of the day before the window (after a gap, the nearest behaviour known). The rule that ranks the services is in
`signal_scores`; the counts are in `window_signals`. The text is grounded by the caller (a layer above), which
passes `grounder`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import duckdb

from logintel.analysis.investigation import window_signals as sql
from logintel.analysis.investigation.investigation_text import describe
from logintel.analysis.investigation.service_signals import all_signals
from logintel.analysis.investigation.signal_scores import (
    CHANGED_Z,
    HINT_Z,
    downstream,
    path_to,
    rank,
)

DEFAULT_BASELINE = timedelta(minutes=30)  # why: the module's docstring
# What an incident keeps of each candidate (its `root_cause.candidates`): the shape, and whether it changed.
CANDIDATE_FIELDS = ("rank", "service", "kind", "attribute", "value", "score", "evidence", "changed")
DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)  # raw_events' resolution: a baseline ending just after its last request
# (text, facts) → grounding; facts as ItemFacts.to_dict() holds them.
Grounder = Callable[[str, dict], dict]


class InvestigationError(ValueError):
    """A window that cannot be investigated (empty, reversed, outside the data, no baseline): says why."""


@dataclass
class Investigation:
    window: tuple[datetime, datetime]
    baseline: tuple[datetime, datetime]
    baseline_source: str  # "given" | "minutes before" | "a day earlier" | "the latest data before"
    requests: int
    candidates: list[dict] = field(default_factory=list)
    text: str = ""
    facts: dict = field(default_factory=dict)
    grounding: dict = field(default_factory=dict)
    service: str | None = None
    elapsed_s: float = 0.0

    def to_dict(self) -> dict:
        iso = lambda pair: {"start": pair[0].isoformat(), "end": pair[1].isoformat()}
        return {"window": iso(self.window) | {"requests": self.requests, "service": self.service},
                "baseline": iso(self.baseline) | {"source": self.baseline_source},
                "candidates": self.candidates, "text": self.text, "grounding": self.grounding,
                "rule": f"changed: z >= {CHANGED_Z:g}; deepest unexplained first; then hints (z >= {HINT_Z:g}, "
                        "not changed); last, changes no fault makes (more info lines, fewer warnings)", "elapsed_s": round(self.elapsed_s, 3)}


def kept_candidates(candidates: list[dict], limit: int | None = None) -> list[dict]:
    """What an incident keeps of an investigation's candidates (the first `limit`): CANDIDATE_FIELDS, and where
    they came from."""
    return [{k: c[k] for k in CANDIDATE_FIELDS} | {"source": "investigation"} for c in candidates[:limit]]


def investigate(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, *, service: str | None = None,
                baseline: tuple[datetime, datetime] | None = None, grounder: Grounder | None = None,
                prepared: sql.Span | None = None, baseline_length: timedelta = DEFAULT_BASELINE) -> Investigation:
    """Rank the services as the cause of what changed in [start, end) against the baseline (given, else
    `baseline_length` before the window: see the module). `prepared`: a span whose events
    `window_signals.prepare` parsed already (used when it holds the window and its baseline)."""
    import time
    started = time.perf_counter()
    window = sql.Span(_naive(start), _naive(end))
    _check_window(con, window)
    chosen, source = _baseline(con, window, baseline, baseline_length)
    try:
        requests = sql.stage(con, window, chosen, prepared)
        signals = all_signals(con, window, chosen)
        edges = sql.call_edges(con)
    finally:
        sql.drop(con)
    result = Investigation((window.start, window.end), (chosen.start, chosen.end), source, requests, service=service)
    result.candidates = _candidates(signals, edges, service)
    result.text, result.facts = describe(result.window, result.candidates, requests)
    result.grounding = grounder(result.text, result.facts) if grounder else {
        "grounded": None, "reason": "not grounded: no grounder given"}
    result.elapsed_s = time.perf_counter() - started
    return result


def _candidates(signals, edges, service: str | None) -> list[dict]:
    if service is not None:  # a symptom at `service` is caused by it or by what it calls
        scope = {service} | downstream(edges, service)
        signals = [s for s in signals if s.service in scope]
    out = []
    for number, (signal, explained, changed) in enumerate(rank(signals, edges), start=1):
        out.append({"rank": number, "service": signal.service, "kind": signal.kind, "attribute": signal.attribute,
                    "value": signal.value, "score": round(signal.score, 2), "evidence": signal.evidence,
                    "explained_by": explained, "path": path_to(edges, signal.service), "changed": changed})
    return out


def _naive(ts: datetime) -> datetime:
    """raw_events holds naive UTC."""
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


def _check_window(con: duckdb.DuckDBPyConnection, window: sql.Span) -> None:
    if window.end <= window.start:
        raise InvestigationError(f"the window ends ({window.end:%Y-%m-%d %H:%M:%S}) before it starts "
                                 f"({window.start:%Y-%m-%d %H:%M:%S})")
    if _requests(con, window) == 0:
        first, last = con.execute("SELECT min(ts), max(ts) FROM raw_events").fetchone()
        held = f"events from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC" if first else "no events"
        raise InvestigationError(f"no request in {window.start:%Y-%m-%d %H:%M}–{window.end:%H:%M} UTC; "
                                 f"the warehouse holds {held}")


def _baseline(con, window: sql.Span, given, length: timedelta) -> tuple[sql.Span, str]:
    if given is not None:
        chosen = sql.Span(_naive(given[0]), _naive(given[1]))
        if chosen.end <= chosen.start:
            raise InvestigationError("the baseline window ends before it starts")
        if _requests(con, chosen) == 0:
            raise InvestigationError(f"no request in the baseline {chosen.start:%Y-%m-%d %H:%M}–{chosen.end:%H:%M} UTC")
        return chosen, "given"
    length = max(length, window.end - window.start)
    before = sql.Span(window.start - length, window.start)
    if _requests(con, before):
        return before, "minutes before"
    earlier = sql.Span(window.start - DAY, window.end - DAY)
    if _requests(con, earlier):
        return earlier, "a day earlier"
    latest = _latest_request_before(con, window.start)
    if latest is not None:
        return sql.Span(latest - length + _TICK, latest + _TICK), "the latest data before"
    raise InvestigationError(f"no request in the {length.total_seconds() / 60:.0f} minutes before the window, in "
                             "the same window a day earlier, nor in the day before it to compare with; give "
                             "--baseline-start/--baseline-end")


def _latest_request_before(con: duckdb.DuckDBPyConnection, start: datetime) -> datetime | None:
    """The last request of the day before `start`: after a gap in the data (a collector down, a sampled
    capture), the minutes up to it are the nearest behaviour known — the same routes, compared only with themselves."""
    return con.execute(f"SELECT max(ts) FROM raw_events WHERE ts < ? AND ts >= ? AND route <> '{sql.LOG_ROUTE}'",
                       [start, start - DAY]).fetchone()[0]


def _requests(con: duckdb.DuckDBPyConnection, span: sql.Span) -> int:
    return con.execute(f"SELECT count(*) FROM raw_events WHERE ts >= ? AND ts < ? AND route <> '{sql.LOG_ROUTE}'",
                       [span.start, span.end]).fetchone()[0]
