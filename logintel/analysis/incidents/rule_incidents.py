"""Rule incidents: every group whose errors in a window exceed its threshold, with consecutive
breaching windows of one group merged into one incident (not one per window).

An incident's id is derived from its group and the start of its run of breaching windows, and the
run is followed back into earlier partitions, so an incident that spans an hour boundary keeps one
id and re-running a partition reproduces the same ids.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from logintel.analysis.incidents.incident import MAX_LOOKBACK, MAX_RELATED_TRACES, Incident, incident_id, severity
from logintel.analysis.incidents.segment_facts import Segment, SegmentFacts, segment_facts
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import WindowSpec
from logintel.store.landing import HOUR

# Breaching windows whose starts are at most this many window lengths apart belong to one run: a
# rate hovering around its threshold is one incident, not a flurry of them (the deploy regression
# of the demo's day came out as up to 8 incidents for 3 routes with one window).
RUN_GAP_WINDOWS = 2


def window_runs(starts: list[datetime], spec: WindowSpec) -> list[list[datetime]]:
    """Split sorted breaching window starts into runs; a gap of up to RUN_GAP_WINDOWS windows
    continues a run."""
    runs: list[list[datetime]] = []
    for start in starts:
        if runs and start - runs[-1][-1] <= timedelta(minutes=spec.length_minutes * RUN_GAP_WINDOWS):
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


def detect_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, thresholds: Thresholds,
                     spec: WindowSpec = WindowSpec(), data_end: datetime | None = None) -> list[Incident]:
    """Rule incidents of partition `hour`, from windowed_aggregates (and raw_events for the facts).
    Their text is written afterwards (`logintel.narration.incident_text`)."""
    start = hour.replace(tzinfo=None)
    end = start + HOUR
    windows = con.execute("""
        SELECT service, route, error_code, window_start, window_end, errors, requests, p99_ms
        FROM windowed_aggregates WHERE partition_hour = $start ORDER BY service, route, error_code, window_start
    """, {"start": start}).fetchall()
    breaching: dict[tuple, list[tuple]] = {}
    for service, route, code, w_start, w_end, errors, requests, p99 in windows:
        limit = thresholds.for_group(service, route, code)
        if errors > limit:
            breaching.setdefault((service, route, code), []).append((w_start, w_end, errors, p99, limit))

    runs = []
    for (service, route, code), rows in breaching.items():
        limit = rows[0][4]
        # Breaching windows of this group in earlier partitions, to find where each run began.
        earlier = [r[0] for r in con.execute("""
            SELECT window_start FROM windowed_aggregates
            WHERE service = $s AND route = $r AND error_code IS NOT DISTINCT FROM $c
              AND partition_hour < $start AND partition_hour >= $since AND errors > $limit
            ORDER BY window_start
        """, {"s": service, "r": route, "c": code, "start": start, "since": start - MAX_LOOKBACK,
              "limit": limit}).fetchall()]
        by_start = {r[0]: r for r in rows}
        for run in window_runs(earlier + sorted(by_start), spec):
            here = [s for s in run if s in by_start]
            if not here:
                continue
            first_window = run[0]
            seg_start = max(by_start[here[0]][0], start - spec.lookback) if here[0] == first_window else here[0]
            seg_start = max(seg_start, start) if run[0] < start else seg_start
            seg_end = min(max(by_start[s][1] for s in here), end)
            runs.append((Segment(service, route, code, seg_start, seg_end), first_window, len(here), limit,
                         max(by_start[s][2] for s in here), max((by_start[s][3] or 0.0) for s in here)))
    # The facts of every run from one pass over the hour's events, not three queries per run.
    facts = segment_facts(con, [r[0] for r in runs], MAX_RELATED_TRACES)
    incidents = [_describe(segment, found, first_window, start, windows, limit, peak, p99, spec, data_end)
                 for (segment, first_window, windows, limit, peak, p99), found in zip(runs, facts)]
    return sorted(incidents, key=lambda i: (i.start_time, i.service, i.route))


def _describe(segment: Segment, facts: SegmentFacts, first_window, partition_start, windows, limit, peak, p99,
              spec, data_end) -> Incident:
    # Requests are the whole route's traffic in the incident's time range (every error code and
    # success), so the error rate says what share of that route's users saw this failure.
    service, route, code, seg_start, seg_end = (segment.service, segment.route, segment.error_code, segment.start,
                                                segment.end)
    requests, errors, users = facts.requests, facts.errors, facts.users
    minutes = (seg_end - (first_window if first_window >= partition_start - HOUR else seg_start)).total_seconds() / 60
    rate = errors / requests if requests else 0.0
    still_open = data_end is not None and seg_end >= data_end.replace(tzinfo=None) - timedelta(minutes=spec.step_minutes)
    return Incident(
        incident_id=incident_id(service, route, code, first_window), partition_hour=partition_start,
        service=service, route=route, error_code=code, start_time=seg_start, end_time=seg_end,
        first_seen=first_window, breached_windows=windows, threshold=limit, peak_errors=int(peak),
        errors=errors, requests=requests, error_rate=rate, users_affected=users, p99_ms=p99,
        severity=severity(int(peak), limit, users, minutes, rate),
        status="open" if still_open else "resolved",
        related_traces=facts.traces, related_traces_total=facts.traces_total,
        evidence={"messages": facts.messages, "window_minutes": spec.length_minutes},
    )
