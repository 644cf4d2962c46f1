"""The LLM gateway through the real openai client against a fake OpenAI-compatible server on loopback."""
from __future__ import annotations

import json
import logging
import time

import openai
import pytest

from logintel.config import DEFAULT_OPENAI_BASE_URL, LLMConfig
from logintel.llm.gateway import LLMGateway, LLMRequest, parse_json_object, schema_errors
from logintel.llm.prices import PriceTable
from tests.support.fake_llm_server import Delay, Disconnect, Raw, Reply, Status, fake_llm  # noqa: F401

SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "severity": {"type": "string", "enum": ["low", "high"]},
        "evidence_ids": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["summary", "severity", "evidence_ids"],
    "additionalProperties": False,
}
OFFLINE_ANSWER = {"summary": "payments POST /charge: 42 errors", "severity": "high", "evidence_ids": ["e1"]}
MODEL_ANSWER = {"summary": "Charges time out against the database", "severity": "high", "evidence_ids": ["e1", "e7"]}


def summary_request(**overrides) -> LLMRequest:
    fields = dict(prompt_name="incident_summary", prompt_version="3", system="You summarise incidents.",
                  user="facts: 42 PG_TIMEOUT errors on payments POST /charge", schema=SUMMARY_SCHEMA,
                  schema_name="incident_summary", offline=lambda: dict(OFFLINE_ANSWER))
    return LLMRequest(**{**fields, **overrides})


