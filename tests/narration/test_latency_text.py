"""A latency incident's text through the real `openai` client and the fake server on 127.0.0.1: a faithful
model's rewording of the three parts' drafts is kept and grounded part by part; a sentence that invents a
latency, states nothing checkable where its draft states figures, or is left out gives way to its draft; a
model that says all is well leaves the offline text whole."""
import json
from datetime import timedelta

import numpy as np

from logintel.llm.gateway import LLMGateway
from logintel.narration.incident_text import latency_scopes
from logintel.trust import verify_text
from tests.support.latency_hours import H, requests, run_hours, standing_latency
from tests.support.prompts import drafts_in, reworded


def faithful_model(request: dict) -> dict:
    """Each draft in other words, every figure kept, no words of its own that state nothing checkable."""
    def reword(draft_id: str, text: str) -> str:
        if draft_id == "summary-1":
            return text.replace(": latency up from", " got slower from").replace(" — p50", ", p50")
        if draft_id == "baseline-1":
            head, figures = text.removeprefix("Before, for").split(":", 1)
            return f"For{head}, before:{figures}"
        return "The extra time is {}: no dependency got slower.".format(text.split("the extra time is ")[1][:-1])
    return reworded(request, reword)


def inventing_model(request: dict) -> dict:
    return reworded(request, lambda draft_id, text: text.replace("p50", "p50 3 ms, not") if draft_id == "baseline-1"
                    else text)


def reassuring_model(request: dict) -> dict:
    return reworded(request, lambda draft_id, text: "All systems are healthy." if draft_id == "summary-1"
                    else "Nothing to see.")


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
    assert "got slower from" in incident.summary and "For 3 h from" in incident.summary
    assert incident.root_cause_analysis.startswith("The extra time is catalog's own: no dependency got slower")
    assert incident.grounding["ratio"] == 1.0 and incident.grounding["claims"] >= 8, incident.grounding
    assert incident.grounding["rewording"] == {"offered": 3, "accepted": 3, "replaced": 0, "unworded": 0}
    request = next(r for r in fake_llm.requests if r["messages"][-1]["content"].startswith("FACTS:"))
    assert list(drafts_in(request)) == ["summary-1", "baseline-1", "root_cause_analysis-1"]


def test_an_invented_baseline_is_replaced_by_its_draft(con, fake_llm):
    fake_llm.responder = inventing_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer == "openai:gpt-4o-mini"  # its other sentences stand
    assert "3 ms" not in incident.summary and "Before, for 3 h from" in incident.summary
    assert incident.grounding["ratio"] == 1.0
    assert incident.grounding["rewording"] == {"offered": 3, "accepted": 2, "replaced": 1, "unworded": 0}
    assert incident.grounding["rewording_problems"][0].startswith("baseline-1: states what its draft does not: 3")


def test_a_reassuring_answer_is_replaced_by_the_offline_writer(con, fake_llm):
    fake_llm.responder = reassuring_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer.startswith("offline/v1 (rejected openai:gpt-4o-mini")
    assert "healthy" not in incident.summary and "latency up from" in incident.summary
    assert "Nothing to see" not in incident.root_cause_analysis
    assert incident.grounding["ratio"] == 1.0


REASSURANCE = "Nothing to worry about: the database is fine, no action needed."


def reassuring_baseline_model(request: dict) -> dict:
    """A faithful summary and cause, and a reassurance where the figures before the onset belong."""
    return reworded(request, lambda draft_id, text: REASSURANCE if draft_id == "baseline-1" else text)


def test_a_sentence_with_nothing_to_verify_gives_way_to_its_draft(con, fake_llm):
    fake_llm.responder = reassuring_baseline_model
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    # the summary and the cause stand; the baseline states nothing checkable where its draft states the route's
    # figures before the onset
    assert REASSURANCE not in incident.summary and "worry" not in incident.summary
    assert "latency up from" in incident.summary and "Before, for 3 h from" in incident.summary
    assert incident.writer == "openai:gpt-4o-mini"
    assert incident.grounding["rewording"] == {"offered": 3, "accepted": 2, "replaced": 1, "unworded": 0}
    assert incident.grounding["rewording_problems"] == [
        "baseline-1: nothing to verify in a sentence where its draft states claims"]
    assert incident.grounding["ratio"] == 1.0 and incident.grounding["ratio_reason"] is None
    stored, grounding = con.execute("SELECT summary, grounding FROM incidents WHERE incident_id = ?",
                                    [incident.incident_id]).fetchone()
    assert stored == incident.summary and json.loads(grounding)["ratio"] == 1.0
    before = latency_scopes(incident)[1]
    assert verify_text(con, REASSURANCE, before).to_dict()["ratio_reason"].startswith("nothing to verify")


def test_a_baseline_the_model_leaves_out_keeps_its_draft(con, fake_llm):
    fake_llm.responder = lambda request: reworded(request, lambda draft_id, text: None if draft_id == "baseline-1"
                                                  else text)
    incident = slowed_route(con, LLMGateway(fake_llm.config()))
    assert incident.writer == "openai:gpt-4o-mini"
    assert "Before, for 3 h from" in incident.summary
    assert incident.grounding["rewording"] == {"offered": 2, "accepted": 2, "replaced": 0, "unworded": 1}
