"""A latency incident's text through the real `openai` client and the fake server on 127.0.0.1: a faithful
model's three parts are kept and grounded part by part, a model that invents a latency is caught by the
grounding, one that says all is well is replaced by the offline writer, and so is one whose baseline has
nothing to verify where the offline writer's states figures."""
import json
from datetime import timedelta

import numpy as np

from logintel.llm.gateway import LLMGateway
from logintel.narration.incident_text import latency_scopes
from logintel.trust import verify_text
from tests.support.latency_hours import H, requests, run_hours, standing_latency
from tests.support.prompts import facts_of


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


REASSURANCE = "Nothing to worry about: the database is fine, no action needed."


def reassuring_baseline_model(request: dict) -> dict:
    """A faithful summary and cause, and a reassurance where the figures before the onset belong."""
    return {**faithful_model(request), "baseline": REASSURANCE}


def test_a_part_with_nothing_to_verify_gives_way_to_the_offline_text(con, fake_llm):
    fake_llm.responder = reassuring_baseline_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    # the model's answer passes its check (service, request count, slowed component), but its baseline states
    # nothing checkable where the offline writer's states the route's figures before the onset
    assert REASSURANCE not in incident.summary and "worry" not in incident.summary
    assert "latency up from" in incident.summary and "Before, for 3 h from" in incident.summary
    assert incident.writer.startswith("offline/v1 (rejected openai:gpt-4o-mini: nothing to verify in its baseline")
    assert incident.grounding["ratio"] == 1.0 and incident.grounding["ratio_reason"] is None
    stored, grounding = con.execute("SELECT summary, grounding FROM incidents WHERE incident_id = ?",
                                    [incident.incident_id]).fetchone()
    assert stored == incident.summary and json.loads(grounding)["ratio"] == 1.0
    before = latency_scopes(incident)[1]
    assert verify_text(con, REASSURANCE, before).to_dict()["ratio_reason"].startswith("nothing to verify")


def test_a_baseline_the_model_leaves_out_gives_way_to_the_offline_text(con, fake_llm):
    fake_llm.responder = lambda request: {**faithful_model(request), "baseline": ""}
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer.startswith("offline/v1 (rejected openai:gpt-4o-mini: nothing to verify in its baseline")
    assert "Before, for 3 h from" in incident.summary
