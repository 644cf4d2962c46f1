"""Cluster incidents: patterns that clustered together (similar meaning, spiking together) and
crossed the error threshold as a group become one incident, with the rule incidents of their
groups folded into it; the likely shared cause is read from the attributes their errors share.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

import duckdb

from logintel.analysis.incidents import MAX_RELATED_TRACES, Incident, ensure_schema, severity
from logintel.store.landing import HOUR
from logintel.store.schema import ERROR_SQL, IN_GROUPS_SQL, SERVER_ERROR_SQL, group_keys

# Attributes that every request carries say nothing about a cause.
UNINFORMATIVE_ATTRIBUTES = {"region", "host", "caller", "parent_request_id", "runtime.heap_used_mb"}
# A cluster is a spike, not background: its busiest 5 minutes hold this many times its typical rate.
MIN_BURST_RATIO = 3.0
MIN_SHARED_FRACTION = 0.6
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


def _activity(con, start: datetime, pattern_ids: list[str]) -> list[int]:
    rows = con.execute("""
        SELECT minute, sum(events) FROM pattern_activity
        WHERE partition_hour = $start AND list_contains($ids, pattern_id) GROUP BY minute""",
                       {"start": start, "ids": pattern_ids}).fetchall()
    minutes = [0] * 60
    for minute, n in rows:
        if 0 <= minute < 60:
            minutes[minute] = int(n)
    return minutes


def _peak_and_burst(minutes: list[int], window: int) -> tuple[int, float, int, int]:
    sums = [sum(minutes[i:i + window]) for i in range(0, 60 - window + 1)]
    peak = max(sums) if sums else 0
    active = sorted(sums)
    typical = active[len(active) // 2] if active else 0
    burst = peak / max(typical, 1)
    busy = [i for i, v in enumerate(minutes) if v > 0]
    return peak, burst, (busy[0] if busy else 0), (busy[-1] + 1 if busy else 0)


def shared_attributes(con, start: datetime, end: datetime, groups: list[tuple]) -> list[dict]:
    """Suspects for a shared cause: attribute values carried by most errors of at least two services
    (a dependency they share), and latencies that rose far above the hour before (a slow dependency)."""
    if not groups:
        return []
    keys = group_keys(groups)
    rows = con.execute(f"""
        SELECT service, attributes FROM raw_events
        WHERE ts >= $a AND ts < $b AND {ERROR_SQL}
          AND {IN_GROUPS_SQL}
        USING SAMPLE 3000 ROWS""", {"a": start, "b": end, "keys": keys}).fetchall()
    per_service: Counter = Counter(service for service, _ in rows)
    counts: Counter = Counter()
    for service, attributes in rows:
        for key, value in (json.loads(attributes) if attributes else {}).items():
            if key in UNINFORMATIVE_ATTRIBUTES or isinstance(value, (dict, list)) or key.endswith("_ms"):
                continue
            counts[(key, str(value), service)] += 1
    by_value: dict = {}
    for (key, value, service), n in counts.items():
        if n / per_service[service] >= MIN_SHARED_FRACTION:
            by_value.setdefault((key, value), []).append((service, n))
    shared = [{"attribute": k, "value": v, "services": sorted(s for s, _ in hits),
               "share": sum(n for _, n in hits) / sum(per_service[s] for s, _ in hits)}
              for (k, v), hits in by_value.items()]
    shared = [a for a in shared if len(a["services"]) >= 2]
    shared.sort(key=lambda a: (-len(a["services"]), -a["share"]))
    return _slow_dependencies(con, start, end, groups) + shared[:4]


def _slow_dependencies(con, start: datetime, end: datetime, groups: list[tuple]) -> list[dict]:
    """Latency attributes (db.duration_ms, upstream.duration_ms, …) whose median during the incident
    is many times the same services' median in the hour before."""
    services = sorted({g[0] for g in groups})
    keys = group_keys(groups)
    # Which latency attributes the errors carry, from a sample; then each one's medians, read directly.
    names = sorted({k for (k,) in con.execute(f"""
        SELECT DISTINCT unnest(json_keys(attributes)) FROM (
            SELECT attributes FROM raw_events WHERE ts >= $a AND ts < $b AND {ERROR_SQL}
              AND {IN_GROUPS_SQL}
            USING SAMPLE 500 ROWS)""", {"a": start, "b": end, "keys": keys}).fetchall()
        if k.endswith("duration_ms")})
    rows = []
    for name in names:
        during, before = con.execute("""
            SELECT median(TRY_CAST(attributes->>$k AS DOUBLE)) FILTER (WHERE ts >= $a),
                   median(TRY_CAST(attributes->>$k AS DOUBLE)) FILTER (WHERE ts < $a)
            FROM raw_events WHERE ts >= $a - INTERVAL 1 HOUR AND ts < $b AND list_contains($services, service)""",
                                     {"k": name, "a": start, "b": end, "services": services}).fetchone()
        rows.append((name, during, before))
    slow = []
    for key, during, before in rows:
        if during is not None and before and during / before >= 3:
            target = key[: -len(".duration_ms")] if key.endswith(".duration_ms") else key
            named = _dependency_name(con, start, end, groups, target)
            slow.append({"attribute": key, "value": f"median {during:.0f} ms vs {before:.0f} ms the hour before",
                         "services": services, "share": 1.0, "dependency": named or target})
    return slow


