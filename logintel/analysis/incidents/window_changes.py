"""The hour's 5-minute windows, each investigated against the minutes just before it: what the change incidents
are decided from, kept as a table of its own (`window_changes`) so that this, the costly part of the incidents
step (an investigation per window), is a function of the hour's events alone — a step that any number of hours
run at once — while the incidents step, which carries state from hour to hour, only reads the result.

Every one of the hour's twelve windows has a row: `examined` (its investigation: the window, the baseline, the
first CANDIDATES_KEPT ranked candidates, the text and its facts), `nothing to compare` (no request in the window
or in the minutes before it; the investigation's reason kept), or `not in yet` (it has not ended by the clock, or
its events may still come: `window_is_in`). An hour with no rows was never examined (the table is newer than the hour, or the step has not
run): the incidents step then investigates the windows itself, the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from logintel.analysis.investigation import InvestigationError, investigate
from logintel.analysis.investigation.window_signals import Span, prepare, unprepare
from logintel.store.schema import ensure_tables, has_table
from logintel.store.warehouse import latest_event_time, transaction

WINDOW = timedelta(minutes=5)
CANDIDATES_KEPT = 5
# The minutes before each window it is compared with: shorter than `investigate`'s own default (30), which keeps
# an earlier fault a minority of the baseline. This step asks whether a fault began — a window against the minutes
# just before it; a fault already running is an open incident that continues. Its cost grows with the baseline
# (every window of every hour): at 1,000,000 events an hour the incidents step took 15.8 s with 10 minutes,
# 20.8 s with 30, for the same incidents on the simulator's days and the same faults blamed on Train-Ticket's
# (docs/benchmarks.md).
ONSET_BASELINE = timedelta(minutes=10)
# A window is examined once it has ended by the clock and its events are in: the data reaches into its last
# minute (the allowance by which an incident reaching the data's end is still open), or it ended WAIT ago, by when
# a quiet or paused system has nothing more to send for it. An hour's run sees its own events only (the next
# hour's are not loaded yet), which end some seconds before the hour does, or minutes before when traffic paused:
# waiting for an event at or past a window's end left every hour's last window unexamined.
DATA_REACHES = timedelta(minutes=1)
WAIT = timedelta(minutes=5)

EXAMINED, NOTHING_TO_COMPARE, NOT_IN_YET = "examined", "nothing to compare", "not in yet"


@dataclass(frozen=True)
class WindowChange:
    start: datetime
    end: datetime
    status: str                       # EXAMINED, NOTHING_TO_COMPARE or NOT_IN_YET
    investigation: dict | None = None  # window, baseline, candidates (the first CANDIDATES_KEPT), text, facts;
                                       # for NOTHING_TO_COMPARE, the reason

    @property
    def candidates(self) -> list[dict]:
        return (self.investigation or {}).get("candidates") or []


def window_is_in(end: datetime, data_end: datetime | None, now: datetime) -> bool:
    """Whether a window ending at `end` has its events: it has ended by the clock `now`, and the data reaches into
    its last minute or it ended WAIT ago (naive UTC times)."""
    if end > now:
        return False
    reached = data_end is not None and end - DATA_REACHES <= data_end.replace(tzinfo=None)
    return reached or end + WAIT <= now


def examine_windows(con: duckdb.DuckDBPyConnection, hour: datetime, data_end: datetime | None,
                    now: datetime | None = None) -> list[WindowChange]:
    """Each of the hour's twelve windows, investigated against the ONSET_BASELINE before it when its events are in
    (`now`: the clock, UTC, by default the wall clock)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    start = hour.replace(tzinfo=None, minute=0, second=0, microsecond=0)
    found: list[WindowChange] = []
    prepared = Span(start - ONSET_BASELINE, start + timedelta(hours=1))
    prepare(con, prepared)  # the hour and the minutes before it, parsed once for its twelve windows
    try:
        for k in range(int(timedelta(hours=1) / WINDOW)):
            window = (start + k * WINDOW, start + (k + 1) * WINDOW)
            if not window_is_in(window[1], data_end, now):
                found.append(WindowChange(*window, NOT_IN_YET))
                continue
            try:
                result = investigate(con, *window, prepared=prepared, baseline_length=ONSET_BASELINE)
            except InvestigationError as error:  # no request in the window, or none in the minutes before it
                found.append(WindowChange(*window, NOTHING_TO_COMPARE, {"reason": str(error)}))
                continue
            kept = result.to_dict()
            found.append(WindowChange(*window, EXAMINED, {
                "window": kept["window"], "baseline": kept["baseline"],
                "candidates": result.candidates[:CANDIDATES_KEPT], "text": result.text, "facts": result.facts}))
    finally:
        unprepare(con)
    return found


def examine_hour(con: duckdb.DuckDBPyConnection, hour: datetime, now: datetime | None = None) -> list[WindowChange]:
    """`examine_windows` with the data's end from the warehouse and the wall clock (UTC) unless `now` is given: what
    the window_changes step runs, and the incidents step when that step has not run."""
    data_end = latest_event_time(con)
    return examine_windows(con, hour, data_end + timedelta(microseconds=1) if data_end else None, now)


def replace_window_changes(con: duckdb.DuckDBPyConnection, hour: datetime, windows: list[WindowChange]) -> None:
    """Hour `hour`'s rows of window_changes, replaced in one transaction."""
    ensure_tables(con, "window_changes")
    start = hour.replace(tzinfo=None)
    with transaction(con):
        con.execute("DELETE FROM window_changes WHERE partition_hour = $h", {"h": start})
        for w in windows:
            con.execute("INSERT INTO window_changes VALUES (?, ?, ?, ?, ?)",
                        [start, w.start, w.end, w.status,
                         json.dumps(w.investigation, default=str) if w.investigation is not None else None])


def read_window_changes(con: duckdb.DuckDBPyConnection, hour: datetime) -> list[WindowChange] | None:
    """Hour `hour`'s windows as the window_changes step left them; None when it has not examined the hour."""
    if not has_table(con, "window_changes"):
        return None
    rows = con.execute("""SELECT window_start, window_end, status, investigation FROM window_changes
                          WHERE partition_hour = $h ORDER BY window_start""",
                       {"h": hour.replace(tzinfo=None)}).fetchall()
    if not rows:
        return None
    return [WindowChange(a, b, status, json.loads(found) if found else None) for a, b, status, found in rows]
