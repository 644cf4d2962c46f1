"""The bounded tool loop and LLMGateway.chat through the real openai client against the fake server."""
from __future__ import annotations

import json

from logintel.config import LLMConfig
from logintel.llm.call_log import FALLBACK, OK, CallLog
from logintel.llm.gateway import LLMGateway
from logintel.llm.tool_calls import Tool, run_tools
from tests.support.fake_llm_server import Raw, Reply, ToolCall, ToolCalls, fake_llm  # noqa: F401

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
          "additionalProperties": False}
ECHO = Tool("echo", "Repeats its text.", {"type": "object", "properties": {"text": {"type": "string"}},
                                          "required": ["text"]}, lambda arguments: arguments["text"].upper())


def loop(gateway, **options):
    settings = dict(prompt_name="t", prompt_version="1", system="s", user="u", tools=[ECHO], answer_schema=SCHEMA,
                    max_steps=3, max_tokens=5000)
    return run_tools(gateway, **{**settings, **options})


def test_tools_run_locally_and_their_answers_go_back(fake_llm):
    fake_llm.script([ToolCalls((ToolCall("echo", {"text": "hi"}), ToolCall("echo", {"bad": 1}))),
                     Reply({"answer": "done"})])
    calls = CallLog()
    run = loop(LLMGateway(fake_llm.config(), calls))

    assert run.answer == {"answer": "done"} and run.failure is None and run.steps == 2
    replies = [m for m in fake_llm.requests[1]["messages"] if m["role"] == "tool"]
    assert replies[0]["content"] == "HI" and "missing required key 'text'" in replies[1]["content"]
    assert run.tool_calls == [("echo", {"text": "hi"}), ("echo", {"bad": 1})]
    assert [r.outcome for r in calls.records] == [OK, OK] and run.tokens == sum(
        r.prompt_tokens + r.completion_tokens for r in calls.records)


def test_an_answer_off_the_schema_is_a_failure(fake_llm):
    fake_llm.script([Raw(json.dumps({"wrong": 1}))])
    run = loop(LLMGateway(fake_llm.config()))
    assert run.answer is None and "unusable final answer" in run.failure


def test_without_an_endpoint_nothing_is_sent_and_the_turn_is_recorded():
    calls = CallLog()
    run = loop(LLMGateway(LLMConfig(), calls))
    assert run.failure == "no endpoint configured" and run.endpoint_failed and run.steps == 0
    assert [r.outcome for r in calls.records] == [FALLBACK]