def _dependency_name(con, start: datetime, end: datetime, groups: list[tuple], target: str) -> str | None:
    """Which instance of the slow dependency, as the incident's own errors name it: `db.instance` for
    db, the attribute itself for upstream."""
    keys = group_keys(groups)
    for key in (f"{target}.instance", f"{target}.name", target):
        row = con.execute(f"""
            SELECT attributes->>$k AS v, count(*) AS n FROM raw_events
            WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND attributes->>$k IS NOT NULL
              AND {IN_GROUPS_SQL}
            GROUP BY v ORDER BY n DESC LIMIT 1""", {"k": key, "a": start, "b": end, "keys": keys}).fetchone()
        if row and row[0] and not row[0].lstrip("-").replace(".", "").isdigit():
            return row[0]
    return None


def _cluster_id(groups: list[tuple], first_window: datetime) -> str:
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
    """Every cluster (and every unclustered pattern) that burst this hour. Anchors crossed the
    threshold on their own; followers burst too, but smaller, and count only beside an anchor."""
    by_cluster: dict = {}
    for row in _cluster_rows(con, start, include_noise=True):
        key = row[0] if row[0] >= 0 else f"noise:{row[1]}"
        by_cluster.setdefault(key, []).append(row)
    found = []
    for cluster, rows in by_cluster.items():
        minutes = _activity(con, start, [r[1] for r in rows])
        peak, burst, first_minute, last_minute = _peak_and_burst(minutes, window_minutes)
        if burst < MIN_BURST_RATIO or peak < threshold * FOLLOWER_FRACTION:
            continue
        found.append({"clusters": [cluster], "rows": rows, "minutes": minutes, "first": first_minute,
                      "last": last_minute, "anchor": peak > threshold})
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


