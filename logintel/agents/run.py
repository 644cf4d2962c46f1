"""Running the analysts as the pipeline and the CLI do: each with its rules (the rules file's section over
the defaults; a file that cannot be used leaves the defaults and says so), the SLO book for the SRE analyst,
its findings grounded; and the day's reports read back from the warehouse when a run already wrote them."""
from __future__ import annotations

import logging

import duckdb

from logintel.agents.analyst_report import AnalystReport, ground_findings
from logintel.agents.efficiency import efficiency_analyst as efficiency
from logintel.agents.efficiency.efficiency_analyst import EfficiencyRules
from logintel.agents.finding import AGENTS, Finding, Scope, ranked
from logintel.agents.rule_overrides import load_rule_sections, rules_from
from logintel.agents.security import security_analyst as security
from logintel.agents.security.security_analyst import SecurityRules
from logintel.agents.sre import sre_analyst as sre
from logintel.agents.sre.sre_rules import SreRules
from logintel.config import Settings
from logintel.daily.days import DigestDay
from logintel.daily.slo import slo_book
from logintel.store.findings import analyst_run_documents, finding_documents
from logintel.trust.entities import KnownEntities

log = logging.getLogger("logintel.agents")
DEFAULT_RULES = {"sre": SreRules(), "security": SecurityRules(), "efficiency": EfficiencyRules()}


def analyst_rules(settings: Settings, agent: str):
    """(the agent's rules, a note when the rules file could not be used)."""
    try:
        sections = load_rule_sections(settings.analyst_rules_file)
        return rules_from(DEFAULT_RULES[agent], sections.get(agent), agent), None
    except ValueError as problem:
        log.warning("%s; the %s analyst uses its defaults", problem, agent)
        return DEFAULT_RULES[agent], f"{problem}; the defaults were used"


def run_analyst(con: duckdb.DuckDBPyConnection, agent: str, scope: Scope, settings: Settings,
                known: KnownEntities | None = None) -> AnalystReport:
    """One analyst over `scope`, its findings grounded (read-only: nothing is written)."""
    if agent not in AGENTS:
        raise ValueError(f"unknown analyst {agent!r}; known: {', '.join(AGENTS)}")
    rules, note = analyst_rules(settings, agent)
    if agent == "sre":
        slos, slo_note = slo_book(settings)
        report = sre.analyse(con, scope, rules, slos)
        note = "; ".join(n for n in (note, slo_note) if n) or None
    elif agent == "security":
        report = security.analyse(con, scope, rules)
    else:
        report = efficiency.analyse(con, scope, rules)
    if note:
        report.notes.append(note)
    return ground_findings(con, report, known)


def stored_report(con: duckdb.DuckDBPyConnection, agent: str, day: DigestDay) -> AnalystReport | None:
    """The agent's report for the day as its last run wrote it, or None when none did."""
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
