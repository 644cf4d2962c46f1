"""Running the analysts as the pipeline and the CLI do: each, found in the registry, with its rules (the rules
file's section over the defaults; a file that cannot be used leaves the defaults and says so), the SLO book
for an analyst that burns error budgets, its findings grounded; and the day's reports read back from the
warehouse when a run already wrote them."""
from __future__ import annotations

import logging

import duckdb

from logintel.agents import registry
from logintel.agents.analyst_report import AnalystReport, ground_findings
from logintel.agents.finding import Finding, Scope, ranked
from logintel.agents.rule_overrides import load_rule_sections, rules_from
from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.daily.slo import slo_book
from logintel.store.findings import analyst_run_documents, finding_documents
from logintel.trust.entities import KnownEntities

log = logging.getLogger("logintel.agents")


def analyst_rules(settings: Settings, agent: str):
    """(the agent's rules, a note when the rules file could not be used)."""
    defaults = registry.known_analyst(agent).rules()
    try:
        sections = load_rule_sections(settings.analyst_rules_file, tuple(registry.ANALYSTS))
        return rules_from(defaults, sections.get(agent), agent), None
    except ValueError as problem:
        log.warning("%s; the %s analyst uses its defaults", problem, agent)
        return defaults, f"{problem}; the defaults were used"


def run_analyst(con: duckdb.DuckDBPyConnection, agent: str, scope: Scope, settings: Settings,
                known: KnownEntities | None = None) -> AnalystReport:
    """One analyst over `scope`, its findings grounded (read-only: nothing is written)."""
    analyst = registry.known_analyst(agent)
    rules, note = analyst_rules(settings, agent)
    if analyst.takes_slos:
        slos, slo_note = slo_book(settings)
        report = analyst.analyse(con, scope, rules, slos)
        note = "; ".join(n for n in (note, slo_note) if n) or None
    else:
        report = analyst.analyse(con, scope, rules)
    if note:
        report.notes.append(note)
    return ground_findings(con, report, known)


def stored_report(con: duckdb.DuckDBPyConnection, agent: str, day: DigestDay) -> AnalystReport | None:
    """The agent's report for the day as its last run wrote it, or None when none did."""
    registry.known_analyst(agent)
    run = analyst_run_documents(con, day.key).get(agent)
    if run is None:
        return None
    findings = ranked([Finding.from_dict(d) for d in finding_documents(con, day.key, agent)])
    return AnalystReport(agent, Scope.whole_day(day), findings, examined=run.get("examined") or {},
                         notes=list(run.get("notes") or []))


def day_report(con: duckdb.DuckDBPyConnection, agent: str, day: DigestDay, settings: Settings,
               refresh: bool = False) -> AnalystReport:
    """The day's report: the stored one when a run wrote it (unless `refresh`), else computed now."""
    stored = None if refresh else stored_report(con, agent, day)
    return stored if stored is not None else run_analyst(con, agent, Scope.whole_day(day), settings)