def detect_cluster_incidents(con: duckdb.DuckDBPyConnection, hour: datetime, redact: Callable[[str], str],
                             threshold: float = 10.0, window_minutes: int = 5,
                             data_end: datetime | None = None) -> list[Incident]:
    """`redact` cleans the example messages kept as evidence (a Redactor's `redact`)."""
    start = hour.replace(tzinfo=None)
    ensure_schema(con)  # the continuity lookup reads incidents, which a fresh warehouse lacks
    found = []
    for candidate in _merge_co_occurring(_candidates(con, start, threshold, window_minutes)):
        rows = sorted(candidate["rows"], key=lambda r: -r[6])
        groups = sorted({(r[2], r[3], r[4]) for r in rows}, key=str)
        keys = group_keys(groups)
        services = sorted({g[0] for g in groups})
        if len(services) < 2:
            continue  # within one service the threshold rules already see each group
        peak, burst, first_minute, last_minute = _peak_and_burst(candidate["minutes"], window_minutes)
        cluster = next((c for c in candidate["clusters"] if isinstance(c, int)), -1)
        seg_start, seg_end = start + timedelta(minutes=first_minute), start + timedelta(minutes=last_minute)
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
            continue  # declined cards and empty stock travelling up a call chain are business, not an outage
        traces = [t[0] for t in con.execute(f"""
            SELECT trace_id FROM raw_events WHERE ts >= $a AND ts < $b AND {ERROR_SQL} AND trace_id IS NOT NULL
              AND {IN_GROUPS_SQL}
            GROUP BY trace_id ORDER BY min(ts) LIMIT {MAX_RELATED_TRACES}""", segment).fetchall()]
        continued = _continued_id(con, start, groups)
        incident_id, first_seen = continued if continued else (_cluster_id(groups, seg_start), seg_start)
        users, trace_total, requests, p99 = int(facts[0]), int(facts[1]), int(facts[2]), facts[3]
        examples = [{"trace_id": t, "time": f"{ts:%H:%M:%S}", "service": svc, "error_code": code,
                     "message": redact(msg)[:200] if msg else None}
                    for t, ts, svc, code, msg in con.execute(f"""
            SELECT any_value(trace_id), min(ts), service, error_code, any_value(error_message) FROM raw_events
            WHERE ts >= $a AND ts < $b AND {ERROR_SQL}
              AND {IN_GROUPS_SQL}
            GROUP BY service, error_code ORDER BY min(ts) LIMIT 5""", segment).fetchall()]
        still_open = data_end is not None and seg_end >= data_end.replace(tzinfo=None) - timedelta(minutes=1)
        top = rows[0]
        minutes_long = (seg_end - first_seen).total_seconds() / 60
        rate = errors / requests if requests else 0.0
        found.append(Incident(
            incident_id=incident_id, partition_hour=start, service=top[2], route=top[3], error_code=top[4],
            start_time=seg_start, end_time=seg_end, first_seen=first_seen, breached_windows=0, threshold=threshold,
            peak_errors=peak, errors=int(errors), requests=requests, error_rate=rate,
            users_affected=users, p99_ms=p99, severity=severity(peak, threshold, users, minutes_long, rate),
            status="open" if still_open else "resolved", related_traces=traces, related_traces_total=trace_total, kind="cluster",
            services=services, routes=sorted({g[1] for g in groups}),
            error_codes=sorted({g[2] for g in groups if g[2]}),
            evidence={"cluster": int(cluster), "clusters": [str(c) for c in candidate["clusters"]],
                      "window_minutes": window_minutes,
                      "templates": [{"service": r[2], "route": r[3], "error_code": r[4], "template": r[5],
                                     "errors": int(r[6])} for r in rows[:8]],
                      "shared_attributes": shared_attributes(con, seg_start, seg_end, groups),
                      "burst_ratio": round(burst, 1), "examples": examples},
        ))
    return found


def fold_rule_incidents(rule_incidents: list[Incident], cluster_incidents: list[Incident]) -> None:
    """Mark each rule incident whose group and time fall inside a cluster incident as merged into it."""
    for rule in rule_incidents:
        for cluster in cluster_incidents:
            same_group = any(t["service"] == rule.service and t["route"] == rule.route
                             and t["error_code"] == rule.error_code for t in cluster.evidence["templates"]) or (
                rule.service in cluster.services and rule.error_code in cluster.error_codes)
            overlaps = rule.start_time < cluster.end_time + timedelta(minutes=5) and \
                rule.end_time > cluster.start_time - timedelta(minutes=5)
            if same_group and overlaps:
                rule.merged_into = cluster.incident_id
                break
