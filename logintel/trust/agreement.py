"""When a stated number or time window agrees with what the code computed: one tolerance and one window rule
for every grounded text (incidents against the warehouse, digest items, findings, briefings and `ask` answers
against their sources' facts)."""
from __future__ import annotations

from datetime import datetime, timedelta

from logintel.trust.numbers import resolution

# A figure restated within 5% (or its written precision) is the same figure.
REL_TOL = 0.05
# A stated bound ("over 250 errors") far from the data misleads as much as a wrong number.
BOUND_FACTOR = 2.0
# "about 300" is an estimate: 10% either way.
ABOUT_TOLERANCE = 0.10
# One 5-minute window: the grain of the incidents' windows, which a written window (rounded to minutes, a burst
# starting or ending inside a window) may miss by up to that much at either end. The digest's windows are
# written from its items' own timestamps, to the minute, so they need no more.
WINDOW_SLACK = timedelta(minutes=5)
# The same slack in DuckDB SQL: the 5-minute windows of a scope are those that overlap it (start after
# `start - WINDOW_SLACK_SQL`, end before `end + WINDOW_SLACK_SQL`).
WINDOW_SLACK_SQL = f"INTERVAL {int(WINDOW_SLACK.total_seconds())} SECOND"


def agrees(claimed: float, fact: float, written: str, kind: str, qualifier: str | None = None,
           rel_tol: float = REL_TOL) -> bool:
    """Whether `claimed` (as `written`, a claim of `kind`: count, percent, duration or a bare number) states
    `fact`: within `rel_tol` or the written precision; a count within 1; a bound ("at least", "under") holds
    and is not off by more than BOUND_FACTOR; an estimate ("about") within ABOUT_TOLERANCE."""
    tol = max(rel_tol * abs(fact), resolution(written, kind))
    if kind == "count":
        tol = max(tol, 1.0)
    if qualifier == "at_least":
        return claimed - tol <= fact <= BOUND_FACTOR * claimed + tol
    if qualifier == "at_most":
        return claimed / BOUND_FACTOR - tol <= fact <= claimed + tol
    if qualifier == "about":
        tol = max(tol, ABOUT_TOLERANCE * abs(fact))
    return abs(fact - claimed) <= tol


def window_agrees(claimed: tuple[datetime, datetime], fact: tuple[datetime, datetime]) -> bool:
    """Whether a stated window describes `fact` (when the errors happened, or a source's window): each end
    within WINDOW_SLACK of the fact's."""
    (start, end), (first, last) = claimed, fact
    return abs(start - first) <= WINDOW_SLACK and abs(end - last) <= WINDOW_SLACK
