"""The digest and a situation briefing composed on a real DuckDB warehouse (one hour with a payments
PG_TIMEOUT spike, through the real hourly stages), worded offline or by a model behind the real
`openai` client and a fake server on 127.0.0.1: a faithful model is used, a hallucinating one is caught
sentence by sentence, a sentence with nothing to verify stands only in the words of a draft that has nothing
either, an answer naming no item falls back to the offline writer, and the prompt carries facts, not logs."""
from datetime import date
from pathlib import Path

import pytest

from logintel.analysis.incidents.incident import replace_incidents
from logintel.analysis.incidents.rule_incidents import detect_incidents
from logintel.analysis.thresholds import Thresholds
from logintel.analysis.windows import compute_windows
from logintel.briefings.briefing import compose
from logintel.briefings.incident_briefing import IncidentSubject
from logintel.config import LLMConfig
from logintel.daily.days import DigestDay
from logintel.daily.route_metrics import compute_route_metrics
from logintel.daily.slo import load_slos
from logintel.digest.compose import compose_digest, settle_items
from logintel.digest.facts import gather_facts
from logintel.digest.grounding_verdict import verify_digest_file
from logintel.digest.prompt import MAX_PROMPT_CHARS, items_request
from logintel.digest.render import write_digest
from logintel.llm.call_log import CallLog
from logintel.llm.gateway import LLMGateway
from logintel.store.landing import HourBatch
from logintel.store.state_store import StateStore
from logintel.store.warehouse import load_hour
from logintel.trust.item_grounding import ItemFacts, summarize
from tests.support.fake_llm_server import Raw
from tests.support.incident_spike import HOUR, spike
from tests.support.prompts import drafts_of

DAY = DigestDay(date(2026, 11, 23))
SECRET_MESSAGE = "upstream pg-provider timed out for card 4111-1111-1111-1111"


@pytest.fixture
def warehouse(con, tmp_path):
    events = spike(messages=(SECRET_MESSAGE,))
    load_hour(con, HourBatch(hour=HOUR, lines=[e.to_json() for e in events], sources=[str(i) for i in range(len(events))]))
    compute_windows(con, HOUR)
    found = detect_incidents(con, HOUR, Thresholds())
    for incident in found:
        incident.severity = "high"  # briefings are owed for high and critical incidents
    replace_incidents(con, HOUR, found)
    compute_route_metrics(con, DAY)
    return con


def _facts(con, tmp_path):
    return gather_facts(con, DAY, load_slos(None), dead_letter_dir=tmp_path / "dl", dumps_dir=tmp_path / "dumps",
                        state=StateStore(path=tmp_path / "state.db"))


def _drafts(request: dict) -> list[dict]:
    return drafts_of(request)


def test_offline_digest_names_the_incident_and_is_fully_grounded(warehouse, tmp_path):
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(LLMConfig()))
    assert document["writer"] == "offline/v1" and len(document["top_issues"]) == 1
    issue = document["top_issues"][0]
    assert issue["source"].startswith("incident:inc-") and "PG_TIMEOUT" in issue["text"] and issue["grounded"] is True
    assert document["grounding"]["ratio"] == 1.0 and not document["grounding"]["invented"]
    assert document["hours_covered"] == [HOUR.isoformat()] and len(document["hours_missing"]) == 23
    paths = write_digest(document, {}, tmp_path / "digests")
    verdict = verify_digest_file(warehouse, paths["json_path"])
    assert verdict.passed and verdict.claims == document["grounding"]["claims"]


def _reworded(draft: str) -> str:
    """A faithful model's rewording: the same parts, the first colon a dash, semicolons commas."""
    return draft.replace("; ", ", ").replace(": ", " — ", 1)


def test_a_faithful_model_is_used_and_the_prompt_holds_facts_not_logs(warehouse, tmp_path, fake_llm):
    fake_llm.responder = lambda request: {"sentences": [{"key": d["key"], "text": _reworded(d["draft"])}
                                                        for d in _drafts(request)]}
    calls = CallLog()
    offline = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(LLMConfig()))
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(fake_llm.config(), recorder=calls))
    assert document["writer"] == "openai:gpt-4o-mini"
    assert document["top_issues"][0]["text"] == _reworded(offline["top_issues"][0]["text"]) != \
        offline["top_issues"][0]["text"]
    assert document["grounding"]["rewording"]["accepted"] == document["grounding"]["rewording"]["offered"] > 0
    assert document["grounding"]["ratio"] == 1.0 and document["llm"]["tokens"] > 0
    prompt = fake_llm.requests[0]["messages"][-1]["content"]
    assert "4111" not in prompt and len(prompt) <= MAX_PROMPT_CHARS
    assert calls.totals()["calls"] == 1


def test_a_hallucinated_sentence_is_replaced_by_its_draft(warehouse, tmp_path, fake_llm):
    def hallucinating(request):
        drafts = _drafts(request)
        return {"sentences": [{"key": d["key"], "text": ("The billing service threw 9,999 errors." if d["kind"] == "issue"
                                                         else d["draft"])} for d in drafts]}
    fake_llm.responder = hallucinating
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(fake_llm.config()))
    issue = document["top_issues"][0]
    assert "billing" not in issue["text"] and issue["writer"] == "offline/v1" and issue["grounded"] is True
    assert "reworded_rejected" in issue and not document["grounding"]["invented"]


