"""The incident subject of a situation briefing (a critical or high incident): what, since when, who is
affected, the cause, what changed, what to look at first — each item drafted from the incident's figures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import duckdb

from logintel.analysis.incidents.incident import list_incidents
from logintel.briefings.subject import Situation, SubjectGone, candidates
from logintel.llm.prompt_facts import baseline_was_empty
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

LOOKUP_MARGIN = timedelta(days=1)  # a field=value named must be carried by an event this close to the incident
# Where to look first, by the kind of the computed cause.
LOOK_FIRST = {
    "dependency": "the {value} dependency ({attribute}): its latency, saturation and recent changes",
    "deploy": "the change to {attribute}={value}: compare it with the previous version, roll back if it is the cause",
    "client": "the clients carrying {attribute}={value}: rate-limit or block them if the traffic is hostile",
    "infrastructure": "{attribute}={value}: its health, capacity and recent restarts",
}


@dataclass(frozen=True)
class IncidentSubject:
    """An incident, by id; gone once its hour was materialized again (a replay filled it)."""
    incident_id: str
    kind: ClassVar[str] = "incident"

    @property
    def id(self) -> str:
        return self.incident_id

    def fields(self) -> dict[str, str]:
        return {"incident_id": self.incident_id}

    def read(self, con: duckdb.DuckDBPyConnection) -> Situation:
        incident = next((i for i in list_incidents(con) if i["incident_id"] == self.incident_id), None)
        if incident is None:
            raise SubjectGone(f"no incident {self.incident_id!r} in the warehouse")
        start, end = (datetime.fromisoformat(incident[k]) for k in ("start_time", "end_time"))
        services = incident["services"] or [incident["service"]]
        return Situation(title=f"{incident['severity']} · {', '.join(services)}", severity=incident["severity"],
                         items=_items(incident), day=start.date(), lookup=(start - LOOKUP_MARGIN, end))


def incident_candidates(incidents: list) -> list[dict]:
    """The incidents (not folded into another) a briefing is owed for: id and severity."""
    return candidates((IncidentSubject(i.incident_id), i.severity) for i in incidents if not i.merged_into)


def _items(incident: dict) -> list[dict]:
    """One item per heading, drafted from the incident's figures."""
    services = incident["services"] or [incident["service"]]
    codes = incident["error_codes"] or ([incident["error_code"]] if incident["error_code"] else [])
    start, end = (datetime.fromisoformat(incident[k]) for k in ("start_time", "end_time"))
    minutes = (end - start).total_seconds() / 60
    cause = incident.get("root_cause") or {}
    named = cause.get("value") is not None and cause.get("kind") not in (None, "unknown")
    where = ", ".join(services) if len(services) > 1 else w.where(incident["service"], incident["route"])
    source = f"incident:{incident['incident_id']}"
    pair = {(cause["attribute"], str(cause["value"]))} if named else set()
    items = [
        ("What", f"{incident['severity'].capitalize()} incident on {where}: {w.count(incident['errors'])} errors "
                 f"({', '.join(codes) or 'no error code'}), {w.percent(incident['error_rate'])} of its "
                 f"{w.count(incident['requests'])} requests.",
         ItemFacts(counts=[incident["errors"], incident["requests"]], percents=[incident["error_rate"] * 100])),
        ("Since when", f"From {w.clock(start)} to {w.clock(end)} UTC ({minutes:.0f} min); "
                       f"status {incident['status']}.",
         ItemFacts(durations_ms=[minutes * 60_000], windows=[(start, end)])),
        ("Who is affected", f"{w.count(incident['users_affected'])} users affected, across {len(services)} "
                            f"service{'s' if len(services) != 1 else ''}.",
         ItemFacts(counts=[incident["users_affected"], len(services)], values=[len(services)])),
    ]
    if named:
        items.append(("Cause", f"A {cause['kind']}: {cause['attribute']}={cause['value']} "
                               f"(confidence {cause.get('confidence', 0):.2f}).",
                      ItemFacts(values=[round(cause.get("confidence") or 0, 2)], attributes=pair)))
    else:
        items.append(("Cause", "No single cause stood out: no attribute value is carried by the failing requests "
                               "much more often than by the requests before them.", ItemFacts()))
    items.append(_what_changed(cause))
    look = (LOOK_FIRST.get(cause.get("kind"), "").format(**cause) if named else "")
    if not look:
        traces = ", ".join(incident["related_traces"][:3])
        look = f"the related traces ({traces})" if traces else "the incident's events in the warehouse"
    items.append(("Look first at", look[0].upper() + look[1:] + ".", ItemFacts(attributes=pair)))
    return [{"key": f"briefing:{incident['incident_id']}:{heading}", "heading": heading, "text": text,
             "source": source, "facts": facts} for heading, text, facts in items]


def _what_changed(cause: dict) -> tuple[str, str, ItemFacts]:
    top = (cause.get("evidence") or [{}])[0]
    if "before_ms" in top:
        text = (f"{top['attribute']} by {top['by']}={top['value']} went from {w.duration(top['before_ms'])} before "
                f"to {w.duration(top['after_ms'])} in the failing requests.")
        return "What changed", text, ItemFacts(durations_ms=[top["before_ms"], top["after_ms"]],
                                               attributes={(top["by"], str(top["value"]))})
    if "share_failing" in top and baseline_was_empty(cause.get("evidence") or []):
        # The first hour of data: "0% before (lift 1.0)" would compare with nothing.
        text = (f"{top['attribute']}={top['value']} is carried by {w.percent(top['share_failing'])} of the failing "
                "requests; the same routes served nothing before the failures to compare them with.")
        return "What changed", text, ItemFacts(percents=[top["share_failing"] * 100],
                                               attributes={(top["attribute"], str(top["value"]))})
    if "share_failing" in top:
        text = (f"{top['attribute']}={top['value']} is carried by {w.percent(top['share_failing'])} of the failing "
                f"requests against {w.percent(top['share_baseline'])} before (lift {top['lift']:.1f}).")
        return "What changed", text, ItemFacts(percents=[top["share_failing"] * 100, top["share_baseline"] * 100],
                                               values=[round(top["lift"], 1), top["lift"]],
                                               attributes={(top["attribute"], str(top["value"]))})
    return "What changed", "No contrast with the period before was measured.", ItemFacts()

