"""What the pipeline itself did over the day: events received and what they stand for after sampling,
what sampling dropped by level, dead letters by cause, events replayed from dumps, LLM calls, tokens
and cost. From raw_events, the dead-letter store, the replay reports and the state store's llm_calls."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from logintel.daily.days import DigestDay
from logintel.daily.days import hour_key as partition_key
from logintel.ingest.reports import REPORTS
from logintel.store.dead_letters import DeadLetterStore
from logintel.store.landing import hour_key
from logintel.store.schema import ensure_tables
from logintel.store.state_store import StateStore
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

log = logging.getLogger("logintel.digest")


def pipeline_health(con: duckdb.DuckDBPyConnection, day: DigestDay, dead_letter_dir: Path, dumps_dir: Path,
                    state: StateStore) -> dict:
    """The digest's "What the pipeline did" item: the figures, a sentence and its facts."""
    ensure_tables(con, "raw_events")
    received, represented = con.execute(
        "SELECT count(*), coalesce(sum(sample_rate), 0) FROM raw_events WHERE ts >= ? AND ts < ?",
        [day.start, day.end]).fetchone()
    drops = dict(con.execute("""
        SELECT 'sampled out (' || level || ')', sum(sample_rate - 1) FROM raw_events
        WHERE ts >= ? AND ts < ? AND sample_rate > 1 GROUP BY level ORDER BY level""",
                             [day.start, day.end]).fetchall())
    # Calls made for the day's partitions (hourly, or this digest's), whenever they ran; calls tied to no
    # partition by the day they ran in.
    partitions = [partition_key(h) for h in day.hours()] + [day.key]
    calls, tokens, cost, fallbacks, _ = state.call_usage(partitions, day.start, day.end)
    keys = {hour_key(h.replace(tzinfo=timezone.utc)) for h in day.hours()}
    dead_letters = _dead_letters(dead_letter_dir, day, keys)
    replayed = _replayed(Path(dumps_dir) / REPORTS, keys)
    sampled_out = represented - received
    item = {"key": f"pipeline:{day.key}", "source": f"pipeline:{day.key}", "events_received": received,
            "requests_represented": represented, "events_sampled_out": sampled_out, "drops": drops,
            "dead_letters": dead_letters, "dumps_replayed": replayed,
            "llm": {"calls": calls, "tokens": tokens, "cost_usd": round(cost, 6), "fallbacks": fallbacks}}
    letters = sum(dead_letters.values())
    text = (f"The pipeline took in {w.count(received)} events standing for {w.count(represented)} requests "
            f"({w.count(sampled_out)} sampled out), dead-lettered {w.count(letters)} records, replayed "
            f"{w.count(replayed)} events from dumps and made {w.count(calls)} LLM calls "
            f"({w.count(tokens)} tokens, ${cost:.4f}).")
    item["text"] = text
    item["facts"] = ItemFacts(counts=[received, represented, sampled_out, letters, replayed, calls, tokens],
                              values=[round(cost, 4), cost])
    return item


def _dead_letters(root: Path, day: DigestDay, keys: set[str]) -> dict[str, int]:
    """Dead letters of the day's hours, or recorded in the day when they belong to no hour."""
    counts: dict[str, int] = {}
    try:
        for record in DeadLetterStore(root).records():
            partition = record.get("partition")
            if partition in keys or (partition is None and _in_day(record.get("recorded_at"), day)):
                counts[record["cause"]] = counts.get(record["cause"], 0) + 1
    except (OSError, ValueError, KeyError) as problem:
        log.warning("dead letters under %s could not all be read: %s", root, problem)
    return dict(sorted(counts.items()))


def _replayed(reports_dir: Path, keys: set[str]) -> int:
    total = 0
    for path in sorted(reports_dir.glob("*.json")) if reports_dir.exists() else ():
        try:
            by_hour = json.loads(path.read_text(encoding="utf-8")).get("by_hour") or {}
        except (OSError, ValueError) as problem:
            log.warning("replay report %s is unreadable: %s", path, problem)
            continue
        total += sum(int(n) for key, n in by_hour.items() if key in keys)
    return total


def _in_day(text: str | None, day: DigestDay) -> bool:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return False
    moment = moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    return day.start <= moment < day.end
