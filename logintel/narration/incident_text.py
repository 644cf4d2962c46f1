"""Writing each incident's text through the LLM gateway, then grounding it.

The offline writer drafts the text (a summary and a root cause; a latency incident's also a baseline), split
into sentences with ids; facts and drafts go out redacted and fenced, and a model only rewords: each sentence it
returns names the draft it rewords and stands only where it states exactly that draft's claims
(`logintel.trust.draft_binding`); every other draft stands as written. What is stored is assembled from the
accepted sentences and the drafts, then checked claim by claim against the warehouse; where a model's wording
grounds worse than the offline text, the offline text is kept whole. A latency incident's text is grounded in
parts, each against the period it speaks of: its slowest route during it, the same route before its onset, and
the whole incident.
"""
from __future__ import annotations

import logging
from datetime import datetime

import duckdb

from logintel.analysis.incidents.change_incidents import KIND as CHANGE
from logintel.analysis.incidents.latency_windows import KIND as LATENCY
from logintel.llm.hour_facts import hour_incident_facts
from logintel.narration.change_text import write_change_texts
from logintel.llm.prompt_facts import MAX_EXAMPLES, cluster_facts, latency_facts, root_cause_facts
from logintel.llm.gateway import LLMGateway, LLMRequest
from logintel.llm.offline import OFFLINE_WRITER, cluster_analysis, incident_summary, root_cause
from logintel.llm.redaction import Redactor
from logintel.narration.latency_prompt import latency_summary, latency_summary_request
from logintel.llm.tasks import cluster_analysis_request, incident_summary_request
from logintel.trust import GroundingScope
from logintel.trust.batch import verify_texts
from logintel.trust.draft_binding import Binding, Draft, bind, draft_sentences, unworded
from logintel.trust.entities import KnownEntities
from logintel.trust.grounding_report import GroundingReport

log = logging.getLogger("logintel.llm")
MAX_LISTED_UNGROUNDED = 10


def grounding_scope(incident) -> GroundingScope:
    # The incident's own window: the verifier compares changes against the equal period before it, and
    # a root cause's shares and latencies against the baselines the analysis used.
    baselines = tuple((a, b) for a, b in (incident.root_cause or {}).get("baselines", []))
    return GroundingScope(start=incident.start_time, end=incident.end_time,
                          services=tuple(incident.services), routes=tuple(incident.routes),
                          error_codes=tuple(incident.error_codes), baselines=baselines)


def grounding_summary(report) -> dict:
    """What the incidents table keeps of a grounding report."""
    data = report.to_dict()
    ungrounded = [v for v in data.get("claims", []) if not v.get("grounded")]
    return {
        **report.share.fields(digits=4),  # ratio None (with its reason) when there is nothing to verify
        "claims": report.grounded + report.ungrounded,
        "grounded": report.grounded,
        "ungrounded": ungrounded[:MAX_LISTED_UNGROUNDED],
        "invented": [v.claim.text for v in report.invented_entities],
        "unverifiable_sentences": report.unverifiable_sentences,
        "summary": report.summary(),
    }


