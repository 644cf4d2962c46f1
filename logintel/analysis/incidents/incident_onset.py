"""The minutes an incident began in: where its ranked candidates are looked for.

An incident's cause is what changed when its failures rose, so its candidates come from an investigation of its
onset, not of its whole span:
- it starts at the **leading edge of the incident's first burst**, the first minute whose errors reach
  ONSET_SHARE of that burst's peak (`first_burst_edge`; timing a rise at half its height is the usual way to
  tell it from a background: a burst's edge may reach back to a stray background error, and a service that errs
  all day is in many bursts; the minutes before the rise are healthy traffic that dilutes the change the
  investigation looks for). The first burst, not the loudest: an incident holding two faults, the second
  louder, is about the first;
- it lasts at most ONSET_LENGTH (the change incidents' window), since an incident that runs on can take in the next
  fault's minutes (a second fault beginning while the first one's errors still run), whose changes are not its
  cause.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.incident import Incident
from logintel.store.schema import ERROR_SQL, IN_GROUPS_SQL, group_keys

ONSET_SHARE = 0.5
ONSET_LENGTH = timedelta(minutes=5)
MINUTE = timedelta(minutes=1)


def errors_per_minute(con: duckdb.DuckDBPyConnection, incident: Incident) -> list[tuple[datetime, int]]:
    """The incident's errors (its groups', else its services') in each minute of its span that has any, in order."""
    groups = incident.evidence.get("groups") if incident.evidence else None
    if groups:
        scope, params = IN_GROUPS_SQL, {"keys": group_keys(tuple(g) for g in groups)}
    else:
        scope, params = "list_contains($services, service)", {"services": list(incident.services)}
    rows = con.execute(f"""
        SELECT date_trunc('minute', ts) AS minute, sum(sample_rate) FROM raw_events
        WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND {scope}
        GROUP BY minute ORDER BY minute""",
                       params | {"a": incident.start_time, "b": incident.end_time}).fetchall()
    return [(minute, int(n)) for minute, n in rows]


def first_burst_edge(counts: list[int]) -> int:
    """The index of the leading edge of the first burst in a run of per-minute counts: the first burst runs from
    the first minute until a minute falls below ONSET_SHARE of the highest count so far; its edge is its first
    minute at ONSET_SHARE of its peak. 0 when nothing errs."""
    peak = 0
    for n in counts:
        if peak and n < ONSET_SHARE * peak:
            break
        peak = max(peak, n)
    return next((i for i, n in enumerate(counts) if peak and n >= ONSET_SHARE * peak), 0)


def onset_window(con: duckdb.DuckDBPyConnection, incident: Incident) -> tuple[datetime, datetime]:
    """[leading edge, leading edge + ONSET_LENGTH), within the incident's span (see the module); its span's first
    ONSET_LENGTH when it holds no error (a latency incident)."""
    start, end = incident.start_time, incident.end_time
    first = start.replace(second=0, microsecond=0)
    counts = [0] * max(int((end - first) / MINUTE) + 1, 1)
    for minute, n in errors_per_minute(con, incident):
        index = int((minute - first) / MINUTE)
        if 0 <= index < len(counts):
            counts[index] = n
    start = max(start, first + first_burst_edge(counts) * MINUTE)
    return start, max(min(end, start + ONSET_LENGTH), start + MINUTE)