class Sleeps(list):
    """Stands in for time.sleep: remembers each backoff instead of waiting for it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def gateway_for(fake_llm, sleeps, **config) -> LLMGateway:
    return LLMGateway(fake_llm.config(**config), sleep=sleeps, jitter=lambda: 1.0)


def test_structured_answer_is_parsed_labelled_and_accounted(fake_llm, sleeps):
    fake_llm.script([Reply(MODEL_ANSWER, cached_tokens=4)])
    gateway = gateway_for(fake_llm, sleeps)

    result = gateway.complete(summary_request())

    assert result.data == MODEL_ANSWER
    assert result.writer == "openai:gpt-4o-mini"
    assert result.fallback_reason is None
    usage = fake_llm.usage_sent[0]
    record = result.record
    assert (record.prompt_tokens, record.completion_tokens, record.cached_tokens) == (
        usage["prompt_tokens"], usage["completion_tokens"], 4)
    assert record.cost_usd == pytest.approx(PriceTable.default().cost(
        "gpt-4o-mini", usage["prompt_tokens"], usage["completion_tokens"], 4))
    assert record.cost_usd > 0
    assert (record.outcome, record.attempts, record.model) == ("ok", 1, "gpt-4o-mini")
    assert record.latency_ms > 0
    assert gateway.recorder.records == [record]


def test_what_leaves_the_process_is_one_structured_request(fake_llm, sleeps):
    gateway_for(fake_llm, sleeps).complete(summary_request(max_output_tokens=123))

    [received] = fake_llm.received
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == "Bearer test-key"
    body = received.body
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"] == [{"role": "system", "content": "You summarise incidents."},
                                {"role": "user", "content": "facts: 42 PG_TIMEOUT errors on payments POST /charge"}]
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "incident_summary", "schema": SUMMARY_SCHEMA, "strict": True}}
    assert (body["max_tokens"], body["temperature"]) == (123, 0)


def test_default_reply_fits_the_requested_schema(fake_llm, sleeps):
    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.writer == "openai:gpt-4o-mini"
    assert schema_errors(SUMMARY_SCHEMA, result.data) == []


def test_rate_limit_is_retried_after_the_servers_retry_after(fake_llm, sleeps):
    fake_llm.script([Status(429, retry_after=3), Reply(MODEL_ANSWER)])

    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.data == MODEL_ANSWER
    assert (result.record.outcome, result.record.attempts) == ("ok", 2)
    assert sleeps == [3.0]
    assert len(fake_llm.requests) == 2


def test_retry_after_is_capped(fake_llm, sleeps):
    fake_llm.script([Status(503, retry_after=600), Reply(MODEL_ANSWER)])

    gateway_for(fake_llm, sleeps).complete(summary_request())

    assert sleeps == [8.0]


def test_server_errors_until_fallback(fake_llm, sleeps, caplog):
    fake_llm.script([Status(500)] * 3)

    with caplog.at_level(logging.WARNING, logger="logintel.llm"):
        result = gateway_for(fake_llm, sleeps, max_retries=2).complete(summary_request())

    assert result.data == OFFLINE_ANSWER
    assert result.writer == "offline/v1"
    assert result.fallback_reason == "endpoint failed after 3 attempts: HTTP 500"
    assert (result.record.outcome, result.record.attempts) == ("fallback", 3)
    assert (result.record.prompt_tokens, result.record.cost_usd) == (0, 0.0)
    assert len(fake_llm.requests) == 3
    assert sleeps == [0.5, 1.0]  # exponential from 0.5 s (jitter pinned at its top)
    assert "incident_summary" in caplog.text and "HTTP 500" in caplog.text


def test_backoff_doubles_up_to_its_cap_and_jitter_keeps_at_least_half(fake_llm):
    fake_llm.script([Status(502)] * 7)
    sleeps, low = Sleeps(), Sleeps()

    LLMGateway(fake_llm.config(max_retries=6), sleep=sleeps, jitter=lambda: 1.0).complete(summary_request())
    fake_llm.script([Status(502)] * 3)
    LLMGateway(fake_llm.config(max_retries=2), sleep=low, jitter=lambda: 0.0).complete(summary_request())

    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert low == [0.25, 0.5]


def test_client_error_is_not_retried(fake_llm, sleeps):
    fake_llm.script([Status(400, message="Invalid schema for response_format")])

    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.writer == "offline/v1"
    assert result.fallback_reason == (
        "endpoint refused the request: HTTP 400 (Invalid schema for response_format)")
    assert result.record.attempts == 1
    assert len(fake_llm.requests) == 1 and sleeps == []


def test_timeout_falls_back_after_retries(fake_llm, sleeps):
    fake_llm.script([Delay(3), Delay(3)])
    started = time.monotonic()

    result = gateway_for(fake_llm, sleeps, timeout_s=0.3, max_retries=1).complete(summary_request())

    assert time.monotonic() - started < 2.5
    assert result.writer == "offline/v1"
    assert result.fallback_reason == "endpoint failed after 2 attempts: timed out after 0.3 s"
    assert result.record.attempts == 2 and len(sleeps) == 1


def test_dropped_connection_is_retried(fake_llm, sleeps):
    fake_llm.script([Disconnect(), Reply(MODEL_ANSWER)])

    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.data == MODEL_ANSWER
    assert result.record.attempts == 2


def test_unreachable_endpoint_falls_back(sleeps):
    config = LLMConfig(base_url="http://127.0.0.1:9/v1", api_key="k", timeout_s=1.0, max_retries=1)

    result = LLMGateway(config, sleep=sleeps).complete(summary_request())

    assert result.writer == "offline/v1"
    assert result.fallback_reason.startswith("endpoint failed after 2 attempts: connection error")


def test_fenced_json_is_repaired(fake_llm, sleeps):
    fake_llm.script([Raw("Here is the summary:\n```json\n" + json.dumps(MODEL_ANSWER) + "\n```\n")])

    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.data == MODEL_ANSWER
    assert result.writer == "openai:gpt-4o-mini"


def test_malformed_json_falls_back_with_a_warning(fake_llm, sleeps, caplog):
    fake_llm.script([Raw("not json {")])

    with caplog.at_level(logging.WARNING, logger="logintel.llm"):
        result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.writer == "offline/v1"
    assert result.fallback_reason.startswith("malformed JSON")
    assert result.record.attempts == 1 and result.record.prompt_tokens > 0  # the tokens were still spent
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert line.name == "logintel.llm"
    message = line.getMessage()
    assert "incident_summary" in message and "gpt-4o-mini" in message and "malformed JSON" in message


def test_truncated_answer_says_so(fake_llm, sleeps):
    fake_llm.script([Raw('{"summary": "Charges ti', finish_reason="length")])

    result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.writer == "offline/v1"
    assert "cut at max_output_tokens" in result.fallback_reason


def test_schema_invalid_answer_falls_back(fake_llm, sleeps, caplog):
    fake_llm.script([Reply({"summary": "Charges time out", "evidence_ids": []})])

    with caplog.at_level(logging.WARNING, logger="logintel.llm"):
        result = gateway_for(fake_llm, sleeps).complete(summary_request())

    assert result.data == OFFLINE_ANSWER
    assert result.fallback_reason == "schema-invalid JSON: $: missing required key 'severity'"
    assert "missing required key 'severity'" in caplog.text


def test_not_configured_uses_the_offline_writer_without_any_http(fake_llm, monkeypatch):
    def no_client(*args, **kwargs):
        raise AssertionError("an unconfigured gateway must not build an HTTP client")

    monkeypatch.setattr(openai, "OpenAI", no_client)
    gateway = LLMGateway(LLMConfig(base_url=None, api_key=None))

    result = gateway.complete(summary_request())

    assert result.data == OFFLINE_ANSWER
    assert (result.writer, result.fallback_reason) == ("offline/v1", "no endpoint configured")
    record = result.record
    assert (record.prompt_tokens, record.completion_tokens, record.cost_usd, record.attempts) == (0, 0, 0.0, 0)
    assert (record.model, record.outcome) == (None, "fallback")
    assert record.latency_ms >= 0
    assert fake_llm.requests == []


def test_request_schema_must_be_an_object():
    with pytest.raises(ValueError, match="object at the top level"):
        summary_request(schema={"type": "array"})


@pytest.mark.parametrize("value, errors", [
    ({"summary": "s", "severity": "low", "evidence_ids": ["a"]}, []),
    ({"summary": 3, "severity": "low", "evidence_ids": []}, ["$.summary: expected string, got integer"]),
    ({"summary": "s", "severity": "urgent", "evidence_ids": []},
     ["$.severity: 'urgent' is not one of ['low', 'high']"]),
    ({"summary": "s", "severity": "low", "evidence_ids": [1]}, ["$.evidence_ids[0]: expected string, got integer"]),
    ({"summary": "s", "severity": "low", "evidence_ids": [], "extra": 1}, ["$: unexpected key 'extra'"]),
    (["not", "an", "object"], ["$: expected object, got array"]),
])
def test_schema_errors_name_the_path(value, errors):
    assert schema_errors(SUMMARY_SCHEMA, value) == errors


def test_schema_types_follow_json_not_python():
    counts = {"type": "object", "properties": {"n": {"type": "integer"}, "x": {"type": "number"},
                                               "ok": {"type": "boolean"}, "note": {"type": ["string", "null"]}}}
    assert schema_errors(counts, {"n": 3.0, "x": 1, "ok": False, "note": None}) == []
    assert schema_errors(counts, {"n": True}) == ["$.n: expected integer, got boolean"]
    assert schema_errors(counts, {"x": "1"}) == ["$.x: expected number, got string"]
    assert schema_errors(counts, {"ok": 0}) == ["$.ok: expected boolean, got integer"]


def test_json_repair_is_one_cut_only():
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ValueError, match="malformed JSON"):
        parse_json_object('{"a": 1,}')


def test_config_from_env():
    config = LLMConfig.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1", "LOGINTEL_LLM_MODEL": "local",
                                 "LOGINTEL_LLM_TIMEOUT_S": "2.5", "LOGINTEL_LLM_MAX_RETRIES": "0",
                                 "LOGINTEL_LLM_PRICES": "/etc/prices.json"})
    assert config.configured and config.api_key is None
    assert (config.model, config.timeout_s, config.max_retries, str(config.price_table)) == (
        "local", 2.5, 0, "/etc/prices.json")


def test_a_bare_key_means_the_hosted_api_and_nothing_means_offline():
    hosted = LLMConfig.from_env({"OPENAI_API_KEY": "sk-secret"})
    assert hosted.base_url == DEFAULT_OPENAI_BASE_URL and hosted.configured
    assert "sk-secret" not in repr(hosted)
    assert not LLMConfig.from_env({"OPENAI_BASE_URL": " "}).configured
    assert LLMConfig.from_env({}).model == "gpt-4o-mini"


def test_config_rejects_bad_numbers():
    with pytest.raises(ValueError, match="LOGINTEL_LLM_MAX_RETRIES"):
        LLMConfig.from_env({"LOGINTEL_LLM_MAX_RETRIES": "two"})
    with pytest.raises(ValueError, match="timeout"):
        LLMConfig.from_env({"LOGINTEL_LLM_TIMEOUT_S": "0"})


def test_fake_server_answers_embeddings_deterministically(fake_llm):
    client = openai.OpenAI(base_url=fake_llm.base_url, api_key="test-key", max_retries=0)

    first = client.embeddings.create(model="text-embedding-3-small", input=["PG_TIMEOUT on charge", "login ok"])
    again = client.embeddings.create(model="text-embedding-3-small", input="PG_TIMEOUT on charge")

    assert [len(item.embedding) for item in first.data] == [16, 16]
    assert again.data[0].embedding == pytest.approx(first.data[0].embedding)
    assert first.usage.prompt_tokens > 0
    assert fake_llm.received[0].path == "/v1/embeddings"