def write_summaries(con: duckdb.DuckDBPyConnection, incidents: list, gateway: LLMGateway, redactor: Redactor,
                    max_examples: int = MAX_EXAMPLES) -> None:
    """Fill `summary`, `writer` and `grounding` of each incident in place (`grounding.rewording` counts the
    model's sentences offered, accepted and replaced). A Redactor built with the configured secret keeps
    pseudonyms (user-…, ip-…) stable across runs and processes. The rule incidents' facts come from the
    warehouse in one batch, and every text is grounded in one batch after writing."""
    write_change_texts(con, [i for i in incidents if i.kind == CHANGE])
    incidents = [i for i in incidents if i.kind != CHANGE]
    rules = [i for i in incidents if i.kind == "threshold"]
    facts_of = dict(zip((id(i) for i in rules), hour_incident_facts(con, rules, redactor, max_examples=max_examples)))
    names = _Names(con)
    parts = []  # (incident index, part, text, scope): what is grounded, and against which period
    worded: dict[int, tuple[dict, Binding]] = {}  # incident index -> (offline parts, binding) where a model's words stand
    bindings: dict[int, Binding] = {}
    for k, incident in enumerate(incidents):
        offline, drafts, request = _drafted(incident, facts_of, redactor)
        result = gateway.complete(request)
        binding = _bound(result, [d for _, d in drafts], names, incident)
        bindings[k] = binding
        texts = {part: " ".join(binding.of(d.id).text for p, d in drafts if p == part) for part in offline}
        incident.summary, incident.root_cause_analysis, scoped = _texts(incident, texts)
        incident.writer = _writer(result.writer, binding)
        parts += [(k, part, text, scope) for part, text, scope in scoped]
        if binding.accepted:
            worded[k] = (offline, binding)
    reports = verify_texts(con, [(text, scope) for _, _, text, scope in parts])
    by_part: dict[int, dict[str, GroundingReport]] = {k: {} for k in range(len(incidents))}
    for (k, part, _, _), report in zip(parts, reports):
        by_part[k][part] = report
    _keep_offline_where_it_grounds_better(con, incidents, worded, by_part)
    for k, incident in enumerate(incidents):
        incident.grounding = {**grounding_summary(merged_report(list(by_part[k].values()))),
                              "rewording": bindings[k].counts(), "rewording_problems": bindings[k].problems()}


def part_drafts(parts: dict[str, str]) -> list[tuple[str, Draft]]:
    """(part, draft) for every sentence of a text written in parts (summary, baseline, root_cause_analysis):
    each part's sentences in order, with ids such as `summary-1`."""
    return [(part, draft) for part, text in parts.items() for draft in draft_sentences(text, f"{part}-")]


def _drafted(incident, facts_of: dict, redactor: Redactor) -> tuple[dict, list[tuple[str, Draft]], LLMRequest]:
    """(the offline writer's text in parts, its sentences as drafts, the request to reword them) for one
    incident."""
    if incident.kind == LATENCY:
        facts = latency_facts(incident)
        offline, build = latency_summary(facts), latency_summary_request
    elif incident.kind != "threshold":  # several groups, one cause
        facts = cluster_facts(incident, redactor)
        offline, build = cluster_analysis(facts), cluster_analysis_request
    else:
        facts = facts_of[id(incident)]
        # The verdict as computed, written from the values themselves (a redacted one would not be the value the
        # failures carry); the gateway redacts it on the way out like every message.
        offline = {"summary": incident_summary(facts)["summary"],
                   "root_cause_analysis": root_cause(root_cause_facts(incident, None))}
        build = incident_summary_request
    drafts = part_drafts(offline)
    return offline, drafts, build(facts, {draft.id: draft.text for _, draft in drafts})


class _Names:
    """The warehouse's names, read once and only when a model's sentences are to be bound."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con, self._known = con, None

    def known(self) -> KnownEntities:
        if self._known is None:
            self._known = KnownEntities.from_warehouse(self._con)
        return self._known


def _bound(result, drafts: list[Draft], names: _Names, incident) -> Binding:
    """The model's sentences bound to the drafts (every draft as written when the offline writer answered)."""
    if result.writer == OFFLINE_WRITER:
        return unworded(drafts)
    sentences = [(s.get("draft_id"), s.get("text")) for s in result.data.get("sentences") or [] if isinstance(s, dict)]
    binding = bind(drafts, sentences, names.known(), incident.start_time.date())
    if binding.offered > binding.accepted:
        log.warning("%d of %d sentences from %s replaced by their drafts for %s: %s",
                    binding.offered - binding.accepted, binding.offered, result.writer, incident.incident_id,
                    binding.first_problem())
    return binding


def _writer(writer: str, binding: Binding) -> str:
    """The model's when any sentence of it stands; otherwise the offline writer's, saying why."""
    if writer == OFFLINE_WRITER or binding.accepted:
        return writer
    problem = binding.first_problem() or "no sentence in its answer"
    return f"{OFFLINE_WRITER} (rejected {writer}: {problem})"


