"""A latency incident's text through the real `openai` client and the fake server on 127.0.0.1: a faithful
model's three parts are kept and grounded part by part, a model that invents a latency is caught by the
grounding, and one that says all is well is replaced by the offline writer."""
import json
from datetime import timedelta

import numpy as np

from logintel.llm.gateway import LLMGateway
from tests.support.latency_hours import H, requests, run_hours, standing_latency


def facts_of(request: dict) -> dict:
    return json.loads(request["messages"][-1]["content"].split("FACTS:\n", 1)[1])


def faithful_model(request: dict) -> dict:
    f = facts_of(request)
    during, before = f["during"], f["before"]
    return {"summary": f"Since {f['window']['start']} UTC, for {f['window']['minutes']} min, {f['service']} "
                       f"{f['route']} answered {during['requests']} requests with a median of "
                       f"{during['p50_ms']:.0f} ms and a p99 of {during['p99_ms']:.0f} ms.",
            "baseline": f"In the {before['hours']} h from {before['start']} UTC it served {before['requests']} "
                        f"requests at p50 {before['p50_ms']:.0f} ms.",
            "root_cause_analysis": f"No dependency slowed; the time is {f['slowed']}'s own."}


def inventing_model(request: dict) -> dict:
    answer = faithful_model(request)
    answer["baseline"] = answer["baseline"].replace("p50", "p50 3 ms, not")
    return answer


def reassuring_model(request: dict) -> dict:
    return {"summary": "All systems are healthy.", "baseline": "", "root_cause_analysis": "Nothing to see."}


def slowed_route(con, gateway: LLMGateway):
    rng = np.random.default_rng(1)
    slow = (H + timedelta(minutes=20), H + timedelta(minutes=40), 5.0)
    found = run_hours(con, requests(H - timedelta(hours=3), 4 * 60, 20, 40.0, rng, slow=slow),
                      [H - timedelta(hours=h) for h in (3, 2, 1, 0)], gateway)
    (incident,) = standing_latency(found[H])
    return incident


def test_a_faithful_model_is_kept_and_every_part_grounded(con, fake_llm):
    fake_llm.responder = faithful_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer == "openai:gpt-4o-mini"
    assert "median of" in incident.summary and "In the 3 h from" in incident.summary
    assert incident.grounding["ratio"] == 1.0 and incident.grounding["claims"] >= 8, incident.grounding
    assert any(r["messages"][-1]["content"].startswith("FACTS:") for r in fake_llm.requests)


def test_an_invented_baseline_is_caught(con, fake_llm):
    fake_llm.responder = inventing_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer == "openai:gpt-4o-mini"
    assert incident.grounding["ratio"] < 1.0
    assert any(u["claim"]["text"] == "3 ms" for u in incident.grounding["ungrounded"])


def test_a_reassuring_answer_is_replaced_by_the_offline_writer(con, fake_llm):
    fake_llm.responder = reassuring_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer.startswith("offline/v1 (rejected openai:gpt-4o-mini")
    assert "healthy" not in incident.summary and "latency up from" in incident.summary
    assert incident.grounding["ratio"] == 1.0
