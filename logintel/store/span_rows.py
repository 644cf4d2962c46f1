"""The `spans` table: every span that reached the warehouse on its unit of work's event, one row each.

The span adapter (`adapters.span_records`) puts on each unit of work's event (event id `span-<trace>-<span>`) the
records of its own span and of the spans its process made under it. Loading an hour takes them off the event
(`raw_events.attributes` never holds them) and replaces the hour's rows of `spans` with them, in the same
transaction as the hour's events, so the two always agree; a resent batch adds nothing (events are de-duplicated
first, and a span two carriers hold is one row). Records come from our adapter only: a record that lacks its id, start or duration (an event that claims
the key by hand) is left out, never a failure. A carrier event (`IS_CARRIER`: spans whose unit of work never
took them, as late spans) gives its spans to the table and is stored nowhere else; its spans' `event_id` is the
carrier's, which no event row has.

A server span's `parent_span_id` is the span id of the client span that called it, whose `event_id` is its
caller's event: the exact call graph (`caller_edges_sql`), where time containment can only guess.
"""
from __future__ import annotations

from logintel.events import LATE_SPANS_PREFIX, LATE_SPANS_ROUTE, SPANS_KEY

_PATH = f'$."{SPANS_KEY}"'
_SHAPE = ('[{"id": "VARCHAR", "parent": "VARCHAR", "kind": "VARCHAR", "name": "VARCHAR", "start": "BIGINT", '
          '"ms": "DOUBLE", "status": "VARCHAR", "peer": "VARCHAR", "db": "VARCHAR"}]')
# Cheap first (the id's prefix), then one JSON lookup on the span events only.
CARRIES_SPANS = f"(starts_with(event_id, 'span-') AND json_exists(attributes, '{_PATH}'))"
# A carrier of spans no unit of work took (`adapters.late_spans`): its spans go to the table, the event nowhere.
IS_CARRIER = (f"(starts_with(event_id, '{LATE_SPANS_PREFIX}') AND route = '{LATE_SPANS_ROUTE}' "
              f"AND json_exists(attributes, '{_PATH}'))")
STRIPPED_ATTRIBUTES = f"""CASE WHEN {CARRIES_SPANS}
    THEN json_merge_patch(attributes, '{{"{SPANS_KEY}": null}}') ELSE attributes END AS attributes"""
_MAX_ID = 64
SPAN_COUNT = f"coalesce(json_array_length(attributes, '{_PATH}'), 0)"  # span records an event carries


def replace_spans(con, source: str, start, where: str = "TRUE") -> int:
    """Replace partition `start` of spans with the records on the rows of `source` (a table or subquery with
    event_id, service, trace_id, attributes) that `where` keeps; returns the rows written."""
    con.execute("DELETE FROM spans WHERE partition_hour = $start", {"start": start})
    con.execute(f"""
        INSERT INTO spans
        SELECT $start, trace_id, s.id, s.parent, event_id, service, s.kind, left(s.name, 512),
               make_timestamp(s.start // 1000), s.ms, s.status, left(s.peer, 512), left(s.db, 128)
        FROM (SELECT event_id, service, trace_id, unnest(from_json(json_extract(attributes, '{_PATH}'), '{_SHAPE}')) AS s
              FROM {source} WHERE {where} AND {CARRIES_SPANS} AND trace_id IS NOT NULL)
        WHERE s.id IS NOT NULL AND length(s.id) <= {_MAX_ID} AND length(coalesce(s.parent, '')) <= {_MAX_ID}
          AND s.start > 0 AND s.ms >= 0
        -- one row a span: a span two carriers hold (its unit of work's event, and a carrier of late spans that a
        -- resent request made before that event was whole) is kept from its unit of work's event
        QUALIFY row_number() OVER (PARTITION BY trace_id, s.id
                                   ORDER BY starts_with(event_id, '{LATE_SPANS_PREFIX}'), event_id) = 1""",
                {"start": start})
    return con.execute("SELECT count(*) FROM spans WHERE partition_hour = $start", {"start": start}).fetchone()[0]
