"""Writing one day's digest end to end: the facts, the worded and grounded document, its charts, the
md/json/html files, the history row, and delivery to the webhook when one is configured (a delivery
that fails stays in the outbox for the next run; it never fails the digest)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.daily.slo import slo_book
from logintel.digest.charts import digest_charts, history_chart
from logintel.digest.compose import compose_digest
from logintel.digest.delivery import deliver_pending, enqueue, slack_message
from logintel.digest.facts import gather_facts
from logintel.digest.history import digest_history, record_digest
from logintel.digest.render import to_markdown, write_digest
from logintel.llm.gateway import LLMGateway
from logintel.store.state_store import open_state_store

log = logging.getLogger("logintel.digest")


@dataclass
class WrittenDigest:
    document: dict
    paths: dict
    markdown: str
    history_png: bytes
    delivery: dict | None = None
    notes: list[str] = field(default_factory=list)


def write_daily_digest(con: duckdb.DuckDBPyConnection, day: DigestDay, settings: Settings,
                       gateway: LLMGateway) -> WrittenDigest:
    """Compose, render, record and (when configured) deliver the digest of `day`; `daily_route_metrics`
    must already hold the day."""
    slos, slo_problem = slo_book(settings)
    state = open_state_store(settings)
    facts = gather_facts(con, day, slos, dead_letter_dir=settings.dead_letter_dir, dumps_dir=settings.dumps_dir,
                         state=state)
    if slo_problem:
        facts.notes.append(slo_problem)
    document = compose_digest(con, facts, gateway)
    document["slo_file"] = slos.source
    paths = write_digest(document, digest_charts(document), settings.digests_dir)
    record_digest(state, document)
    written = WrittenDigest(document, paths, to_markdown(document), history_chart(digest_history(state)),
                            notes=list(facts.notes))
    if settings.digest_webhook_url:
        written.delivery = deliver(settings, "digest", day.key, f"Daily digest · {day.key}", written.markdown,
                                   paths["markdown_path"])
    return written


def deliver(settings: Settings, kind: str, key: str, title: str, markdown: str, path: str | Path) -> dict:
    """Queue the message and send what the outbox holds; the outcome, never an exception."""
    enqueue(settings.deliveries_dir, kind, key, slack_message(title, markdown, str(path)))
    return deliver_pending(settings.deliveries_dir, settings.digest_webhook_url)
