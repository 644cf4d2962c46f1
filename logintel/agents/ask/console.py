"""What `logintel findings` and `logintel ask` print: the day's findings as a table or JSON, and an answer
with where it came from. Both open the warehouse read-only and work offline; a day no run has analysed yet
is analysed on the spot."""
from __future__ import annotations

import json
import sys
import time

import duckdb

from logintel.agents.ask.investigation_answer import investigation_answer
from logintel.agents.ask.orchestrator import ask
from logintel.agents.ask.routing import route
from logintel.agents.ask.window_question import asked_window, goes_to_investigation
from logintel.agents.finding import AGENTS, ranked
from logintel.agents.run import day_report
from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.daily.partition_span import check_day
from logintel.llm.call_log import CallLog
from logintel.llm.redaction.redactor import Redactor
from logintel.store.schema import has_table
from logintel.store.state_store import open_state_store
from logintel.store import warehouse_access
from logintel.trust.claim_share import NOTHING_TO_VERIFY, ClaimShare
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import attribute_lookup


class NoWarehouse(ValueError):
    pass


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    if not settings.warehouse_path.exists():
        raise NoWarehouse(f"no warehouse at {settings.warehouse_path}; run `logintel demo` or materialize the assets")
    return warehouse_access.open_warehouse(settings, read_only=True)


def latest_day(con: duckdb.DuckDBPyConnection, timezone: str) -> DigestDay:
    """The digest-zone day of the newest event (the day an operator asking "today" means)."""
    newest = con.execute("SELECT max(ts) FROM raw_events").fetchone()[0] if has_table(con, "raw_events") else None
    if newest is None:
        raise NoWarehouse("the warehouse holds no events yet; run `logintel demo` or materialize raw_events")
    return DigestDay(DigestDay(newest.date(), timezone).local(newest).date(), timezone)


def chosen_day(con: duckdb.DuckDBPyConnection, settings: Settings, text: str | None) -> DigestDay:
    """The day asked for (a ValueError naming the partitions' range when it is outside them), else the newest."""
    if not text:
        return latest_day(con, settings.digest_timezone)
    day = DigestDay.parse(text, settings.digest_timezone)
    check_day(day.day, settings.partitions_start, settings.digest_timezone)
    return day


def findings_output(settings: Settings, day_text: str | None, agent: str | None, as_json: bool,
                    refresh: bool = False) -> str:
    con = open_warehouse(settings)
    try:
        day = chosen_day(con, settings, day_text)
        agents = [agent] if agent else list(AGENTS)
        reports = [day_report(con, a, day, settings, refresh) for a in agents]
    finally:
        con.close()
    findings = ranked([f for r in reports for f in r.findings])
    if as_json:
        return json.dumps([f.to_dict() for f in findings], indent=2, default=str)
    lines = [f"Findings · {day.key} ({day.timezone})", ""]
    lines += [r.summary() + (f" Notes: {'; '.join(r.notes)}" if r.notes else "") for r in reports] + [""]
    for f in findings:
        check = {True: "grounded", False: "UNVERIFIED", None: NOTHING_TO_VERIFY}[(f.grounding or {}).get("grounded")]
        lines += [f"[{f.severity}] {f.agent}/{f.kind}  {f.finding_id}  confidence {f.confidence:.2f}  ({check})",
                  f"    {f.text}", f"    next: {f.action}" if f.action else "", ""]
    return "\n".join(line for line in lines if line is not None).rstrip() + "\n"


def ask_output(settings: Settings, question: str, day_text: str | None, as_json: bool) -> str:
    if not question.strip():
        raise ValueError("ask needs a question, e.g. logintel ask \"are we under attack?\"")
    started = time.perf_counter()
    calls = CallLog()
    con = open_warehouse(settings)
    try:
        day = chosen_day(con, settings, day_text)
        window = asked_window(question, day.day, settings.digest_timezone)
        if goes_to_investigation(window, route(question)):
            answer = investigation_answer(con, question, window)
        else:
            answer = ask(question, lambda agent: day_report(con, agent, day, settings), gateway_config=settings.llm,
                         calls=calls, redactor=Redactor(settings.redaction_secret),
                         known=KnownEntities.from_warehouse(con), day=day.day,
                         exists=attribute_lookup(con, day.start, day.end))
    finally:
        con.close()
    _record(calls, settings)
    answer = {**answer, "date": day.key, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
    if as_json:
        return json.dumps(answer, indent=2, default=str)
    grounding = answer["grounding"]
    if "investigation" in answer:
        return _investigation_output(answer, day.key)
    share = ClaimShare(claims=grounding.get("claims", 0), grounded=grounding.get("grounded", 0))
    return (f"{answer['answer']}\n\n— routed to {', '.join(answer['routed_to'])}; {len(answer['findings'])} "
            f"finding(s) cited; {share.describe()}; written by {grounding['writer']}; {day.key}\n")


def _record(calls: CallLog, settings: Settings) -> None:
    """The question's LLM calls into the call log (asset `ask`, no partition: the digest counts them on the day they
    ran). The state store is not the warehouse, so a question needs no write lock; a store that cannot be written
    costs the record, never the answer."""
    try:
        calls.write_to(open_state_store(settings), asset="ask")
    except Exception as problem:  # noqa: BLE001 - the answer is already computed and must reach the user
        print(f"warning: the LLM calls of this question were not recorded: {type(problem).__name__}: {problem}",
              file=sys.stderr)


def _investigation_output(answer: dict, day_key: str) -> str:
    found = answer["investigation"]
    ranked = [f"  {c['rank']}. {c['service']} ({c['kind']}, z {c['score']}{'' if c['changed'] else ', a hint'})"
              for c in found["candidates"][:5]]
    check = {True: "grounded", False: "UNVERIFIED", None: NOTHING_TO_VERIFY}[answer["grounding"].get("grounded")]
    return "\n".join([answer["answer"], ""] + ranked + [
        "", f"— investigated {found['window']['start'][:16]}–{found['window']['end'][11:16]} UTC against "
            f"{found['baseline']['source']}; {check}; written by {answer['grounding']['writer']}; {day_key}"]) + "\n"
