"""LLM call accounting: totals that match what the server billed, prices, and the llm_calls table."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest

from logintel.llm.call_log import CallLog, CallRecord
from logintel.store.state_store import CALL_COLUMNS, StateStore
from logintel.llm.gateway import LLMGateway, LLMRequest
from logintel.llm.prices import PriceTable
from tests.support.fake_llm_server import Reply, Status, fake_llm  # noqa: F401

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"],
          "additionalProperties": False}


def request(prompt_name: str = "daily_briefing", user: str = "facts") -> LLMRequest:
    return LLMRequest(prompt_name=prompt_name, prompt_version="1", system="You write briefings.", user=user,
                      schema=SCHEMA, schema_name="briefing", offline=lambda: {"summary": "offline"})


def record(call_id: str, latency_ms: float = 10.0, writer: str = "offline/v1", **fields) -> CallRecord:
    values = dict(call_id=call_id, started_at=datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc),
                  prompt_name="incident_summary", prompt_version="1", writer=writer, model=None,
                  latency_ms=latency_ms, prompt_tokens=0, completion_tokens=0, cached_tokens=0, cost_usd=0.0,
                  attempts=0, outcome="fallback", fallback_reason="no endpoint configured")
    return CallRecord(**{**values, **fields})


def test_totals_add_up_to_what_the_server_reported(fake_llm):
    fake_llm.script([Reply({"summary": "one"}), Reply({"summary": "two " * 50}, cached_tokens=8),
                     Reply({"summary": "three"}, cached_tokens=2), Status(500)])
    gateway = LLMGateway(fake_llm.config(max_retries=0), sleep=lambda s: None)

    for i in range(4):
        gateway.complete(request(user=f"facts for hour {i}: " + "x" * (40 * i)))
    totals = gateway.recorder.totals()

    sent = fake_llm.usage_sent
    assert len(sent) == 3
    assert totals["calls"] == 4 and totals["fallbacks"] == 1
    assert totals["prompt_tokens"] == sum(u["prompt_tokens"] for u in sent)
    assert totals["completion_tokens"] == sum(u["completion_tokens"] for u in sent)
    assert totals["cached_tokens"] == sum(u["prompt_tokens_details"]["cached_tokens"] for u in sent) == 10
    prices = PriceTable.default()
    assert totals["cost_usd"] == pytest.approx(sum(prices.cost(
        "gpt-4o-mini", u["prompt_tokens"], u["completion_tokens"], u["prompt_tokens_details"]["cached_tokens"])
        for u in sent))
    assert totals["by_writer"]["openai:gpt-4o-mini"]["calls"] == 3
    assert totals["by_writer"]["offline/v1"] == {"calls": 1, "prompt_tokens": 0, "completion_tokens": 0,
                                                 "cached_tokens": 0, "cost_usd": 0.0}
    assert 0 < totals["latency_ms_p50"] <= totals["latency_ms_p95"]


def test_latency_percentiles():
    log = CallLog()
    for i in range(1, 101):
        log.append(record(f"c{i}", latency_ms=float(i)))
    totals = log.totals()
    assert totals["latency_ms_p50"] == pytest.approx(50.5)
    assert totals["latency_ms_p95"] == pytest.approx(95.05)
    assert CallLog().totals()["calls"] == 0 and CallLog().totals()["latency_ms_p95"] == 0.0


def test_appends_from_many_threads_are_all_kept():
    log = CallLog()

    def work(worker: int) -> None:
        for i in range(200):
            log.append(record(f"w{worker}-{i}"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log.records) == 1600


def test_writing_to_the_state_store_does_not_duplicate(tmp_path):
    store = StateStore(path=tmp_path / "state.db")
    log = CallLog()
    log.append(record("a"))
    log.append(record("b", asset="rca_report", partition="2025-03-01-11:00"))

    assert log.write_to(store, asset="incident_summaries", partition="2025-03-01-12:00") == 2
    assert log.write_to(store, asset="incident_summaries", partition="2025-03-01-12:00") == 0
    log.append(record("c", writer="openai:gpt-4o-mini", outcome="ok", fallback_reason=None, attempts=1))
    assert log.write_to(store) == 1
    # Another log holding the same calls (a retried run) adds nothing either.
    again = CallLog()
    for copy in log.records:
        again.append(copy)
    assert again.write_to(store) == 0

    rows = [(c["call_id"], c["asset"], c["partition"], c["started_at"], c["outcome"]) for c in store.calls()]
    assert rows == [
        ("a", "incident_summaries", "2025-03-01-12:00", datetime(2025, 3, 1, 12, 0), "fallback"),
        ("b", "rca_report", "2025-03-01-11:00", datetime(2025, 3, 1, 12, 0), "fallback"),
        ("c", None, None, datetime(2025, 3, 1, 12, 0), "ok"),
    ]


def test_table_columns_are_the_record_fields():
    assert list(CALL_COLUMNS) == list(CallRecord.__dataclass_fields__)


def test_prices_per_million_tokens_with_cached_input_discounted():
    prices = PriceTable.default()
    # gpt-4o-mini: 0.15 in, 0.075 cached in, 0.60 out per 1M tokens.
    assert prices.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert prices.cost("gpt-4o-mini", 1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(0.075)
    assert prices.cost("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert prices.cost("gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.50)
    assert prices.known("local") and prices.cost("local", 10_000, 10_000) == 0.0
    assert not prices.known("mystery-70b") and prices.cost("mystery-70b", 10_000, 10_000) == 0.0
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o4-mini"} <= set(prices.models)


def test_a_configured_price_table_replaces_the_default(fake_llm, tmp_path):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"models": {"gpt-4o-mini": {"input": 1000.0, "output": 0.0}}}))
    fake_llm.script([Reply({"summary": "ok"}, cached_tokens=3)])

    result = LLMGateway(fake_llm.config(price_table=table)).complete(request())

    # No cached rate given: cached tokens are billed at the full input rate.
    assert result.record.cost_usd == pytest.approx(result.record.prompt_tokens * 1000.0 / 1_000_000)


def test_a_broken_price_table_says_what_is_wrong(tmp_path):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"models": {"gpt-4o-mini": {"input": -1, "output": 1}}}))
    with pytest.raises(ValueError, match="gpt-4o-mini.input must be a number >= 0"):
        PriceTable.from_file(table)
