"""`ask`: offline answers from hand-made reports, and the model's tool-calling loop through the real openai
client against the fake server: redacted, bounded in steps and tokens; each sentence bound to the finding it
rewords (given way to the finding's text when it changes, adds or drops a claim), and the offline answer when
none stands; a sentence with nothing to verify stands only in the words of an analyst's summary that has
nothing either."""
from __future__ import annotations

import json

import pytest

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.ask.orchestrator import ask
from logintel.config import LLMConfig
from logintel.llm.call_log import FALLBACK, OK, CallLog
from logintel.llm.redaction.redactor import Redactor
from tests.agents.ask.ask_reports import (ACCOUNTS, ATTACKER_IP, DAY, KNOWN, SCOPE, Reports, burn, spraying,
                                          stuffing)
from tests.support.fake_llm_server import Reply, Status, ToolCall, fake_llm  # noqa: F401

PERSONAL = [ATTACKER_IP, "198.51.100.9", *ACCOUNTS]


def said(finding_id: str, text: str) -> dict:
    """A model's final answer of one sentence, rewording the finding (or analyst summary) `finding_id`."""
    return {"sentences": [{"finding_id": finding_id, "text": text}]}


def offline(question: str, reports: Reports | None = None, **options) -> dict:
    return ask(question, reports or Reports(), gateway_config=LLMConfig(), calls=CallLog(), known=KNOWN, **options)


# --- offline ---------------------------------------------------------------------------------------

def test_a_security_question_cites_the_security_findings_most_severe_first():
    reports = Reports()
    result = offline("is somebody hammering our login?", reports)

    assert result["routed_to"] == ["security"]
    assert reports.asked == ["security"]  # the other analysts were not run
    assert result["findings"] == [stuffing().finding_id, spraying().finding_id]
    assert result["answer"].index(stuffing().finding_id) < result["answer"].index(spraying().finding_id)
    assert "Block 203.0.113.77 at the edge" in result["answer"]
    assert result["abstained"] is False
    assert result["grounding"]["writer"] == "offline/v1"
    assert result["grounding"]["ratio"] == 1.0 and result["grounding"]["claims"] > 0
    assert result["llm"] == {"tokens": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
                             "latency_ms": 0.0, "steps": 0}
    json.dumps(result)  # JSON-able as it is


def test_an_analyst_with_nothing_says_so_and_the_answer_abstains():
    result = offline("any N+1 queries?")

    assert result["routed_to"] == ["efficiency"]
    assert result["abstained"] is True and result["findings"] == []
    assert result["answer"] == "The efficiency analyst found nothing that stands out (41 routes, 5,000 traces checked)."
    assert result["grounding"]["ratio"] == 1.0


def test_a_broad_question_asks_everyone_and_says_who_found_nothing():
    result = offline("what happened overnight?")

    assert result["routed_to"] == ["sre", "security", "efficiency"]
    assert "The efficiency analyst found nothing that stands out" in result["answer"]
    assert result["findings"][0] == stuffing().finding_id  # critical before high
    assert set(result["findings"]) == {stuffing().finding_id, spraying().finding_id, burn().finding_id}
    assert result["grounding"]["ungrounded"] == []


def test_every_routed_analyst_abstaining_is_an_abstention():
    result = offline("what happened overnight?", Reports(empty=("sre", "security")))
    assert result["abstained"] is True
    assert result["answer"].count("found nothing that stands out") == 3


# --- with a model ----------------------------------------------------------------------------------

def model_ask(fake_llm, question="is somebody hammering our login?", redactor=None, **options) -> tuple[dict, CallLog]:
    calls = CallLog()
    config = fake_llm.config(max_retries=options.pop("max_retries", 2))
    result = ask(question, Reports(), gateway_config=config, calls=calls, redactor=redactor or Redactor("k"),
                 known=KNOWN, day=DAY.day, **options)
    return result, calls


