"""field=value facts for many (scope, attribute, value) claims at once: the events every scope's claims
read (its routes, in its failing range or its baselines) joined once, each event's attributes parsed once
for every attribute claimed, and per claim the share of the failing events and of the baseline carrying the
value and its namespace's p50 latency on each side. A value no failing event carries is looked for a week
around its scope (`fact_sheet.ATTRIBUTE_HORIZON`): carried by no event there either, it is invented."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from logintel.store.schema import ERROR_SQL
from logintel.trust.attributes import (TOP_LEVEL_FIELDS, AttributeFacts, facts_from_counts, json_paths, metric_of,
                                       value_seen)
from logintel.trust.batch_scopes import code_match, pieces_table, registered
from logintel.trust.fact_sheet import ATTRIBUTE_HORIZON
from logintel.trust.scope import GroundingScope

Claim = tuple[int, str, str]  # (scope index, attribute, value)


def attribute_facts_many(con: duckdb.DuckDBPyConnection, scopes: list[GroundingScope], claims: list[Claim],
                         units: list[tuple[int, str, str]]) -> dict[Claim, AttributeFacts]:
    """The facts of each (scope index, attribute, value) claim; `units` are the (scope index, service, route)
    pairs each scope reads (`batch_scopes.read_units`)."""
    claims = list(dict.fromkeys(claims))  # a claim twice would count its events twice
    if not claims:
        return {}
    paths: dict[str, int] = {}  # JSONPath -> 1-based position in each event's extracted list
    spelled = []
    for _, attribute, _ in claims:
        spellings = json_paths(attribute) + json_paths(metric_of(attribute))
        for path in spellings:
            paths.setdefault(path, len(paths) + 1)
        spelled.append([paths[p] for p in spellings])
    columns = sorted({a for _, a, _ in claims if a in TOP_LEVEL_FIELDS}, key=TOP_LEVEL_FIELDS.index)
    table = pa.table({"key": pa.array([k for k, _, _ in claims], pa.int64()),
                      "attribute": [a for _, a, _ in claims], "value": [v for _, _, v in claims],
                      "col": pa.array([a if a in TOP_LEVEL_FIELDS else None for _, a, _ in claims], pa.string()),
                      "p1": [s[0] for s in spelled], "p2": [s[1] for s in spelled],
                      "m1": [s[2] for s in spelled], "m2": [s[3] for s in spelled]})
    keyed = {k for k, _, _ in claims}
    pieces = pieces_table(scopes, [u for u in units if u[0] in keyed])
    lo, hi = min(pieces["ps"].to_pylist()), max(pieces["pe"].to_pylist())
    # The column a top-level claim names, as text (as `attributes.value_sql` reads it); NULL for other claims.
    column = "CASE c.col " + " ".join(f"WHEN '{n}' THEN CAST(x.{n} AS VARCHAR)" for n in columns) + " END" \
        if columns else "NULL"
    carried = f"CASE WHEN c.col IS NOT NULL THEN coalesce({column}, x.j[c.p1]) ELSE coalesce(x.j[c.p1], x.j[c.p2]) END"
    with registered(con, ga_claims=table, ga_pieces=pieces):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ga_pairs AS
            SELECT * FROM (
                SELECT p.key, e.rid, e.rh, p.in_failing AND e.err AND {code_match('p', 'e.error_code')} AS failing,
                       p.in_baseline AS baseline, e.w
                FROM (SELECT event_id AS rid, partition_hour AS rh, ts, service, route, error_code, sample_rate AS w, {ERROR_SQL} AS err
                      FROM raw_events WHERE ts >= $lo AND ts < $hi) e
                JOIN ga_pieces p ON e.service = p.service AND e.route = p.route AND e.ts >= p.ps AND e.ts < p.pe)
            WHERE failing OR baseline  -- the other events of the failing range count on neither side""",
                    {"lo": lo, "hi": hi})
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ga_parsed AS
            SELECT event_id AS rid, partition_hour AS rh, {''.join(n + ', ' for n in columns)}json_extract_string(attributes, $paths) AS j
            FROM raw_events WHERE ts >= $lo AND ts < $hi AND (event_id, partition_hour) IN (SELECT rid, rh FROM ga_pairs)""",
                    {"lo": lo, "hi": hi, "paths": list(paths)})
        rows = con.execute(f"""
            SELECT key, attribute, value,
                   sum(w) FILTER (failing AND carries), sum(w) FILTER (failing),
                   sum(w) FILTER (baseline AND carries), sum(w) FILTER (baseline),
                   median(ms) FILTER (failing AND carries), median(ms) FILTER (baseline AND carries)
            FROM (SELECT c.key, c.attribute, c.value, p.failing, p.baseline, p.w,
                         coalesce({carried} = c.value, false) AS carries,
                         TRY_CAST(coalesce(x.j[c.m1], x.j[c.m2]) AS DOUBLE) AS ms
                  FROM ga_pairs p JOIN ga_claims c ON c.key = p.key JOIN ga_parsed x ON x.rid = p.rid AND x.rh = p.rh)
            GROUP BY ALL""").fetchall()
        con.execute("DROP TABLE IF EXISTS ga_parsed")
        con.execute("DROP TABLE IF EXISTS ga_pairs")
    counts = {(key, attribute, value): tuple(row) for key, attribute, value, *row in rows}
    out = {}
    for claim in claims:
        key, attribute, value = claim
        row = counts.get(claim, (None,) * 6)
        scope = scopes[key]
        seen = bool(row[0]) or value_seen(con, attribute, value, scope.start - ATTRIBUTE_HORIZON,
                                          scope.end + ATTRIBUTE_HORIZON)
        out[claim] = facts_from_counts(row, seen)
    return out
