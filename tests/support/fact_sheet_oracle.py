"""The fact sheet of one grounding scope, computed on its own (three aggregate queries, and one scan per
field=value its text names): the oracle that `logintel.trust.batch_facts.compute_fact_sheets`, which computes
the sheets of many scopes at once, is tested and benchmarked against."""
from __future__ import annotations

import duckdb

from logintel.store.schema import ERROR_SQL
from logintel.trust.agreement import WINDOW_SLACK_SQL
from logintel.trust.attributes import (TOP_LEVEL_FIELDS, AttributeFacts, facts_from_counts, json_paths, metric_of,
                                       value_seen)
from logintel.trust.fact_sheet import (ATTRIBUTE_HORIZON, QUANTILES, FactSheet, add_attribute, add_groups,
                                       add_totals, add_windows)
from logintel.trust.scope import GroundingScope


def compute_facts(con: duckdb.DuckDBPyConnection, scope: GroundingScope,
                  attributes: tuple[tuple[str, str], ...] = ()) -> FactSheet:
    """The scope's facts; for each (attribute, value) a text names, also the share of the failing events
    and of the baseline carrying it and its namespace's p50 latency on each side."""
    sheet = FactSheet(scope)
    on_route, in_code, params = _filters(scope)
    times = {"prev": scope.previous_start, "start": scope.start, "end": scope.end}
    try:
        row = _scope_totals(con, on_route, in_code, params | times)
    except duckdb.CatalogException:
        return sheet  # no raw_events yet: nothing can be grounded
    add_totals(sheet, row)
    add_groups(sheet, _group_rows(con, on_route, in_code, params | times))
    try:
        add_windows(sheet, _window_rows(con, on_route, in_code, params | times))
    except duckdb.CatalogException:
        pass  # no windows computed yet: peaks cannot be checked, and will read as ungrounded
    for attribute, value in dict.fromkeys(attributes):
        add_attribute(sheet, attribute, value,
                      attribute_facts(con, scope, on_route, in_code, params, attribute, value))
    return sheet


def _filters(scope: GroundingScope) -> tuple[str, str, dict]:
    """SQL conditions (route: the scope's services and routes; code: its error codes) and their parameters."""
    params, route, code = {}, [], "TRUE"
    if scope.services:
        route.append("list_contains($services, service)")
        params["services"] = list(scope.services)
    if scope.routes:
        route.append("list_contains($routes, route)")
        params["routes"] = list(scope.routes)
    if scope.error_codes:
        code = "list_contains($codes, error_code)"
        params["codes"] = list(scope.error_codes)
    return " AND ".join(route) or "TRUE", code, params


def _scope_totals(con, on_route: str, in_code: str, params: dict) -> tuple:
    """The scope's totals, previous-period totals and duration quantiles, in one scan of its time range."""
    quantiles = "[" + ", ".join(str(q) for _, q in QUANTILES) + "]"
    # Requests are the routes' whole traffic (every code, successes too): the error rate's denominator.
    return con.execute(f"""
        WITH ev AS (
            SELECT ts >= $start AS now, {ERROR_SQL} AS err, ({on_route}) AS on_route,
                   ({on_route}) AND ({in_code}) AND {ERROR_SQL} AS hit, sample_rate AS w, user_id, duration_ms, ts
            -- only the rows any aggregate reads (the scope's routes, and every error for the share of all)
            FROM raw_events WHERE ts >= $prev AND ts < $end AND (({on_route}) OR {ERROR_SQL}))
        SELECT sum(w) FILTER (now AND on_route), sum(w) FILTER (NOT now AND on_route),
               sum(w) FILTER (now AND hit), sum(w) FILTER (NOT now AND hit),
               sum(w) FILTER (now AND on_route AND err), sum(w) FILTER (now AND err),
               count(DISTINCT user_id) FILTER (now AND hit), count(DISTINCT user_id) FILTER (now AND on_route),
               quantile_cont(duration_ms, {quantiles}) FILTER (now AND hit), max(duration_ms) FILTER (now AND hit),
               avg(duration_ms) FILTER (now AND hit),
               quantile_cont(duration_ms, {quantiles}) FILTER (now AND on_route),
               max(duration_ms) FILTER (now AND on_route), avg(duration_ms) FILTER (now AND on_route),
               quantile_cont(duration_ms, 0.99) FILTER (NOT now AND on_route),
               quantile_cont(duration_ms, 0.99) FILTER (NOT now AND hit),
               min(ts) FILTER (now AND hit), max(ts) FILTER (now AND hit)
        FROM ev""", params).fetchone()


