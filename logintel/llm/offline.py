"""The deterministic offline writer: the embedded default when no LLM endpoint is configured.

It writes from the same facts the model would get, states only those facts in a fixed form, and
labels every text with its writer.
"""
from __future__ import annotations

OFFLINE_WRITER = "offline/v1"


def _duration(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _change(facts: dict) -> str | None:
    minutes = facts["window"]["minutes"]
    if facts.get("previous_period_errors", 0) == 0:
        return f"none in the previous {minutes} min"
    change = facts.get("change_pct")
    return None if change is None else f"{change:+.0f}% on the previous {minutes} min"


def incident_summary(facts: dict) -> dict:
    """One line an on-call operator can act on: who, what, when, how much, against what baseline."""
    window = facts["window"]
    what = facts.get("error_code") or "errors"
    head = (f"{facts['service']} {facts['route']}: {what} {facts['errors']} errors "
            f"in {window['start']}–{window['end']} UTC")
    change = _change(facts)
    if change:
        head += f" ({change})"
    rate = facts["error_rate_pct"]
    rate_text = f"{rate:.1f}%" if rate < 1 else f"{rate:.0f}%"  # under 1% with its decimal: 0.52% is not "0%"
    parts = [head, f"{rate_text} of {facts['requests']} requests to the route",
             f"peak {facts['peak_errors_per_window']} per {facts['window_minutes']} min "
             f"(threshold {facts['threshold']:g})"]
    if facts.get("users_affected"):
        parts.append(f"{facts['users_affected']} users affected")
    if facts.get("p99_ms") is not None:
        parts.append(f"p99 {_duration(facts['p99_ms'])}")
    text = "; ".join(parts)
    messages = facts.get("top_messages") or []
    if messages and messages[0].get("message"):
        text += f' — e.g. "{messages[0]["message"]}"'
    return {"summary": text}


# Values that identify a person are not written into text (the evidence table has them).
PERSONAL = {"client_ip", "user_id", "client.address", "source.ip", "user.id", "user.email"}


def _pair(attribute: str, value: str) -> str:
    return f'{attribute}="{value}"' if any(c.isspace() or c in ',;()"' for c in value) else f"{attribute}={value}"


def _named(item: dict) -> str:
    return (f"one {item['attribute']} value (in the evidence)" if item["attribute"] in PERSONAL
            else _pair(item["attribute"], item["value"]))


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


_OPENINGS = {"deploy": "Root cause, a change that shipped:", "dependency": "Root cause, a dependency:",
             "infrastructure": "Root cause, infrastructure:", "client": "Access pattern:"}


def root_cause(facts: dict) -> str:
    """The root cause as one or two sentences stating only the verdict's own numbers; when nothing
    stands out, says so and names the most common values with their shares on both sides."""
    evidence = facts.get("evidence") or []
    if facts.get("kind") in (None, "unknown") or not evidence:
        shown = [e for e in evidence if "share_failing" in e and e["attribute"] not in PERSONAL][:2]
        if facts.get("baseline_empty"):  # no request before to compare with: no share "before" to state
            listed = "; ".join(f"{_pair(e['attribute'], e['value'])} carried by {_pct(e['share_failing'])} of the "
                               f"failing requests" for e in shown)
            return ("No single cause stands out: the same routes served nothing before the failures to compare "
                    "them with" + (f" (the failing requests' most common values: {listed})." if listed else "."))
        if not shown:
            return "No single cause stands out: no field or dependency of the failing requests differs from before."
        listed = "; ".join(f"{_pair(e['attribute'], e['value'])} carried by {_pct(e['share_failing'])} of the failing "
                           f"requests and {_pct(e['share_baseline'])} before" for e in shown)
        return f"No single cause stands out: the failing requests' most common values are carried as often before ({listed})."
    if facts.get("path"):  # the failure seen at several hops: the chain first, then the deepest hop's verdict
        return (f"The failure travels up the call path {' → '.join(facts['path'])}; at {facts['at']}, the deepest "
                f"failing hop: " + root_cause({k: v for k, v in facts.items() if k not in ("path", "at")}))
    top = evidence[0]
    opening = _OPENINGS.get(facts["kind"], "Root cause:")
    if "after_ms" in top:
        where = f" ({', '.join(facts['services'])})" if facts.get("services") else ""
        text = (f"{opening} {_pair(top['by'], top['value'])} got slower — {top['attribute']} p50 "
                f"{_duration(top['before_ms'])} before the failures, {_duration(top['after_ms'])} in the failing "
                f"requests{where}.")
        if top.get("share_failing"):
            text += f" {_pct(top['share_failing'])} of the failing requests carry it."
        return text
    text = (f"{opening} {_named(top)} is carried by {_pct(top['share_failing'])} of the failing requests and "
            f"{_pct(top['share_baseline'])} of the same routes' requests before.")
    others = [e for e in evidence[1:] if "share_failing" in e and e["attribute"] in ("client_ip", "user_agent")]
    if facts["kind"] == "client" and others:
        text += " The other client addresses and agents that stand out are in the evidence."
    return text


def cluster_analysis(facts: dict) -> dict:
    """A summary and a root-cause analysis for a cluster incident, stating only what the facts hold."""
    window = facts["window"]
    services = ", ".join(facts["services"])
    codes = ", ".join(facts["error_codes"]) or "errors"
    who = (f"{len(facts['services'])} services ({services}) failed together" if len(facts["services"]) > 1
           else f"{services}: several routes failed together")
    summary = (f"{who}: {facts['errors']} errors "
               f"({codes}) in {window['start']}–{window['end']} UTC; peak {facts['peak_errors_per_window']} per "
               f"{facts['window_minutes']} min; {facts['users_affected']} users affected")
    cause = root_cause(facts.get("root_cause") or {})
    return {"summary": summary, "root_cause_analysis": cause}