def test_an_answer_naming_no_item_falls_back_to_the_offline_writer(warehouse, tmp_path, fake_llm):
    fake_llm.script([Raw('{"sentences": [{"key": "nope", "text": "x"}]}')])
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(fake_llm.config()))
    assert document["writer"] == "offline/v1"
    assert document["fallback_reason"] == "none of the model's 1 sentence(s) accepted: nope: names no draft it was given"
    assert document["grounding"]["ratio"] == 1.0
    assert document["grounding"]["rewording"] == {"offered": 1, "accepted": 0, "replaced": 1,
                                                  "unworded": document["grounding"]["sentences"]}


def test_an_invented_name_in_the_file_fails_the_check(warehouse, tmp_path):
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(LLMConfig()))
    document["top_issues"][0]["text"] = "The billing service failed."
    paths = write_digest(document, {}, tmp_path / "digests")
    verdict = verify_digest_file(warehouse, paths["json_path"])
    assert not verdict.passed and verdict.invented == ["billing"]
    broken = tmp_path / "digests" / "broken.json"
    broken.write_text("{not json")
    assert verify_digest_file(warehouse, broken).problem


def test_a_situation_briefing_has_every_heading_grounded(warehouse):
    incident_id = warehouse.execute("SELECT incident_id FROM incidents").fetchone()[0]
    briefing = compose(warehouse, IncidentSubject(incident_id), LLMGateway(LLMConfig()))
    headings = [s["heading"] for s in briefing.sections]
    assert headings == ["What", "Since when", "Who is affected", "Cause", "What changed", "Look first at"]
    assert "PG_TIMEOUT" in briefing.sections[0]["text"] and briefing.grounding["ratio"] == 1.0
    with pytest.raises(ValueError, match="no incident"):
        compose(warehouse, IncidentSubject("inc-0000"), LLMGateway(LLMConfig()))


REASSURANCE = "Nothing to worry about: the database is fine, no action needed."


def test_a_sentence_with_nothing_to_verify_is_replaced_by_its_draft(warehouse, tmp_path, fake_llm):
    fake_llm.responder = lambda request: {"sentences": [
        {"key": d["key"], "text": REASSURANCE if d["kind"] == "issue" else d["draft"]}
        for d in _drafts(request)]}
    document = compose_digest(warehouse, _facts(warehouse, tmp_path), LLMGateway(fake_llm.config()))

    issue = document["top_issues"][0]
    assert issue["text"] != REASSURANCE and "PG_TIMEOUT" in issue["text"] and issue["grounded"] is True
    assert issue["writer"] == "offline/v1" and issue["reworded_rejected"].startswith("nothing to verify")
    assert document["writer"] == "openai:gpt-4o-mini" and document["grounding"]["replaced"] == 1
    assert document["grounding"]["ratio"] == 1.0 and document["grounding"]["unchecked"] == []
    paths = write_digest(document, {}, tmp_path / "digests")
    for path in paths.values():  # neither the stored JSON nor what is shown or delivered carries it
        assert "worry" not in Path(path).read_text(encoding="utf-8")
    assert verify_digest_file(warehouse, paths["json_path"]).passed


def _note(warehouse, fake_llm, worded: str) -> tuple[str, dict, dict]:
    """(writer, the item, the rewording's counts) of one note with nothing to verify, worded `worded` by a model."""
    fake_llm.responder = lambda request: {"sentences": [{"key": d["key"], "text": worded} for d in _drafts(request)]}
    items = [{"key": "note:1", "kind": "note", "text": "No other item today.", "source": "digest:test",
              "facts": ItemFacts()}]
    writer, _, _, rewording = settle_items(warehouse, items, LLMGateway(fake_llm.config()),
                                           items_request("daily_digest", None, items), DAY.day, lambda a, v: True)
    return writer, items[0], rewording


def test_a_sentence_with_nothing_to_verify_stands_only_in_its_drafts_own_words(warehouse, fake_llm):
    writer, item, rewording = _note(warehouse, fake_llm, "no other item today!")
    assert writer == "openai:gpt-4o-mini" and item["text"] == "no other item today!"
    assert item["grounded"] is None and item["grounding_reason"].startswith("nothing to verify")
    assert "reworded_rejected" not in item
    assert rewording == {"offered": 1, "accepted": 1, "replaced": 0, "unworded": 0}
    summary = summarize([item])
    assert summary["ratio"] is None and summary["ratio_reason"].startswith("nothing to verify")
    assert summary["unchecked"] == ["no other item today!"] and summary["replaced"] == 0

    # nothing in it can be checked, so other words (an injected "all is fine") give way to the draft
    writer, item, rewording = _note(warehouse, fake_llm, "The database is fine, no action needed.")
    assert writer == "offline/v1" and item["text"] == "No other item today."
    assert item["reworded_rejected"] == "nothing to verify in a sentence that is not its draft's own words"
    assert rewording == {"offered": 1, "accepted": 0, "replaced": 1, "unworded": 0}
