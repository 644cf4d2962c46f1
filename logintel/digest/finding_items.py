"""The analysts' top findings as digest items: security findings and SRE forecasts and pages lead the
anomaly trends, N+1 and payload findings join the recommendations. What the digest already computes on its
own (slow trends, SLO burn over the day, processing time, database share, retries) is not repeated."""
from __future__ import annotations

from logintel.trust.item_grounding import ItemFacts

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
TREND_KINDS = {"security": None,  # every kind the security analyst has
               "sre": ("latency_forecast", "burn_rate_page")}
RECOMMENDATION_KINDS = ("n_plus_one", "payload_size")
MAX_PER_AGENT = 3
MIN_SEVERITY = "medium"


def finding_items(documents: list[dict]) -> tuple[list[dict], list[dict]]:
    """(trend items, recommendation items) from the day's finding documents, most severe first."""
    ranked = sorted((d for d in documents if _severe_enough(d)),
                    key=lambda d: (SEVERITY_ORDER.index(d["severity"]), -d["confidence"], d["finding_id"]))
    trends, recommendations, per_agent = [], [], {}
    for document in ranked:
        agent, kind = document["agent"], document["kind"]
        if per_agent.get(agent, 0) >= MAX_PER_AGENT:
            continue
        if agent in TREND_KINDS and (TREND_KINDS[agent] is None or kind in TREND_KINDS[agent]):
            trends.append(_item(document))
        elif agent == "efficiency" and kind in RECOMMENDATION_KINDS:
            item = _item(document)
            item["saving"] = (document.get("evidence") or {}).get("saving")
            recommendations.append(item)
        else:
            continue
        per_agent[agent] = per_agent.get(agent, 0) + 1
    return trends, recommendations


def _severe_enough(document: dict) -> bool:
    return (document.get("severity") in SEVERITY_ORDER
            and SEVERITY_ORDER.index(document["severity"]) <= SEVERITY_ORDER.index(MIN_SEVERITY))


def _item(document: dict) -> dict:
    entities = document.get("entities") or {}
    services, routes = entities.get("services") or [], entities.get("routes") or []
    return {"key": f"finding:{document['finding_id']}", "kind": f"{document['agent']}:{document['kind']}",
            "text": document["text"], "source": f"finding:{document['finding_id']}",
            "service": ", ".join(services[:3]) or None, "route": routes[0] if len(routes) == 1 else None,
            "severity": document["severity"], "finding_id": document["finding_id"], "action": document.get("action"),
            "facts": ItemFacts.from_dict(document.get("facts") or {})}
