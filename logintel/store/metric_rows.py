"""The `metric_points` table: every OpenTelemetry data point that reached the warehouse on a carrier, one row each.

The metrics adapter (`adapters.otlp_metrics`) puts a service's data points of one hour on carrier events (id
`METRICS_PREFIX…`, route `METRICS_ROUTE`, the points under `METRICS_KEY`). Loading an hour stores no such event:
it replaces the hour's rows of `metric_points` with their points, in the same transaction as the hour's events (a
resent batch makes the same carriers, which de-duplication drops first). A point that lacks its name or time (an
event that claims the key by hand) is left out, never a failure.
"""
from __future__ import annotations

from logintel.events import METRICS_KEY, METRICS_PREFIX, METRICS_ROUTE

_PATH = f'$."{METRICS_KEY}"'
_SHAPE = ('[{"n": "VARCHAR", "u": "VARCHAR", "k": "VARCHAR", "t": "BIGINT", "s": "BIGINT", "v": "DOUBLE", '
          '"c": "BIGINT", "temp": "VARCHAR", "mono": "BOOLEAN", "i": "VARCHAR", "a": "JSON"}]')
IS_METRICS_CARRIER = (f"(starts_with(event_id, '{METRICS_PREFIX}') AND route = '{METRICS_ROUTE}' "
                      f"AND json_exists(attributes, '{_PATH}'))")


def replace_metric_points(con, source: str, start, where: str = "TRUE") -> tuple[int, int]:
    """Replace partition `start` of metric_points with the points on the carriers among the rows of `source` (a
    table or subquery with event_id, service, route, attributes) that `where` keeps; returns (rows written, carriers
    read: every one of them is a line stored as no event, points or not). The carriers are taken from `source` in
    one scan."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE metric_carriers AS
                    SELECT event_id, service, attributes FROM {source} WHERE {where} AND {IS_METRICS_CARRIER}""")
    try:
        carriers = con.execute("SELECT count(*) FROM metric_carriers").fetchone()[0]
        con.execute("DELETE FROM metric_points WHERE partition_hour = $start", {"start": start})
        con.execute(f"""
            INSERT INTO metric_points
            SELECT $start, make_timestamp(p.t // 1000), CASE WHEN p.s > 0 THEN make_timestamp(p.s // 1000) END,
                   service, left(p.i, 256), left(p.n, 255), left(p.u, 64), p.k, p.temp, p.mono, p.v, p.c, p.a, event_id
            FROM (SELECT event_id, service, unnest(from_json(json_extract(attributes, '{_PATH}'), '{_SHAPE}')) AS p
                  FROM metric_carriers)
            WHERE p.n IS NOT NULL AND p.t > 0 AND p.k IS NOT NULL""", {"start": start})
    finally:
        con.execute("DROP TABLE IF EXISTS metric_carriers")
    points = con.execute("SELECT count(*) FROM metric_points WHERE partition_hour = $start",
                         {"start": start}).fetchone()[0]
    return points, carriers