def test_the_model_calls_the_analyst_then_answers_citing_a_finding(fake_llm):
    redactor = Redactor("k")
    pseudonym = redactor.redact_value("client_ip", ATTACKER_IP)
    fake_llm.script([
        ToolCall("security_findings"),
        Reply(said(stuffing().finding_id, f"{pseudonym} alone sent 800 of the 1,240 failed logins of the "
                                          f"credential stuffing on /login, from 38 addresses against 410 accounts.")),
    ])

    result, calls = model_ask(fake_llm, redactor=redactor)

    assert result["grounding"]["writer"] == "openai:gpt-4o-mini"
    assert result["fallback_reason"] is None
    assert ATTACKER_IP in result["answer"] and pseudonym not in result["answer"]  # mapped back locally
    assert result["findings"] == [stuffing().finding_id]
    assert result["grounding"]["ratio"] == 1.0
    assert result["grounding"]["rewording"] == {"offered": 1, "accepted": 1, "replaced": 0}
    sent = fake_llm.usage_sent
    assert result["llm"]["steps"] == 2
    assert result["llm"]["tokens"] == sum(u["total_tokens"] for u in sent) > 0
    assert result["llm"]["cost_usd"] > 0
    assert [r.outcome for r in calls.records] == [OK, OK]
    assert calls.totals()["prompt_tokens"] == result["llm"]["prompt_tokens"]

    first, second = fake_llm.requests
    assert {t["function"]["name"] for t in first["tools"]} == {
        "sre_findings", "security_findings", "efficiency_findings", "finding_detail"}
    assert first["tool_choice"] == "auto"
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and pseudonym in tool_message["content"]
    assert "credential_stuffing" in tool_message["content"]


def test_nothing_personal_leaves_for_the_model(fake_llm):
    fake_llm.script([ToolCall("security_findings"), ToolCall("finding_detail", {"finding_id": stuffing().finding_id}),
                     Reply(said(stuffing().finding_id, "Credential stuffing on /login."))])

    result, _ = model_ask(fake_llm, question=f"is {ATTACKER_IP} attacking our login?")

    assert result["llm"]["steps"] == 3
    bodies = json.dumps(fake_llm.requests)
    assert "sample_accounts" in bodies  # the detail (with its evidence) was sent ...
    for value in PERSONAL:
        assert value not in bodies      # ... but not one address or account in the clear


def test_a_step_budget_spent_falls_back_to_the_offline_answer(fake_llm):
    fake_llm.script([ToolCall("security_findings"), ToolCall("sre_findings"), ToolCall("efficiency_findings")])

    result, calls = model_ask(fake_llm, max_steps=2)

    assert len(fake_llm.requests) == 2
    assert fake_llm.requests[-1]["tool_choice"] == "none"  # the last turn may only answer
    assert result["llm"]["steps"] == 2
    assert result["grounding"]["writer"] == "offline/v1"
    assert "step budget of 2" in result["fallback_reason"]
    assert result["findings"] == [stuffing().finding_id, spraying().finding_id]
    assert [r.outcome for r in calls.records] == [OK, OK, FALLBACK]
    assert calls.records[-1].fallback_reason == result["fallback_reason"]


def test_a_token_budget_exceeded_stops_the_loop(fake_llm):
    fake_llm.script([ToolCall("security_findings"), ToolCall("sre_findings")])

    result, _ = model_ask(fake_llm, max_tokens=300)

    assert len(fake_llm.requests) == 1
    assert "token budget of 300" in result["fallback_reason"]
    assert result["grounding"]["writer"] == "offline/v1"
    assert fake_llm.requests[0]["max_tokens"] <= 300


def test_a_number_not_in_the_finding_falls_back(fake_llm):
    fake_llm.script([ToolCall("security_findings"),
                     Reply(said(stuffing().finding_id, "Credential stuffing on /login: 5,000 failed logins from 38 "
                                                       "addresses against 410 accounts."))])

    result, _ = model_ask(fake_llm)

    assert result["grounding"]["writer"] == "offline/v1"
    assert result["fallback_reason"].startswith(f"none of the model's 1 sentence(s) accepted: {stuffing().finding_id}: "
                                                "states what its draft does not: 5000")
    assert "5,000" not in result["answer"]
    assert result["grounding"]["ratio"] == 1.0  # the offline answer's
    assert result["grounding"]["rewording"] == {"offered": 1, "accepted": 0, "replaced": 1}


def test_a_sentence_that_changes_a_number_gives_way_to_the_findings_text(fake_llm):
    fake_llm.script([ToolCall("security_findings"),
                     Reply({"sentences": [{"finding_id": stuffing().finding_id, "text": stuffing().text},
                                          {"finding_id": spraying().finding_id,
                                           "text": "Password spraying on /login: 950 accounts tried."}]})])

    result, _ = model_ask(fake_llm)

    assert result["grounding"]["writer"] == "openai:gpt-4o-mini"
    assert result["answer"] == stuffing().text + " " + spraying().text  # the second as the finding says it
    assert result["findings"] == [stuffing().finding_id, spraying().finding_id]
    assert result["grounding"]["rewording"] == {"offered": 2, "accepted": 1, "replaced": 1}