def _group_rows(con, on_route: str, in_code: str, params: dict) -> list[tuple]:
    """Per (service, route, error_code) of the scope's routes: (service, route, code, in scope, requests,
    errors, previous errors, users with errors)."""
    return con.execute(f"""
        SELECT service, route, error_code, ({in_code}) AS in_scope,
               coalesce(sum(sample_rate) FILTER (ts >= $start), 0) AS requests,
               coalesce(sum(sample_rate) FILTER (ts >= $start AND {ERROR_SQL}), 0) AS errors,
               coalesce(sum(sample_rate) FILTER (ts < $start AND {ERROR_SQL}), 0) AS prev_errors,
               count(DISTINCT user_id) FILTER (ts >= $start AND {ERROR_SQL}) AS users
        FROM raw_events WHERE ts >= $prev AND ts < $end AND {on_route}
        GROUP BY ALL""", params).fetchall()


def _window_rows(con, on_route: str, in_code: str, params: dict) -> list[tuple]:
    """Peaks per 5-minute window: per group, then (service NULL) all the scope's groups together, over
    windows inside the scope (what an incident reports) and over every window that overlaps it."""
    return con.execute(f"""
        WITH w AS (
            SELECT window_start, window_end, service, route, error_code, errors, p99_ms, max_ms,
                   window_start >= $start AND window_end <= $end AS inside
            FROM windowed_aggregates
            WHERE window_start > $start - {WINDOW_SLACK_SQL} AND window_end < $end + {WINDOW_SLACK_SQL}
              AND {on_route} AND {in_code} AND errors > 0)
        SELECT service, route, error_code, max(errors) FILTER (inside), max(errors),
               max(p99_ms) FILTER (inside), max(p99_ms), max(max_ms) FILTER (inside)
        FROM w GROUP BY ALL
        UNION ALL
        SELECT NULL, NULL, NULL, max(total) FILTER (inside), max(total), NULL, NULL, NULL
        FROM (SELECT window_start, bool_and(inside) AS inside, sum(errors) AS total FROM w GROUP BY window_start)
    """, {k: v for k, v in params.items() if k != "prev"}).fetchall()


def attribute_facts(con: duckdb.DuckDBPyConnection, scope, on_route: str, in_code: str, params: dict,
                    attribute: str, value: str) -> AttributeFacts:
    """Facts about `attribute`=`value` in the scope (its failing events and its baselines), in one scan that
    parses each row's attributes once (both spellings of the attribute and of its latency together)."""
    baselines = scope.baseline_windows
    windows = " OR ".join(f"(ts >= $bs{i} AND ts < $be{i})" for i in range(len(baselines))) or "false"
    times = {f"bs{i}": a for i, (a, _) in enumerate(baselines)} | {f"be{i}": b for i, (_, b) in enumerate(baselines)}
    column = attribute in TOP_LEVEL_FIELDS
    carried = f"coalesce(CAST({attribute} AS VARCHAR), j[1])" if column else "coalesce(j[1], j[2])"
    row = con.execute(f"""
        WITH ev AS (
            SELECT ts >= $start AND ts < $end AND ({on_route}) AND ({in_code}) AND {ERROR_SQL} AS failing,
                   ({windows}) AS baseline, sample_rate AS w, {'' if not column else attribute + ','}
                   json_extract_string(attributes, $paths) AS j
            FROM raw_events WHERE ts >= $lo AND ts < $hi  -- a plain range first: the zone maps skip the rest
              AND ((ts >= $start AND ts < $end) OR ({windows})) AND ({on_route}))
        SELECT sum(w) FILTER (failing AND carries), sum(w) FILTER (failing),
               sum(w) FILTER (baseline AND carries), sum(w) FILTER (baseline),
               median(ms) FILTER (failing AND carries), median(ms) FILTER (baseline AND carries)
        FROM (SELECT failing, baseline, w, coalesce({carried} = $a_value, false) AS carries,
                     TRY_CAST(coalesce(j[3], j[4]) AS DOUBLE) AS ms FROM ev)""",
                      params | times | {"start": scope.start, "end": scope.end, "a_value": value,
                                        "lo": min([scope.start] + [a for a, _ in baselines]),
                                        "hi": max([scope.end] + [b for _, b in baselines]),
                                        "paths": json_paths(attribute) + json_paths(metric_of(attribute))}).fetchone()
    carried_f = row[0]
    seen = bool(carried_f) or value_seen(con, attribute, value, scope.start - ATTRIBUTE_HORIZON,
                                                      scope.end + ATTRIBUTE_HORIZON)
    return facts_from_counts(row, seen)
