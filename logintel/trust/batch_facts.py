"""The fact sheets of many scopes from set-based SQL: one join of raw_events with every scope's routes and
period (the scope and the equal period before it), aggregated per scope and per group, the errors of every
service per scope, and the 5-minute windows per scope, filled into the sheets by `fact_sheet`. A scope that
names no service or no route (every one) reads the (service, route) pairs the warehouse holds around it."""
from __future__ import annotations

import duckdb

from logintel.store.schema import ERROR_SQL, has_table
from logintel.trust.batch_attributes import attribute_facts_many
from logintel.trust.agreement import WINDOW_SLACK_SQL
from logintel.trust.batch_scopes import code_match, read_units, registered, scopes_table, units_table
from logintel.trust.fact_sheet import QUANTILES, FactSheet, add_attribute, add_groups, add_totals, add_windows
from logintel.trust.scope import GroundingScope

_Q = "[" + ", ".join(str(q) for _, q in QUANTILES) + "]"
# A scope without events on its routes: NULL sums and quantiles, and 0 distinct users (as one aggregate
# over no rows gives), before the errors of every service are put in.
_NO_EVENTS = (None,) * 5 + (0, 0) + (None,) * 10


def compute_fact_sheets(con: duckdb.DuckDBPyConnection, scopes: list[GroundingScope],
                        attributes: list[tuple[tuple[str, str], ...]]) -> list[FactSheet]:
    """Each scope's sheet with the field=value facts its text names (`attributes[i]` for `scopes[i]`)."""
    sheets = [FactSheet(s) for s in scopes]
    if not scopes:
        return sheets
    params = {"lo": min(s.previous_start for s in scopes), "hi": max(s.end for s in scopes)}
    # Tables are looked for, not failed on: a failed query would abort the caller's transaction.
    if not has_table(con, "raw_events"):
        return sheets  # no raw_events yet: nothing can be grounded
    units = read_units(con, scopes)
    with registered(con, gs_units=units_table(scopes, units), gs_scopes=scopes_table(scopes)):
        totals, all_errors = _totals(con, params)
        groups = _groups(con, units)
        # no windows computed yet: peaks cannot be checked
        windows = _windows(con) if has_table(con, "windowed_aggregates") else None
        con.execute("DROP TABLE IF EXISTS gs_rows")
    for key, sheet in enumerate(sheets):
        row = totals.get(key, _NO_EVENTS)
        add_totals(sheet, row[:5] + (all_errors.get(key),) + row[5:])
        add_groups(sheet, groups.get(key, []))
        if windows is not None:
            add_windows(sheet, windows.get(key, []))
    claims = [(key, a, v) for key, named in enumerate(attributes) for a, v in dict.fromkeys(named)]
    found = attribute_facts_many(con, scopes, claims, units)
    for key, attribute, value in claims:
        add_attribute(sheets[key], attribute, value, found[(key, attribute, value)])
    return sheets