@pytest.mark.parametrize("answer, reason", [
    (said("sec-000000000000", "Credential stuffing on /login."), "sec-000000000000: names no draft it was given"),
    (said("security", "The security analyst has 2 findings (1 critical, 1 medium)."), "cited no finding"),
    (said("security", "Nothing stands out."), "security: nothing to verify in a sentence where its draft states"),
    (said(stuffing().finding_id, "  "), "an empty sentence"),
    ({"sentences": []}, "no sentence"),
])
def test_an_unusable_answer_falls_back_with_the_reason(fake_llm, answer, reason):
    fake_llm.script([ToolCall("security_findings"), Reply(answer)])
    result, _ = model_ask(fake_llm)
    assert result["grounding"]["writer"] == "offline/v1"
    assert reason in result["fallback_reason"]


def test_an_unknown_tool_is_told_to_the_model_not_raised(fake_llm):
    fake_llm.script([ToolCall("drop_tables"),
                     Reply(said(spraying().finding_id, "Password spraying on /login: 95 accounts tried."))])
    result, _ = model_ask(fake_llm)
    assert "no tool 'drop_tables'" in fake_llm.requests[1]["messages"][-1]["content"]
    assert result["grounding"]["writer"] == "openai:gpt-4o-mini"


def test_an_endpoint_failure_falls_back_and_is_recorded_once(fake_llm):
    fake_llm.script([Status(500)])
    result, calls = model_ask(fake_llm, max_retries=0)
    assert result["grounding"]["writer"] == "offline/v1"
    assert "HTTP 500" in result["fallback_reason"]
    assert [r.outcome for r in calls.records] == [FALLBACK]


# --- nothing to verify -----------------------------------------------------------------------------

REASSURANCE = "Nothing to worry about: the database is fine, no action needed."


def test_a_reassurance_citing_a_real_finding_gives_way_to_the_offline_answer(fake_llm):
    fake_llm.script([ToolCall("security_findings"), Reply(said(stuffing().finding_id, REASSURANCE))])

    result, calls = model_ask(fake_llm)

    assert result["answer"] != REASSURANCE and "worry" not in result["answer"]
    assert "1,240 failed logins" in result["answer"]  # the figures the tools returned, in the offline words
    assert result["grounding"]["writer"] == "offline/v1"
    assert result["fallback_reason"] == (f"none of the model's 1 sentence(s) accepted: {stuffing().finding_id}: "
                                         "nothing to verify in a sentence where its draft states claims")
    assert result["grounding"]["ratio"] == 1.0 and result["grounding"]["claims"] > 0
    assert calls.records[-1].outcome == FALLBACK  # the replacement is counted


class SilentReports(Reports):
    """An efficiency analyst that found nothing and examined nothing it can count."""

    def __call__(self, agent: str) -> AnalystReport:
        self.asked.append(agent)
        return AnalystReport(agent, SCOPE, [], examined={})


def test_an_answer_with_nothing_to_verify_stands_only_in_the_summarys_own_words(fake_llm):
    fake_llm.script([ToolCall("efficiency_findings"), Reply(said("efficiency", "Nothing stands out."))])
    result = ask("any N+1 queries?", SilentReports(), gateway_config=fake_llm.config(), calls=CallLog(),
                 redactor=Redactor("k"), known=KNOWN, day=DAY.day)
    # nothing in it can be checked, so other words than the summary's give way to it
    assert result["answer"] == "The efficiency analyst found nothing that stands out."
    assert result["grounding"]["writer"] == "offline/v1"

    fake_llm.script([ToolCall("efficiency_findings"),
                     Reply(said("efficiency", "the efficiency analyst found nothing that stands out"))])
    result = ask("any N+1 queries?", SilentReports(), gateway_config=fake_llm.config(), calls=CallLog(),
                 redactor=Redactor("k"), known=KNOWN, day=DAY.day)

    assert result["answer"] == "the efficiency analyst found nothing that stands out"
    assert result["grounding"]["writer"] == "openai:gpt-4o-mini"
    grounding = json.loads(json.dumps(result))["grounding"]
    assert grounding["claims"] == 0 and grounding["ratio"] is None  # never 1.0 on 0 claims
    assert grounding["ratio_reason"].startswith("nothing to verify")


def test_the_offline_answer_with_nothing_to_verify_has_no_ratio():
    result = offline("any N+1 queries?", SilentReports())
    assert result["answer"] == "The efficiency analyst found nothing that stands out."
    assert result["grounding"]["ratio"] is None and result["grounding"]["ratio_reason"].startswith("nothing to verify")
