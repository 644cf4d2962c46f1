"""What the registry knows of one analyst: its name, what it answers, its rules type and its `analyse`.
Each analyst package declares its own (an `ANALYST` constant) so that adding one touches no dispatch code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from logintel.agents.analyst_report import AnalystReport


@dataclass(frozen=True)
class Analyst:
    name: str                 # one of finding.AGENTS, and the section of the rules file it reads
    description: str          # what it answers, in a sentence or three
    rules: type               # a frozen dataclass of defaults, overridable by the rules file's section
    # analyse(con, scope, rules) -> AnalystReport, plus the SLO book last when `takes_slos`
    analyse: Callable[..., AnalystReport]
    takes_slos: bool = False  # burns error budgets: run.py loads the SLO file (LOGINTEL_SLO_FILE) for it
