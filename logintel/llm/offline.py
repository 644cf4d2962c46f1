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
    parts = [head, f"{facts['error_rate_pct']:.0f}% of {facts['requests']} requests to the route",
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


def cluster_analysis(facts: dict) -> dict:
    """A summary and a root-cause analysis for a cluster incident, stating only what the facts hold."""
    window = facts["window"]
    services = ", ".join(facts["services"])
    codes = ", ".join(facts["error_codes"]) or "errors"
    summary = (f"{len(facts['services'])} services ({services}) failed together: {facts['errors']} errors "
               f"({codes}) in {window['start']}–{window['end']} UTC; peak {facts['peak_errors_per_window']} per "
               f"{facts['window_minutes']} min; {facts['users_affected']} users affected")
    suspects = facts.get("shared_attributes") or []
    slow = [a for a in suspects if a.get("dependency")]
    shared = [a for a in suspects if not a.get("dependency")]
    sentences = []
    if slow:
        top = slow[0]
        sentences.append(f"Likely root cause: {top['dependency']} slowed down — {top['attribute']} "
                         f"{top['value']} for {', '.join(top['services'])}.")
    if shared:
        top = shared[0]
        sentences.append(f"{'Also shared' if slow else 'Likely shared cause'}: {top['attribute']}={top['value']}, "
                         f"carried by {top['share']:.0%} of the errors of {', '.join(top['services'])}.")
    if sentences:
        sentences.append(f"The different messages ({codes}) started and stopped together, which points at that "
                         f"common dependency rather than at each service.")
        cause = " ".join(sentences)
    else:
        cause = (f"No dependency stands out; the {len(facts['templates'])} message patterns spiked together in "
                 f"{window['start']}–{window['end']} UTC, so look for one common to {services}.")
    return {"summary": summary, "root_cause_analysis": cause}