def _texts(incident, data: dict) -> tuple[str, str, list[tuple[str, str, GroundingScope]]]:
    """(summary, root-cause text, the parts grounded with the period each speaks of) of a text in parts. A
    latency incident's parts are its summary (its slowest route during it), its baseline (before its onset) and
    its root-cause text; another incident's text is one part."""
    if incident.kind == LATENCY:
        summary = " ".join(t for t in (data["summary"], data.get("baseline", "")) if t.strip())
        cause = data.get("root_cause_analysis", "")
        lead, before = latency_scopes(incident)
        parts = [("summary", data["summary"], lead), ("baseline", data.get("baseline", ""), before),
                 ("root_cause_analysis", cause, grounding_scope(incident))]
        return summary, cause, [(part, text, scope) for part, text, scope in parts if text.strip()]
    cause = data.get("root_cause_analysis", "")
    return data["summary"], cause, [("text", _joined(data["summary"], cause), grounding_scope(incident))]


def _keep_offline_where_it_grounds_better(con: duckdb.DuckDBPyConnection, incidents: list,
                                          worded: dict[int, tuple[dict, Binding]],
                                          by_part: dict[int, dict[str, GroundingReport]]) -> None:
    """A text with a model's sentences in it stands only where it grounds as well as the offline text; otherwise
    the incident keeps the offline text, and its writer and rewording say why. Bound sentences state their
    drafts' claims, so this only catches what the binding cannot see (a claim read differently in other words);
    the offline texts are grounded only for the incidents with an ungrounded claim."""
    candidates = [(k, offline, binding) for k, (offline, binding) in worded.items()
                  if sum(r.ungrounded for r in by_part[k].values())]
    if not candidates:
        return
    scoped = {k: _texts(incidents[k], offline)[2] for k, offline, _ in candidates}
    reports = iter(verify_texts(con, [(text, scope) for k, _, _ in candidates for _, text, scope in scoped[k]]))
    for k, offline, binding in candidates:
        grounded = {part: next(reports) for part, _, _ in scoped[k]}
        ours, theirs = sum(r.ungrounded for r in grounded.values()), sum(r.ungrounded for r in by_part[k].values())
        if ours >= theirs:
            continue
        incident, model = incidents[k], incidents[k].writer
        problem = f"{theirs} ungrounded claim(s) where the offline text has {ours}"
        log.warning("the text from %s rejected for %s: %s; using the offline writer", model, incident.incident_id,
                    problem)
        binding.reject_all(problem)
        incident.summary, incident.root_cause_analysis, _ = _texts(incident, offline)
        incident.writer = f"{OFFLINE_WRITER} (rejected {model}: {problem})"
        by_part[k] = grounded


def latency_scopes(incident) -> tuple[GroundingScope, GroundingScope]:
    """The periods a latency incident's summary speaks of: its slowest route during its own segment, and the
    same route over the hours before the incident's onset."""
    evidence = incident.evidence
    lead = evidence.get("lead") or {"service": incident.service, "route": incident.route,
                                     "start": incident.start_time, "end": incident.end_time}
    unit = {"services": (lead["service"],), "routes": (lead["route"],)}
    before = evidence["before"]
    return (GroundingScope(start=lead["start"], end=lead["end"], **unit),
            GroundingScope(start=datetime.fromisoformat(before["start"]), end=datetime.fromisoformat(before["end"]),
                           **unit))


def merged_report(reports: list[GroundingReport]) -> GroundingReport:
    """One report of a text grounded in parts (each against its own period)."""
    if len(reports) == 1:
        return reports[0]
    return GroundingReport(claims=[c for r in reports for c in r.claims], grounded=sum(r.grounded for r in reports),
                           ungrounded=sum(r.ungrounded for r in reports),
                           unverifiable_sentences=[s for r in reports for s in r.unverifiable_sentences],
                           skipped=[c for r in reports for c in r.skipped],
                           facts=next((r.facts for r in reports if r.facts), {}),
                           elapsed_ms=sum(r.elapsed_ms for r in reports))


def incident_text(incident) -> str:
    """What is grounded of an incident: its summary and its root-cause text."""
    return _joined(incident.summary, incident.root_cause_analysis)


def _joined(summary: str, cause: str | None) -> str:
    return summary + (" " + cause if cause else "")
