"""The ledger of LLM calls: one record per call (fallbacks included), their totals, and `llm_calls` in the state
store (`store.state_store`)."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime

from logintel.store.state_store import CALL_COLUMNS, StateStore

OK = "ok"
FALLBACK = "fallback"



@dataclass
class CallRecord:
    call_id: str
    started_at: datetime
    prompt_name: str
    prompt_version: str
    writer: str
    model: str | None
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    attempts: int
    outcome: str
    fallback_reason: str | None
    asset: str | None = None
    partition: str | None = None


_COLUMNS = CALL_COLUMNS  # CallRecord's fields, in order (tests/llm/test_call_log.py)


class CallLog:
    """In-memory and thread-safe, so one log can be shared by every call an asset makes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._written: set[str] = set()

    def append(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[CallRecord]:
        with self._lock:
            return list(self._records)

    def totals(self) -> dict:
        """Calls, fallbacks, tokens, cost and latency percentiles; `by_writer` splits them per writer."""
        records = self.records
        by_writer: dict[str, dict] = defaultdict(
            lambda: {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "cost_usd": 0.0})
        for record in records:
            share = by_writer[record.writer]
            share["calls"] += 1
            share["prompt_tokens"] += record.prompt_tokens
            share["completion_tokens"] += record.completion_tokens
            share["cached_tokens"] += record.cached_tokens
            share["cost_usd"] += record.cost_usd
        latencies = sorted(record.latency_ms for record in records)
        return {
            "calls": len(records),
            "fallbacks": sum(record.outcome == FALLBACK for record in records),
            "prompt_tokens": sum(record.prompt_tokens for record in records),
            "completion_tokens": sum(record.completion_tokens for record in records),
            "cached_tokens": sum(record.cached_tokens for record in records),
            "cost_usd": sum(record.cost_usd for record in records),
            "latency_ms_p50": _percentile(latencies, 0.50),
            "latency_ms_p95": _percentile(latencies, 0.95),
            "by_writer": dict(by_writer),
        }

    def write_to(self, store: StateStore, asset: str | None = None, partition: str | None = None) -> int:
        """Insert the records not yet in the store's `llm_calls`; `asset`/`partition` fill in records that lack
        them. Returns how many were new.

        Idempotent by call_id, also across logs and processes, so a retried asset run adds nothing twice.
        """
        with self._lock:
            pending = [record for record in self._records if record.call_id not in self._written]
        if not pending:
            return 0
        added = store.add_calls([tuple(_row(record, asset, partition)) for record in pending])
        with self._lock:
            self._written.update(record.call_id for record in pending)
        return added


def _row(record: CallRecord, asset: str | None, partition: str | None) -> list:
    values = asdict(record)
    values["asset"] = record.asset if record.asset is not None else asset
    values["partition"] = record.partition if record.partition is not None else partition
    return [values[column] for column in _COLUMNS]  # the store keeps started_at as naive UTC


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; 0.0 for no calls."""
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def recorded_usage(store: StateStore, asset: str, partition: str) -> dict:
    """What one asset's partition spent on LLM calls, from the store's `llm_calls` (zeros when nothing was
    recorded)."""
    calls, tokens, cost, _, latencies = store.call_usage([partition], asset=asset)
    return {"calls": calls, "tokens": tokens, "cost_usd": cost, "latency_ms_p95": _percentile(latencies, 0.95)}
