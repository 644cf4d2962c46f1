"""Hand-made analyst reports for the orchestrator's tests: a security analyst with two findings (one naming
a client address and accounts), an SRE analyst with one, and an efficiency analyst with nothing."""
from __future__ import annotations

from datetime import date, datetime

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import Finding, Scope
from logintel.daily.days import DigestDay
from logintel.trust.entities import KnownEntities
from logintel.trust.item_grounding import ItemFacts

DAY = DigestDay(date(2026, 3, 2))
SCOPE = Scope.whole_day(DAY)
ATTACKER_IP = "203.0.113.77"
ACCOUNTS = ["alice@example.com", "bob.smith"]
KNOWN = KnownEntities(services=frozenset({"auth", "search"}), routes=frozenset({"/login", "/search"}),
                      error_codes=frozenset({"INVALID_CREDENTIALS"}))


def stuffing() -> Finding:
    return Finding(
        agent="security", kind="credential_stuffing", key="/login", severity="critical", confidence=0.97,
        title="Credential stuffing on /login",
        text=f"Credential stuffing on /login: 1,240 failed logins from 38 addresses against 410 accounts; "
             f"{ATTACKER_IP} alone sent 800 of them.",
        entities={"routes": ["/login"], "client_ips": [ATTACKER_IP, "198.51.100.9"], "accounts": [ACCOUNTS[0]],
                  "compromised_accounts": [ACCOUNTS[1]]},
        evidence={"top_client_ip": ATTACKER_IP, "sample_accounts": list(ACCOUNTS)},
        action=f"Block {ATTACKER_IP} at the edge and force a password reset for the 410 accounts.",
        facts=ItemFacts(counts=[1240, 38, 410, 800], attributes={("client_ip", ATTACKER_IP)}),
        window=(datetime(2026, 3, 2, 2, 0), datetime(2026, 3, 2, 3, 10)), day=DAY.key)


def spraying() -> Finding:
    return Finding(
        agent="security", kind="password_spraying", key="/login-spray", severity="medium", confidence=0.8,
        title="Password spraying on /login",
        text="Password spraying on /login: 95 accounts tried with one password each.",
        entities={"routes": ["/login"]}, action="Require MFA on /login.",
        facts=ItemFacts(counts=[95]), day=DAY.key)


def burn() -> Finding:
    return Finding(
        agent="sre", kind="burn_rate_page", key="/search", severity="high", confidence=0.9,
        title="/search burns its error budget", text="/search is burning its error budget 14.4 times too fast.",
        entities={"services": ["search"], "routes": ["/search"]}, action="Page the search on-call.",
        facts=ItemFacts(values=[14.4]), day=DAY.key)


def reports(empty: tuple[str, ...] = ()) -> dict[str, AnalystReport]:
    made = {
        "security": AnalystReport("security", SCOPE, [stuffing(), spraying()], examined={"login_attempts": 9120}),
        "sre": AnalystReport("sre", SCOPE, [burn()], examined={"routes": 41}),
        "efficiency": AnalystReport("efficiency", SCOPE, [], examined={"routes": 41, "traces": 5000}),
    }
    for name in empty:
        made[name] = AnalystReport(name, SCOPE, [], examined=made[name].examined)
    return made


class Reports:
    """The `reports` callable ask() takes, remembering which analysts it was asked for."""

    def __init__(self, empty: tuple[str, ...] = ()):
        self.made = reports(empty)
        self.asked: list[str] = []

    def __call__(self, agent: str) -> AnalystReport:
        self.asked.append(agent)
        return self.made[agent]
