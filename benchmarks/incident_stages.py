"""The incidents step of one hour, stage by stage, and against the per-incident paths it replaced.

    .venv/bin/python benchmarks/clusters.py cost --sizes 1000000 [--previous-hour] [--repeat 3]

Run on a warehouse where raw_events, windows, templates, embeddings and clusters of the hour exist (the
cost benchmark's). The step (detection with its contrast analysis, the prompt facts, the writing, the
grounding, storing) is run `repeat` times; each stage's best and median are printed. Then, on the same
warehouse, the prompt facts and the grounding one incident at a time (`incident_facts`, `verify_text_alone`
of tests/support: the paths the step took before it was batched), with a check that they give the same facts
and verdicts.
"""
from __future__ import annotations

import statistics
import time
from contextlib import contextmanager

from tests.support.compare import nearly_equal

STAGES = ("rule incidents", "contrast analysis", "cluster/cause incidents", "prompt facts", "writing", "grounding",
          "storing")


@contextmanager
def _timed(module, name: str, into: dict, stage: str):
    """`module.name` timed into `into[stage]` for the block."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[stage] = into.get(stage, 0.0) + time.perf_counter() - started
    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def incidents_step(con, hour):
    """The incidents asset's work on `hour` with the offline writer, timed by stage; (timings, incidents)."""
    import logintel.analysis.incidents.hour_assembly as hour_incidents
    import logintel.narration.incident_text as incident_text
    from logintel.analysis.incidents.incident import replace_incidents
    from logintel.analysis.thresholds import Thresholds
    from logintel.analysis.windows import WindowSpec
    from logintel.config import LLMConfig
    from logintel.llm.gateway import LLMGateway
    from logintel.llm.redaction import Redactor
    redactor = Redactor(secret="benchmark")
    t: dict = {}
    with _timed(hour_incidents, "detect_incidents", t, "rule incidents"), \
            _timed(incident_text, "hour_incident_facts", t, "prompt facts"), \
            _timed(incident_text, "verify_texts", t, "grounding"):
        started = time.perf_counter()
        found = hour_incidents.detect_hour_incidents(con, hour, Thresholds(), WindowSpec(), redactor.redact)
        detected = time.perf_counter()
        incident_text.write_summaries(con, found.all, LLMGateway(LLMConfig(base_url=None, api_key=None)), redactor)
        written = time.perf_counter()
        replace_incidents(con, hour, found.all)
        stored = time.perf_counter()
    t["contrast analysis"] = found.root_cause_s
    t["cluster/cause incidents"] = detected - started - t["rule incidents"] - found.root_cause_s
    t["writing"] = written - detected - t["prompt facts"] - t["grounding"]
    t["storing"] = stored - written
    t["total"] = stored - started
    return t, found


def per_incident_paths(con, found) -> dict:
    """The prompt facts and the grounding one incident at a time, timed, and whether they agree with what
    the batched step stored on the incidents."""
    from logintel.llm.hour_facts import hour_incident_facts
    from logintel.llm.redaction import Redactor
    from logintel.narration.incident_text import grounding_scope, grounding_summary, incident_text
    from tests.support.grounding_oracle import verify_text_alone
    from tests.support.prompt_facts_oracle import incident_facts
    redactor = Redactor(secret="benchmark")
    rules = [i for i in found.all if i.kind == "threshold"]
    started = time.perf_counter()
    alone = [incident_facts(con, i, redactor) for i in rules]
    facts_s = time.perf_counter() - started
    same_facts = sum(a == b for a, b in zip(alone, hour_incident_facts(con, rules, redactor)))
    started = time.perf_counter()
    reports = [verify_text_alone(con, incident_text(i), grounding_scope(i)) for i in found.all]
    grounding_s = time.perf_counter() - started
    # what the step stored, less the counts of a model's rewording (the per-text path has no model)
    stored = [{k: v for k, v in i.grounding.items() if not k.startswith("rewording")} for i in found.all]
    same_verdicts = sum(nearly_equal(grounding_summary(r), s) for r, s in zip(reports, stored))
    claims = sum(r.grounded + r.ungrounded for r in reports)
    return {"prompt facts": facts_s, "grounding": grounding_s, "same_facts": same_facts, "rules": len(rules),
            "same_verdicts": same_verdicts, "texts": len(found.all), "claims": claims,
            "grounded": sum(r.grounded for r in reports)}


def report(con, hour, events: int, repeat: int) -> str:
    """The stage table, as text (printed after the cost table)."""
    runs, found = [], None
    for _ in range(repeat):
        timings, found = incidents_step(con, hour)
        runs.append(timings)
    before = per_incident_paths(con, found)
    rules = sum(i.kind == "threshold" for i in found.all)
    lines = [f"\nincidents step at {events:,} events: {len(found.all)} incidents ({rules} rule), best and median "
             f"of {repeat} runs; per incident: the same stage one incident at a time, as before batching",
             f"{'stage':<26} {'best':>8} {'median':>8} {'per incident':>13}"]
    for stage in STAGES + ("total",):
        values = [r[stage] for r in runs]
        alone = f"{before[stage]:>12.2f}s" if stage in before else f"{'':>13}"
        lines.append(f"{stage:<26} {min(values):>7.2f}s {statistics.median(values):>7.2f}s {alone}")
    stored = [sum(i.grounding.get(k, 0) for i in found.all) for k in ("grounded", "claims")]
    lines.append(f"prompt facts identical for {before['same_facts']}/{before['rules']} rule incidents; grounding "
                 f"verdicts identical for {before['same_verdicts']}/{before['texts']} texts "
                 f"({before['grounded']}/{before['claims']} claims grounded; as the step stored them "
                 f"{stored[0]}/{stored[1]})")
    return "\n".join(lines)
