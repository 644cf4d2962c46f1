"""One redaction path for every prompt: the gateway redacts every message of every call just before the HTTP
request (fenced data as data, by the field a value belongs to; the rest as text), so a prompt builder that
forgets cannot leak; and a model's answer gets back the addresses and accounts it repeats, never the secrets."""
from __future__ import annotations

import json

from logintel.llm.fencing import FENCE_CLOSE, FENCE_OPEN, facts_prompt, fence
from logintel.llm.gateway import LLMGateway, LLMRequest
from logintel.llm.outgoing import redact_messages, redact_prompt
from logintel.llm.redaction import Redactor
from tests.support.fake_llm_server import Reply, ToolCall, fake_llm  # noqa: F401
from tests.support.prompts import fenced, outside_fences

ADDRESS, EMAIL, CARD = "203.0.113.7", "jane.doe@example.com", "4111 1111 1111 1111"
BEARER = "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlMTIzNDU2"
LINE = f"declined for {EMAIL} from {ADDRESS}: card {CARD}; {BEARER}"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0.0.0 Safari/537.36"
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"],
          "additionalProperties": False}


def leaked(text: str) -> list[str]:
    return [s for s in (ADDRESS, EMAIL, CARD, "eyJhbGciOiJIUzI1NiJ9", "alice") if s in text]


def test_text_outside_the_fence_and_data_inside_it_are_both_redacted():
    redactor = Redactor("k")
    text = redact_prompt(f"QUESTION: who is {ADDRESS}?\n" + fence({"message": LINE, "client_ip": "198.51.100.9"}),
                         redactor)
    assert not leaked(text) and "198.51.100.9" not in text
    assert f"who is {redactor.redact(ADDRESS)}?" in text
    [data] = fenced(text)  # still one fence of valid JSON
    assert data["message"] == redactor.redact(LINE) and data["client_ip"].startswith("ip-")
    # the placeholders' own brackets are escaped like any other inside the fence
    assert text.count("<") == text.count(">") == 2 and "\\u003cemail:" in text


def test_an_address_next_to_an_escaped_bracket_is_still_found():
    redactor = Redactor("k")
    whole = fence({"message": f"<{ADDRESS}> said <{EMAIL}>"})
    cut = whole[: -len(FENCE_CLOSE) - 5]  # a fence someone cut short: redacted as text, brackets read as such
    for text in (whole, cut):
        assert "\\u003c203.0.113.7" in text
        out = redact_prompt(text, redactor)
        assert not leaked(out) and out.count(FENCE_CLOSE) == 1 and out.count("<") == out.count(">") == 2


def test_a_name_is_redacted_by_the_field_it_is_a_value_of():
    facts = {"service": "auth", "route": f"/hosts/{ADDRESS}/ping",
             "root_cause": {"attribute": "user_agent", "value": CHROME, "evidence": [
                 {"attribute": "user_id", "value": "alice"}, {"attribute": "client_ip", "value": "2001:db8::7"}]}}
    redactor = Redactor("k")
    text = redact_prompt(facts_prompt(facts), redactor)
    names = fenced(text)[0]["names"]
    assert names["n1"] == "auth" and names["n2"] == f"/hosts/{redactor.redact(ADDRESS)}/ping"
    assert CHROME in names.values()  # a user agent keeps its version numbers
    assert redactor.redact_value("user_id", "alice") in names.values() and "alice" not in text
    assert "2001:db8::7" not in text and outside_fences(text) == outside_fences(facts_prompt(facts))


def test_every_message_is_redacted_and_nothing_else_changes():
    messages = [{"role": "system", "content": "You summarise incidents."},
                {"role": "user", "content": [{"type": "text", "text": LINE}]},
                {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": fence({"text": LINE})}]
    out = redact_messages(messages, Redactor("k"))
    assert out[0] == messages[0] and out[2] == messages[2]
    assert not leaked(json.dumps(out, ensure_ascii=False)) and out[3]["tool_call_id"] == "c1"
    assert messages[1]["content"][0]["text"] == LINE  # copies: the caller's messages are left as they were


def _request(user: str) -> LLMRequest:
    return LLMRequest(prompt_name="t", prompt_version="1", system="Summarise.", user=user, schema=SCHEMA,
                      schema_name="t", offline=lambda: {"summary": "offline"})


def test_the_gateway_redacts_a_prompt_its_builder_did_not(fake_llm):
    redactor = Redactor("k")
    pseudonym = redactor.redact(ADDRESS)
    fake_llm.script([Reply({"summary": f"{pseudonym} failed; card <card:0badf00d>"})])
    result = LLMGateway(fake_llm.config(), redactor=redactor).complete(_request(f"FACTS: {LINE}"))
    sent = json.dumps(fake_llm.requests[0]["messages"], ensure_ascii=False)
    assert not leaked(sent) and pseudonym in sent
    # the model's text names the address as the reader knows it; a secret's placeholder stays one
    assert result.data["summary"] == f"{ADDRESS} failed; card <card:0badf00d>"


def test_the_offline_answer_is_left_as_its_writer_wrote_it(fake_llm):
    redactor = Redactor("k")
    pseudonym = redactor.redact(ADDRESS)
    request = LLMRequest(prompt_name="t", prompt_version="1", system="s", user=LINE, schema=SCHEMA, schema_name="t",
                         offline=lambda: {"summary": f"from {pseudonym}"})
    fake_llm.script([Reply({"nope": 1})])
    result = LLMGateway(fake_llm.config(max_retries=0), redactor=redactor).complete(request)
    assert result.writer == "offline/v1" and result.data == {"summary": f"from {pseudonym}"}


def test_tool_calling_turns_are_redacted_too(fake_llm):
    fake_llm.script([ToolCall("t")])
    arguments = {"messages": [{"role": "user", "content": LINE},
                              {"role": "tool", "tool_call_id": "x", "content": fence({"evidence": LINE})}]}
    LLMGateway(fake_llm.config()).chat("ask", "2", arguments)
    assert not leaked(json.dumps(fake_llm.requests[0]["messages"], ensure_ascii=False))
    assert fake_llm.requests[0]["messages"][1]["content"].startswith(FENCE_OPEN)


def test_restore_turns_back_only_the_pseudonyms_it_gave_out():
    redactor = Redactor("k")
    text = redactor.redact(f"{ADDRESS} and user=alice and {EMAIL}")
    assert redactor.restore(text) == f"{ADDRESS} and user=alice and {redactor.redact(EMAIL)}"
    assert Redactor("k").restore(text) == text  # another Redactor gave out none of them
    assert redactor.restore("ip-00000000 and xip-" + text[3:11]) == "ip-00000000 and xip-" + text[3:11]
