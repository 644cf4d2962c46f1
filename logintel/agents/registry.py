"""Every analyst by name, as the pipeline, the CLI and `ask` run them. A new analyst is its own package
exposing an `ANALYST` and one line here (its name goes in finding.AGENTS too: a test holds them equal)."""
from __future__ import annotations

from logintel.agents.analyst_spec import Analyst
from logintel.agents.efficiency.efficiency_analyst import ANALYST as EFFICIENCY
from logintel.agents.security.security_analyst import ANALYST as SECURITY
from logintel.agents.sre.sre_analyst import ANALYST as SRE

__all__ = ["ANALYSTS", "Analyst", "known_analyst"]

ANALYSTS: dict[str, Analyst] = {analyst.name: analyst for analyst in (SRE, SECURITY, EFFICIENCY)}


def known_analyst(name: str) -> Analyst:
    """The registered analyst called `name`; a ValueError naming the known ones otherwise."""
    try:
        return ANALYSTS[name]
    except KeyError:
        raise ValueError(f"unknown analyst {name!r}; known: {', '.join(ANALYSTS)}") from None