def _totals(con, params: dict) -> tuple[dict[int, tuple], dict[int, int]]:
    """Per scope, its totals row without the errors of every service (see `fact_sheet.add_totals`), and those
    errors."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gs_rows AS
        SELECT u.key, u.uid, e.ts >= u.f_start AS now, e.err, {code_match('u', 'e.error_code')} AS in_code,
               e.w, e.user_id, e.duration_ms, e.ts, e.error_code
        FROM (SELECT ts, service, route, error_code, sample_rate AS w, user_id, duration_ms, {ERROR_SQL} AS err
              FROM raw_events WHERE ts >= $lo AND ts < $hi) e
        JOIN gs_units u ON e.service = u.service AND e.route = u.route AND e.ts >= u.prev AND e.ts < u.f_end""",
                params)
    rows = con.execute(f"""
        SELECT key, sum(w) FILTER (now), sum(w) FILTER (NOT now),
               sum(w) FILTER (now AND hit), sum(w) FILTER (NOT now AND hit), sum(w) FILTER (now AND err),
               quantile_cont(duration_ms, {_Q}) FILTER (now AND hit), max(duration_ms) FILTER (now AND hit),
               avg(duration_ms) FILTER (now AND hit),
               quantile_cont(duration_ms, {_Q}) FILTER (now), max(duration_ms) FILTER (now),
               avg(duration_ms) FILTER (now),
               quantile_cont(duration_ms, 0.99) FILTER (NOT now),
               quantile_cont(duration_ms, 0.99) FILTER (NOT now AND hit),
               min(ts) FILTER (now AND hit), max(ts) FILTER (now AND hit)
        FROM (SELECT *, err AND in_code AS hit FROM gs_rows) GROUP BY key""").fetchall()
    # Distinct users per scope, of its errors and of its routes: one (scope, user) row each first, which
    # costs less than count(DISTINCT) over every event of every scope.
    users = {key: (hit, route) for key, hit, route in con.execute("""
        SELECT key, count(*) FILTER (hit AND user_id IS NOT NULL), count(*) FILTER (user_id IS NOT NULL)
        FROM (SELECT key, user_id, bool_or(err AND in_code) AS hit FROM gs_rows WHERE now GROUP BY key, user_id)
        GROUP BY key""").fetchall()}
    errors = con.execute(f"""
        SELECT s.key, sum(e.w)
        FROM (SELECT ts, sample_rate AS w FROM raw_events WHERE ts >= $lo AND ts < $hi AND {ERROR_SQL}) e
        JOIN gs_scopes s ON e.ts >= s.f_start AND e.ts < s.f_end GROUP BY s.key""", params).fetchall()
    return {r[0]: tuple(r[1:6]) + users.get(r[0], (0, 0)) + tuple(r[6:]) for r in rows}, dict(errors)


def _groups(con, units: list[tuple[int, str, str]]) -> dict[int, list[tuple]]:
    """Per scope, a row per (service, route, error_code) of its routes: (service, route, code, in its codes,
    requests, errors, previous errors, users with errors), as `fact_sheet.add_groups` reads them."""
    rows = con.execute("""
        SELECT uid, error_code, in_code, coalesce(sum(w) FILTER (now), 0),
               coalesce(sum(w) FILTER (now AND err), 0), coalesce(sum(w) FILTER (NOT now AND err), 0)
        FROM gs_rows GROUP BY ALL""").fetchall()
    users = {(uid, code): n for uid, code, n in con.execute(
        "SELECT uid, error_code, count(DISTINCT user_id) FROM gs_rows WHERE now AND err GROUP BY ALL").fetchall()}
    out: dict[int, list[tuple]] = {}
    for uid, code, in_code, requests, errors, prev_errors in rows:
        key, service, route = units[uid]
        out.setdefault(key, []).append((service, route, code, in_code, requests, errors, prev_errors,
                                        users.get((uid, code), 0)))
    return out


def _windows(con) -> dict[int, list[tuple]]:
    """Per scope, the peaks of the 5-minute windows inside it and of those that overlap it (`fact_sheet.add_windows`
    reads them)."""
    rows = con.execute(f"""
        WITH w AS (
            SELECT u.key, a.window_start, a.service, a.route, a.error_code, a.errors, a.p99_ms, a.max_ms,
                   a.window_start >= u.f_start AND a.window_end <= u.f_end AS inside
            FROM windowed_aggregates a JOIN gs_units u ON a.service = u.service AND a.route = u.route
            WHERE a.window_start > u.f_start - {WINDOW_SLACK_SQL} AND a.window_end < u.f_end + {WINDOW_SLACK_SQL}
              AND {code_match('u', 'a.error_code')} AND a.errors > 0)
        SELECT key, service, route, error_code, max(errors) FILTER (inside), max(errors),
               max(p99_ms) FILTER (inside), max(p99_ms), max(max_ms) FILTER (inside)
        FROM w GROUP BY ALL
        UNION ALL
        SELECT key, NULL, NULL, NULL, max(total) FILTER (inside), max(total), NULL, NULL, NULL
        FROM (SELECT key, window_start, bool_and(inside) AS inside, sum(errors) AS total FROM w
              GROUP BY key, window_start)
        GROUP BY key""").fetchall()
    out: dict[int, list[tuple]] = {}
    for key, *row in rows:
        out.setdefault(key, []).append(tuple(row))
    return out
