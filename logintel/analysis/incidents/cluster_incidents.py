"""Cluster incidents: patterns that clustered together (similar meaning, spiking together) and
crossed the error threshold as a group become one incident, with the rule incidents of their
groups folded into it. Which groups stay in it is the root-cause analysis's call (analysis.root_cause):
a group that burst in the same minutes without carrying the shared cause is not part of it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import duckdb

from logintel.analysis.incidents.incident import MAX_RELATED_TRACES, Incident, ensure_schema, severity
from logintel.analysis.root_cause.scopes import overlaps
from logintel.store.landing import HOUR
from logintel.store.schema import ERROR_SQL, IN_GROUPS_SQL, SERVER_ERROR_SQL, group_keys

# A burst is a spike, not background: its windows hold this many times the hour's background (`bursts`).
MIN_BURST_RATIO = 3.0
# Most of a cluster incident's errors must be the server's (5xx, level error/fatal), not the client's.
MIN_SERVER_ERROR_SHARE = 0.5
MAX_ONSET_GAP_MINUTES = 4
# A follower's busiest window holds at least this share of the threshold (background stays below it).
FOLLOWER_FRACTION = 0.5
MIN_OVERLAP = 0.5


def _cluster_rows(con, start: datetime, include_noise: bool = False):
    return con.execute(f"""
        SELECT c.cluster, p.pattern_id, p.service, p.route, p.error_code, p.template, p.errors, p.users,
               p.first_seen, p.last_seen
        FROM pattern_clusters c JOIN event_patterns p USING (partition_hour, pattern_id)
        WHERE c.partition_hour = $start AND {'true' if include_noise else 'c.cluster >= 0'} AND p.errors > 0
        ORDER BY c.cluster, p.errors DESC""", {"start": start}).fetchall()


def _pattern_minutes(con, start: datetime, pattern_ids: list[str]) -> dict[str, list[int]]:
    """Each pattern's events per minute of the hour (60 counts)."""
    by_pattern = {pid: [0] * 60 for pid in pattern_ids}
    for pid, minute, n in con.execute("""
        SELECT pattern_id, minute, sum(events) FROM pattern_activity
        WHERE partition_hour = $start AND list_contains($ids, pattern_id) GROUP BY ALL""",
                                      {"start": start, "ids": pattern_ids}).fetchall():
        if 0 <= minute < 60:
            by_pattern[pid][minute] = int(n)
    return by_pattern


def _summed(by_pattern: dict[str, list[int]]) -> list[int]:
    """The patterns' events per minute together."""
    return [sum(m[i] for m in by_pattern.values()) for i in range(60)]


def _activity(con, start: datetime, pattern_ids: list[str]) -> list[int]:
    return _summed(_pattern_minutes(con, start, pattern_ids))


def _window_sums(minutes: list[int], window: int) -> list[int]:
    return [sum(minutes[i:i + window]) for i in range(0, 60 - window + 1)]


