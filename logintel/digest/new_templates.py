"""Templates first seen in the day — the unknown unknowns: message shapes the warehouse had never held
before the day began, with how often they occurred and where."""
from __future__ import annotations

import duckdb

from logintel.daily.days import DigestDay
from logintel.store.schema import ensure_tables
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

MAX_NEW_TEMPLATES = 5


def new_templates(con: duckdb.DuckDBPyConnection, day: DigestDay, limit: int = MAX_NEW_TEMPLATES) -> list[dict]:
    """Digest items for templates whose first event falls in the day, most frequent first; each shown as its latest
    hour has it (a template generalises as it meets more messages: the latest form is the one the miner holds)."""
    ensure_tables(con, "event_patterns")
    rows = con.execute("""
        WITH day AS (
            SELECT template_id, arg_max(template, partition_hour) AS template, sum(events) AS events, sum(errors) AS errors,
                   min(first_seen) AS first_seen, arg_max(service, events) AS service, arg_max(route, events) AS route,
                   count(DISTINCT service) AS services
            FROM event_patterns WHERE partition_hour >= $start AND partition_hour < $end GROUP BY template_id)
        SELECT d.* FROM day d
        WHERE d.first_seen >= $start
          AND NOT EXISTS (SELECT 1 FROM event_patterns e WHERE e.template_id = d.template_id AND e.partition_hour < $start)
        ORDER BY d.events DESC, d.template_id LIMIT $limit""",
                       {"start": day.start, "end": day.end, "limit": limit}).fetchall()
    items = []
    for template_id, template, events, errors, first_seen, service, route, services in rows:
        shown = " ".join(template.split())[:160]
        text = (f"New template on {w.where(service, route)}: {w.count(events)} events ({w.count(errors)} errors) "
                f"since {w.clock(day.local(first_seen))} — \"{shown}\".")
        items.append({"key": f"new_template:{template_id}", "kind": "new_template", "service": service,
                      "route": route, "metric": "template", "change": {"events": events},
                      "template": template, "template_id": template_id, "first_seen": first_seen.isoformat(),
                      "text": text, "source": f"event_patterns:{template_id}",
                      "facts": ItemFacts(counts=[events, errors])})
    return items