def _peak_and_burst(minutes: list[int], window: int) -> tuple[int, float, int, int]:
    sums = _window_sums(minutes, window)
    peak = max(sums) if sums else 0
    active = sorted(sums)
    typical = active[len(active) // 2] if active else 0
    burst = peak / max(typical, 1)
    busy = [i for i, v in enumerate(minutes) if v > 0]
    return peak, burst, (busy[0] if busy else 0), (busy[-1] + 1 if busy else 0)


def bursts(minutes: list[int], window: int, floor: float) -> list[tuple[int, int]]:
    """The minutes [first, last) of each burst in an hour's activity. A pattern that errs all hour long and
    spikes twice is two bursts, not one incident from its first background error to its last.

    Background is the hour's quieter windows (the lower quartile of its window sums: a burst may fill half
    the hour, background rarely less than a quarter of it). A burst is a run of windows holding at least
    MIN_BURST_RATIO times that and at least `floor`; its edges are where its minutes' running excess over
    the burst's rate per minute is lowest, so a ramp's minutes at that rate are in it and a stray background
    error next to it is not."""
    sums = _window_sums(minutes, window)
    if not sums:
        return []
    background = sorted(sums)[len(sums) // 4]
    level = max(MIN_BURST_RATIO * max(background, 1), floor, 1)
    rate = level / window
    runs: list[list[int]] = []
    for i, total in enumerate(sums):
        if total < level:
            continue
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    found = []
    for first_window, last_window in runs:
        lo, hi = first_window, last_window + window
        busiest = max(range(lo, hi), key=lambda m: minutes[m])  # the edges are searched on either side of it
        found.append((lo + _lowest_excess(minutes[lo:busiest], rate),
                      hi - _lowest_excess(minutes[busiest + 1:hi][::-1], rate)))
    return found


def _lowest_excess(minutes: list[int], rate: float) -> int:
    """Where the running sum of (count - rate) from the start is lowest: the minutes before it are below the
    rate on balance."""
    running, lowest, at = 0.0, 0.0, 0
    for i, n in enumerate(minutes):
        running += n - rate
        if running < lowest:
            lowest, at = running, i + 1
    return at


def _minute_of(hour_start: datetime, at: datetime) -> int:
    return int((at - hour_start).total_seconds() // 60)


def cluster_id(groups: list[tuple], first_window: datetime) -> str:
    key = "cluster|" + ";".join(sorted(group_keys(groups))) + "|" + first_window.isoformat()
    return "inc-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _continued_id(con, start: datetime, groups: list[tuple]) -> tuple[str, datetime] | None:
    """The id of a cluster incident of the previous hour that ran up to this hour and shares a group."""
    previous = con.execute("""
        SELECT incident_id, first_seen, services, routes, error_codes FROM incidents
        WHERE kind = 'cluster' AND partition_hour = $p AND end_time >= $edge""",
                           {"p": start - HOUR, "edge": start - timedelta(minutes=5)}).fetchall()
    wanted = {(s, c or "") for s, _, c in groups}
    for incident_id, first_seen, services, _routes, codes in previous:
        if wanted & {(s, c) for s in services for c in (codes or [""])}:
            return incident_id, first_seen
    return None


def _candidates(con, start: datetime, threshold: float, window_minutes: int) -> list[dict]:
    """Every burst this hour of a cluster (or of an unclustered pattern), with the patterns active in it.
    Anchors crossed the threshold on their own; followers burst too, but smaller, and count only beside an
    anchor."""
    by_cluster: dict = {}
    for row in _cluster_rows(con, start, include_noise=True):
        key = row[0] if row[0] >= 0 else f"noise:{row[1]}"
        by_cluster.setdefault(key, []).append(row)
    found = []
    for cluster, rows in by_cluster.items():
        by_pattern = _pattern_minutes(con, start, [r[1] for r in rows])
        minutes = _summed(by_pattern)
        for first, last in bursts(minutes, window_minutes, threshold * FOLLOWER_FRACTION):
            part = [n if first <= i < last else 0 for i, n in enumerate(minutes)]
            # each pattern's errors in the burst (its activity counts every event with its message)
            active = [r[:6] + (min(sum(by_pattern[r[1]][first:last]), r[6]),) + r[7:] for r in rows]
            active = [r for r in active if r[6] > 0]
            peak = max(_window_sums(part, window_minutes))
            found.append({"clusters": [cluster], "rows": active, "minutes": part, "first": first,
                          "last": last, "anchor": peak > threshold})
    return found


def _co_occur(a: dict, b: dict) -> bool:
    """Two bursts are one event when they start within a few minutes and mostly overlap."""
    overlap = min(a["last"], b["last"]) - max(a["first"], b["first"])
    shorter = max(1, min(a["last"] - a["first"], b["last"] - b["first"]))
    return abs(a["first"] - b["first"]) <= MAX_ONSET_GAP_MINUTES and overlap / shorter >= MIN_OVERLAP


def _merge_co_occurring(candidates: list[dict]) -> list[dict]:
    # Clusters group messages that mean alike; one cause's unlike messages in different services meet
    # here instead, by bursting together (clusters are small in number, so pairwise is cheap).
    merged: list[dict] = []
    for candidate in sorted(candidates, key=lambda c: c["first"]):
        home = next((m for m in merged if _co_occur(m, candidate)), None)
        if home is None:
            merged.append(dict(candidate))
            continue
        home["clusters"] = home["clusters"] + candidate["clusters"]
        home["rows"] = home["rows"] + candidate["rows"]
        home["minutes"] = [x + y for x, y in zip(home["minutes"], candidate["minutes"])]
        home["first"], home["last"] = min(home["first"], candidate["first"]), max(home["last"], candidate["last"])
        home["anchor"] = home["anchor"] or candidate["anchor"]
    return [m for m in merged if m["anchor"]]


@dataclass
class ClusterCandidate:
    """Patterns of several groups that burst together this hour: an incident if they cross the threshold
    and their cause is shared (the root-cause analysis decides which groups stay)."""
    key: str
    rows: list                     # pattern rows, most errors first
    minutes: list[int]
    clusters: list
    start: datetime
    end: datetime

    @property
    def groups(self) -> list[tuple]:
        return sorted({(r[2], r[3], r[4]) for r in self.rows}, key=str)


def cluster_candidates(con: duckdb.DuckDBPyConnection, hour: datetime, threshold: float = 10.0,
                       window_minutes: int = 5) -> list[ClusterCandidate]:
    """Bursts of this hour across at least two services (within one service the threshold rules see each
    group); [] when the hour has no clusters (the clusters asset did not run)."""
    start = hour.replace(tzinfo=None)
    found = []
    for candidate in _merge_co_occurring(_candidates(con, start, threshold, window_minutes)):
        rows = sorted(candidate["rows"], key=lambda r: -r[6])
        groups = sorted({(r[2], r[3], r[4]) for r in rows}, key=str)
        if len({g[0] for g in groups}) < 2:
            continue
        _, _, first_minute, last_minute = _peak_and_burst(candidate["minutes"], window_minutes)
        seg_start, seg_end = start + timedelta(minutes=first_minute), start + timedelta(minutes=last_minute)
        found.append(ClusterCandidate(key=cluster_id(groups, seg_start), rows=rows, minutes=candidate["minutes"],
                                      clusters=candidate["clusters"], start=seg_start, end=seg_end))
    return found


def merge_candidates(members: list[ClusterCandidate]) -> ClusterCandidate:
    """Several candidates as one (the first one's key): their rows, activity and clusters together."""
    if len(members) == 1:
        return members[0]
    rows = sorted((r for c in members for r in c.rows), key=lambda r: -r[6])
    minutes = [sum(c.minutes[i] for c in members) for i in range(60)]
    return ClusterCandidate(key=members[0].key, rows=rows, minutes=minutes,
                            clusters=[k for c in members for k in c.clusters],
                            start=min(c.start for c in members), end=max(c.end for c in members))


def build_cluster_incident(con: duckdb.DuckDBPyConnection, hour: datetime, candidate: ClusterCandidate,
                           keep: set[tuple] | None, redact: Callable[[str], str], threshold: float = 10.0,
                           window_minutes: int = 5, data_end: datetime | None = None) -> Incident | None:
    """The incident of a candidate's groups in `keep` (None: all); None when fewer than two services are
    left or most of the errors are the clients' (declined cards travelling up a call chain are business,
    not an outage). `redact` cleans the example messages kept as evidence (a Redactor's `redact`)."""
    start = hour.replace(tzinfo=None)
    ensure_schema(con)  # the continuity lookup reads incidents, which a fresh warehouse lacks
    rows = [r for r in candidate.rows if keep is None or (r[2], r[3], r[4]) in keep]
    groups = sorted({(r[2], r[3], r[4]) for r in rows}, key=str)
    keys = group_keys(groups)
    services = sorted({g[0] for g in groups})
    if len(services) < 2:
        return None
    minutes = candidate.minutes
    if keep is not None:  # the window shrinks to the kept patterns' own activity in the burst
        a, b = _minute_of(start, candidate.start), _minute_of(start, candidate.end)
        minutes = [n if a <= i < b else 0 for i, n in enumerate(_activity(con, start, [r[1] for r in rows]))]
        _, _, first_minute, last_minute = _peak_and_burst(minutes, window_minutes)
        candidate = ClusterCandidate(key=candidate.key, rows=candidate.rows, minutes=minutes, clusters=candidate.clusters,
                                     start=start + timedelta(minutes=first_minute), end=start + timedelta(minutes=last_minute))
    peak, burst, _, _ = _peak_and_burst(minutes, window_minutes)
    cluster = next((c for c in candidate.clusters if isinstance(c, int)), -1)
    seg_start, seg_end = candidate.start, candidate.end
    errors = sum(r[6] for r in rows)
    segment = {"a": seg_start, "b": seg_end, "keys": keys}
    facts = con.execute(f"""
        SELECT count(DISTINCT user_id) FILTER (WHERE {ERROR_SQL}), count(DISTINCT trace_id) FILTER (WHERE {ERROR_SQL}),
               coalesce(sum(sample_rate), 0), quantile_cont(duration_ms, 0.99) FILTER (WHERE {ERROR_SQL}),
               coalesce(sum(sample_rate) FILTER (WHERE {SERVER_ERROR_SQL}), 0),
               coalesce(sum(sample_rate) FILTER (WHERE {ERROR_SQL}), 0)
        FROM raw_events WHERE ts >= $a AND ts < $b
          AND {IN_GROUPS_SQL}""", segment).fetchone()
    if facts[5] and facts[4] / facts[5] < MIN_SERVER_ERROR_SHARE:
        return None
    traces = [t[0] for t in con.execute(f"""
        SELECT trace_id FROM raw_events WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND trace_id IS NOT NULL
          AND {IN_GROUPS_SQL}
        GROUP BY trace_id ORDER BY min(ts) LIMIT {MAX_RELATED_TRACES}""", segment).fetchall()]
    # only a burst at the top of the hour carries on one that ran up to its end
    continued = _continued_id(con, start, groups) if seg_start < start + timedelta(minutes=window_minutes) else None
    incident_id, first_seen = continued if continued else (cluster_id(groups, seg_start), seg_start)
    users, trace_total, requests, p99 = int(facts[0]), int(facts[1]), int(facts[2]), facts[3]
    examples = [{"trace_id": t, "time": f"{ts:%H:%M:%S}", "service": svc, "error_code": code,
                 "message": redact(msg)[:200] if msg else None}
                for t, ts, svc, code, msg in con.execute(f"""
        SELECT any_value(trace_id), min(ts), service, error_code, any_value(error_message) FROM raw_events
        WHERE ts >= $a AND ts < $b AND {ERROR_SQL}
          AND {IN_GROUPS_SQL}
        GROUP BY service, error_code ORDER BY min(ts) LIMIT 5""", segment).fetchall()]
    still_open = data_end is not None and seg_end >= data_end.replace(tzinfo=None) - timedelta(minutes=1)
    # The most errors; on a tie (a cascade's hops fail once per request each) the first by name, so the same data
    # always names the same lead, whatever order the clusters came in.
    top = min(rows, key=lambda r: (-r[6], str(r[2]), str(r[3]), str(r[4])))
    minutes_long = (seg_end - first_seen).total_seconds() / 60
    rate = errors / requests if requests else 0.0
    return Incident(
        incident_id=incident_id, partition_hour=start, service=top[2], route=top[3], error_code=top[4],
        start_time=seg_start, end_time=seg_end, first_seen=first_seen, breached_windows=0, threshold=threshold,
        peak_errors=peak, errors=int(errors), requests=requests, error_rate=rate,
        users_affected=users, p99_ms=p99, severity=severity(peak, threshold, users, minutes_long, rate),
        status="open" if still_open else "resolved", related_traces=traces, related_traces_total=trace_total,
        kind="cluster", services=services, routes=sorted({g[1] for g in groups}),
        error_codes=sorted({g[2] for g in groups if g[2]}),
        evidence={"cluster": int(cluster), "clusters": [str(c) for c in candidate.clusters],
                  "window_minutes": window_minutes,
                  "groups": [list(g) for g in groups],
                  "templates": [{"service": r[2], "route": r[3], "error_code": r[4], "template": r[5],
                                 "errors": int(r[6])} for r in rows[:8]],
                  "burst_ratio": round(burst, 1), "examples": examples},
    )


def fold_rule_incidents(rule_incidents: list[Incident], cluster_incidents: list[Incident]) -> None:
    """Mark each rule incident whose group and time fall inside a cluster incident as merged into it."""
    for rule in rule_incidents:
        for cluster in cluster_incidents:
            groups = {tuple(g) for g in cluster.evidence.get("groups", [])}
            same_group = (rule.service, rule.route, rule.error_code) in groups or (
                rule.service in cluster.services and rule.error_code in cluster.error_codes)
            if same_group and overlaps(rule.start_time, rule.end_time, cluster.start_time, cluster.end_time):
                rule.merged_into = cluster.incident_id
                break
