"""The security analyst: login attacks in the scope's events (credential stuffing, password spraying, brute
force, account enumeration) by Elastic-grade rules per source address, and sources whose login failure
rate departs from the scope's that no rule names.

An attempt is a POST to a login-like route or an event an adapter marked with auth.outcome; it failed on
401/403/429, auth.outcome=failure or a credential error code. Rules count failures per source address in
hopping windows (a window hops by half its length); defaults, after elastic/detection-rules:

    credential_stuffing   15 min: >= 25 failures on >= 15 accounts, <= 2 per account on average and
                          >= 80% of the accounts failed at most twice (Okta credential stuffing, one IP)
    password_spraying     60 min: >= 15 failures on >= 5 accounts, more than 2 and at most 8 per account on
                          average, >= 60% of the accounts failed 2-6 times, over >= 5 min (Okta spray, one IP)
    brute_force           5 min: >= 30 failures on at most 3 accounts (Sigma generic brute force: > 30)
    account_enumeration   15 min: >= 10 distinct unknown accounts making >= 50% of the failures, or
                          >= 30 unknown-account failures making >= 90% of them where names are not logged
    failure_rate_anomaly  the scope: an address or user agent with >= 20 failures, a failure rate >= 3x the
                          scope's and a binomial p < 1e-6 against it, that no rule above already names

Stuffing, spraying and brute force need unknown accounts to be under half the failures (above, it is
enumeration). Addresses that cross the same rule in overlapping windows with the same user agent are one
finding (a campaign) listing every address. Severity: critical when an attempt from those addresses
succeeded (the accounts are named), high for stuffing or brute force at twice the rule, medium otherwise."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import duckdb
from scipy.stats import binom

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.analyst_spec import Analyst
from logintel.agents.finding import Finding, Scope
from logintel.agents.security import login_queries as q
from logintel.agents.security.login_rules import WINDOWS, Span, campaigns, rule_spans
from logintel.agents.security.security_rules import SecurityRules
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

AGENT = "security"
COMPROMISED_LISTED = 10  # accounts an action names; the rest it counts ("and 56 more"), a count its facts hold
DESCRIPTION = (
    "The security analyst answers who is attacking the logins: credential stuffing (many accounts, one or two "
    "tries each, from a few addresses or a scripted user agent), password spraying (a few tries on each of many "
    "accounts, slowly), brute force (many guesses at one account), account enumeration (probing usernames that "
    "do not exist), and suspicious IP addresses or user agents whose login failure rate is far above the rest. "
    "It names the offending addresses, the accounts targeted and any that were compromised, and what to block "
    "or reset.")


def analyse(con: duckdb.DuckDBPyConnection, scope: Scope, rules: SecurityRules = SecurityRules()) -> AnalystReport:
    """The scope's login attacks and anomalous sources, ungrounded (the caller calls `ground_findings`)."""
    report = AnalystReport(AGENT, scope)
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw_events'").fetchone()[0]:
        report.notes.append("no raw_events table: nothing to examine")
        return report
    rates = q.failure_rates(con, scope.start, scope.end, rules.anomaly_min_failures)
    overall = next(r for r in rates if r["dimension"] == "scope")
    report.examined = {"login_attempts": int(overall["attempts"] or 0), "addresses": int(overall["addresses"]),
                       "accounts": int(overall["accounts"])}
    if not overall["attempts"]:
        return report

    spans = rule_spans(con, scope, rules)
    figures = q.span_figures(con, scope.start, scope.end, [(s.address, s.first, s.last) for s in spans])
    findings: list[Finding] = []
    for kind in WINDOWS:
        mine = [(s, f) for s, f in zip(spans, figures) if s.kind == kind and f]
        for members in campaigns(mine, timedelta(minutes=WINDOWS[kind](rules))):
            findings.append(_rule_finding(kind, members, scope, rules))
    findings += _anomalies(rates, overall, findings, scope, rules)
    keys: dict[tuple[str, str], int] = defaultdict(int)
    for finding in findings:  # two bursts from one address in a scope are two findings
        keys[(finding.kind, finding.key)] += 1
        if keys[(finding.kind, finding.key)] > 1:
            finding.key = f"{finding.key}#{keys[(finding.kind, finding.key)]}"
    report.findings = findings
    return report


ANALYST = Analyst(AGENT, DESCRIPTION, SecurityRules, analyse)


# --- findings ------------------------------------------------------------------------------------------

_TITLES = {"credential_stuffing": "Credential stuffing", "password_spraying": "Password spraying",
           "brute_force": "Brute force", "account_enumeration": "Account enumeration"}
_THRESHOLDS = {
    "credential_stuffing": ("stuffing_window_minutes", "stuffing_failures", "stuffing_accounts",
                            "stuffing_max_per_account", "stuffing_low_share"),
    "password_spraying": ("spraying_window_minutes", "spraying_failures", "spraying_accounts",
                          "spraying_min_per_account", "spraying_max_per_account", "spraying_band_share",
                          "spraying_min_minutes"),
    "brute_force": ("brute_force_window_minutes", "brute_force_failures", "brute_force_max_accounts"),
    "account_enumeration": ("enumeration_window_minutes", "enumeration_unknown_accounts",
                            "enumeration_unknown_share", "enumeration_unnamed_failures", "enumeration_unnamed_share"),
}


# A campaign's finding in three steps: its figures, how bad it is, and the words that say so.

@dataclass(frozen=True)
class Campaign:
    """A rule's campaign, its figures summed over its addresses (most attempts first)."""
    kind: str
    addresses: list[str]
    first: datetime
    last: datetime
    attempts: float
    failures: float
    successes: float
    unknown: float                 # failures on unknown accounts
    unknown_accounts: int          # distinct unknown usernames (none where names are not logged)
    accounts: list[str]
    compromised: list[str]         # accounts an attempt from these addresses got into
    agents: list[str]              # user agents, most attempts first
    target: str                    # the route of the address with the most attempts
    targets: list[str]
    margin: float                  # the best window's margin over the rule
    per_address: dict[str, dict]

    @property
    def success_ratio(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0

    @property
    def per_account(self) -> float:
        return self.failures / len(self.accounts) if self.accounts else 0.0


class Wording(NamedTuple):
    title: str
    text: str
    action: str
    facts: ItemFacts


def campaign_figures(kind: str, members: list[tuple[Span, dict]]) -> Campaign:
    """Step 1: the campaign's figures over its members' (span, figures) pairs."""
    members = sorted(members, key=lambda m: (-m[1]["attempts"], m[0].address))
    figs = [fig for _, fig in members]
    agents: dict[str, float] = defaultdict(float)
    for fig in figs:
        for agent, n in (fig.get("user_agents") or {}).items():
            agents[agent] += n
    return Campaign(
        kind=kind, addresses=[span.address for span, _ in members],
        first=min(fig["first"] for fig in figs), last=max(fig["last"] for fig in figs),
        attempts=sum(fig["attempts"] for fig in figs), failures=sum(fig["failures"] for fig in figs),
        successes=sum(fig["successes"] for fig in figs), unknown=sum(fig["unknown_failures"] for fig in figs),
        unknown_accounts=len({a for fig in figs for a in fig["unknown_names"] or []}),
        accounts=sorted({a for fig in figs for a in fig["account_names"] or []}),
        compromised=sorted({a for fig in figs for a in fig["compromised"] or []}),
        agents=sorted(agents, key=lambda a: (-agents[a], a)),
        target=max(((fig["target"], fig["attempts"]) for fig in figs), key=lambda t: t[1])[0],
        targets=sorted({fig["target"] for fig in figs}),
        margin=max(span.margin for span, _ in members),
        per_address={span.address: _address_figures(fig) for span, fig in members})


def _address_figures(fig: dict) -> dict:
    return {"attempts": fig["attempts"], "failures": fig["failures"], "successes": fig["successes"],
            "unknown_account_failures": fig["unknown_failures"], "accounts_targeted": fig["accounts"],
            # real sshd/PAM lines often name no account (pam_unix without user=, "Failed none for  from")
            "failures_without_account": fig.get("unnamed_failures", 0),
            "success_ratio": round(fig["successes"] / fig["attempts"], 4) if fig["attempts"] else 0.0,
            "first_seen": fig["first"].isoformat(), "last_seen": fig["last"].isoformat(),
            "user_agents": dict(fig.get("user_agents") or {})}


def campaign_severity(c: Campaign, rules: SecurityRules) -> tuple[str, float]:
    """Step 2: (severity, confidence). Critical once an attempt got in; high for stuffing or brute force at
    `high_volume_factor` times the rule's failures (spraying and enumeration are slow by nature)."""
    volume_rule = {"credential_stuffing": rules.stuffing_failures, "brute_force": rules.brute_force_failures}
    if c.compromised:
        severity = "critical"
    elif c.kind in volume_rule and c.failures >= rules.high_volume_factor * volume_rule[c.kind]:
        severity = "high"
    else:
        severity = "medium"
    return severity, _confidence(c.margin)


def campaign_wording(c: Campaign, scope: Scope) -> Wording:
    """Step 3: the title, the sentence, the action and the facts the sentence may state."""
    local_first, local_last = scope.day.local(c.first), scope.day.local(c.last)
    sources = f"from {c.addresses[0]}" if len(c.addresses) == 1 else f"from {w.count(len(c.addresses))} addresses"
    # As a field=value pair the facts name: a user agent's version numbers are its name, not figures.
    agent = f' (user_agent="{c.agents[0]}")' if c.agents else ""
    got_in = (f"{w.percent(c.success_ratio)} succeeded — {w.count(len(c.compromised))} account"
              f"{'s' if len(c.compromised) != 1 else ''} may be compromised" if c.compromised else "none succeeded")
    text = (f"{_TITLES[c.kind]} on {c.target} {_when(scope, local_first, local_last)}: "
            f"{_SENTENCES[c.kind](c, sources + agent, got_in)}.")
    unlisted = max(len(c.compromised) - COMPROMISED_LISTED, 0)  # the action's "and 56 more"
    facts = ItemFacts(counts=[float(x) for x in (c.attempts, c.failures, c.successes, c.unknown, len(c.accounts),
                                                 len(c.addresses), len(c.compromised), c.unknown_accounts)]
                      + ([float(unlisted)] if unlisted else []),
                      percents=[c.success_ratio * 100, (c.unknown / c.failures * 100) if c.failures else 0.0],
                      values=[round(c.per_account, 1)], windows=[(local_first, local_last)],
                      attributes={("user_agent", c.agents[0])} if c.agents else set())
    return Wording(f"{_TITLES[c.kind]} from {sources[5:]}", text,
                   _action(c.kind, c.addresses, c.agents, c.compromised), facts)


def _stuffing_sentence(c: Campaign, by: str, got_in: str) -> str:
    return f"{w.count(c.attempts)} attempts against {w.count(len(c.accounts))} accounts {by}, {got_in}"


def _spraying_sentence(c: Campaign, by: str, got_in: str) -> str:
    return (f"{w.count(c.failures)} failed attempts against {w.count(len(c.accounts))} accounts, "
            f"{c.per_account:.1f} per account, {by}; {got_in}")


def _brute_force_sentence(c: Campaign, by: str, got_in: str) -> str:
    return (f"{w.count(c.failures)} failed attempts {by} against {w.count(len(c.accounts))} "
            f"account{'s' if len(c.accounts) != 1 else ''}; {got_in}")


def _enumeration_sentence(c: Campaign, by: str, got_in: str) -> str:
    named = f"{w.count(c.unknown_accounts)} unknown usernames" if c.unknown_accounts else \
        f"{w.count(c.unknown)} attempts on unknown accounts"
    return (f"{named} among {w.count(c.attempts)} attempts {by}; "
            f"{w.percent(c.unknown / c.failures if c.failures else 0.0)} of the failures were unknown accounts; "
            f"{got_in}")


_SENTENCES = {"credential_stuffing": _stuffing_sentence, "password_spraying": _spraying_sentence,
              "brute_force": _brute_force_sentence, "account_enumeration": _enumeration_sentence}


def _rule_finding(kind: str, members: list[tuple[Span, dict]], scope: Scope, rules: SecurityRules) -> Finding:
    campaign = campaign_figures(kind, members)
    severity, confidence = campaign_severity(campaign, rules)
    words = campaign_wording(campaign, scope)
    listed = campaign.accounts[:rules.accounts_listed]
    return Finding(
        agent=AGENT, kind=kind, key=sorted(campaign.addresses)[0], title=words.title, text=words.text,
        severity=severity, confidence=confidence,
        entities={"client_ips": campaign.addresses, "accounts": listed, "compromised_accounts": campaign.compromised,
                  "user_agents": campaign.agents, "targets": campaign.targets},
        evidence=_rule_evidence(campaign, rules, len(listed)),
        action=words.action, facts=words.facts, window=(campaign.first, campaign.last), day=scope.day.key)


def _rule_evidence(c: Campaign, rules: SecurityRules, listed: int) -> dict:
    return {"rule": c.kind, "thresholds": {name: getattr(rules, name) for name in _THRESHOLDS[c.kind]},
            "margin": round(c.margin, 3), "attempts": c.attempts, "failures": c.failures, "successes": c.successes,
            "success_ratio": round(c.success_ratio, 4), "unknown_account_failures": c.unknown,
            "accounts_targeted": len(c.accounts), "unknown_accounts": c.unknown_accounts,
            "accounts_listed": listed, "addresses": len(c.addresses),
            "first_seen": c.first.isoformat(), "last_seen": c.last.isoformat(), "per_address": c.per_address}


def _when(scope: Scope, first: datetime, last: datetime) -> str:
    """"from 02:06 to 02:26" (local times), with the date where it is not the scope's day."""
    return w.window(first, last, scope.day.day)


def _confidence(margin: float) -> float:
    """0.5 at the rule's edge, 0.75 at twice it, towards 1 beyond."""
    return 0.5 + 0.5 * (1.0 - 1.0 / max(margin, 1.0))


def _action(kind: str, addresses: list[str], agents: list[str], compromised: list[str]) -> str:
    them = "the address" if len(addresses) == 1 else f"the {len(addresses)} addresses"
    steps = [f"Block or rate-limit {them} at the edge"]
    if kind == "credential_stuffing":
        steps.append("challenge logins from the user agent" + (f" {agents[0]}" if agents else "")
                     + " (CAPTCHA or MFA) and check the targeted accounts against breached-password lists")
    elif kind == "password_spraying":
        steps.append("require MFA or a CAPTCHA after repeated failures per account and check the targeted "
                     "accounts for weak passwords")
    elif kind == "brute_force":
        steps.append("lock or step up (MFA) the targeted account and throttle failures per account")
    else:
        steps.append("answer unknown usernames exactly as wrong passwords (same status, message and timing)")
    if compromised:
        steps.append(f"force a password reset and revoke the sessions of {', '.join(compromised[:COMPROMISED_LISTED])}"
                     + (f" and {len(compromised) - COMPROMISED_LISTED} more" if len(compromised) > COMPROMISED_LISTED
                        else ""))
    return "; ".join(steps) + "."


# --- sources no rule names -----------------------------------------------------------------------------

def _anomalies(rates: list[dict], overall: dict, findings: list[Finding], scope: Scope,
               rules: SecurityRules) -> list[Finding]:
    baseline = overall["failures"] / overall["attempts"]
    covered_ips = {ip for f in findings for ip in f.entities.get("client_ips", [])}
    covered_agents = {a for f in findings for a in f.entities.get("user_agents", [])}
    found = []
    # Addresses first: a user agent seen from one address already reported is that address's finding.
    for row in sorted(rates, key=lambda r: r["dimension"] != "client_ip"):
        if row["dimension"] == "scope" or row["failures"] < rules.anomaly_min_failures:
            continue
        if row["value"] in (covered_ips if row["dimension"] == "client_ip" else covered_agents):
            continue
        if row["dimension"] == "user_agent" and row["addresses"] == 1 and row["lowest_address"] in covered_ips:
            continue
        attempts, failures = int(round(row["attempts"])), int(round(row["failures"]))
        rate = failures / attempts
        if baseline <= 0 or rate < rules.anomaly_min_ratio * baseline:
            continue
        p = float(binom.sf(failures - 1, attempts, baseline))
        if p >= rules.anomaly_max_p:
            continue
        first, last = scope.day.local(row["first"]), scope.day.local(row["last"])
        source = row["value"] if row["dimension"] == "client_ip" else f'user_agent="{row["value"]}"'
        text = (f"Login failures from {source} ran at {w.percent(rate)} against {w.percent(baseline)} for all "
                f"logins: {w.count(failures)} of {w.count(attempts)} attempts {_when(scope, first, last)}, which no "
                "attack rule explains.")
        entities = {"client_ips": [row["value"]]} if row["dimension"] == "client_ip" else {"user_agents": [row["value"]]}
        found.append(Finding(
            agent=AGENT, kind="failure_rate_anomaly", key=f"{row['dimension']}:{row['value']}",
            title=f"Unusual login failure rate from {source}", text=text, severity="medium",
            confidence=0.5 + 0.5 * min(1.0, -math.log10(max(p, 1e-300)) / 20.0), entities=entities,
            evidence={"rule": "failure_rate_anomaly", "dimension": row["dimension"], "attempts": attempts, "failures": failures,
                      "successes": row["successes"], "failure_rate": round(rate, 4),
                      "baseline_failure_rate": round(baseline, 4), "p_value": p, "accounts": row["accounts"],
                      "addresses": row["addresses"], "first_seen": row["first"].isoformat(),
                      "last_seen": row["last"].isoformat(),
                      "thresholds": {"anomaly_min_failures": rules.anomaly_min_failures,
                                     "anomaly_max_p": rules.anomaly_max_p,
                                     "anomaly_min_ratio": rules.anomaly_min_ratio}},
            action=(f"Look at what {source} sends and rate-limit it at the edge unless it is a known client "
                    "(a monitor, a partner's integration)."),
            facts=ItemFacts(counts=[float(failures), float(attempts)], percents=[rate * 100, baseline * 100],
                            windows=[(first, last)],
                            attributes={("user_agent", row["value"])} if row["dimension"] == "user_agent" else set()),
            window=(row["first"], row["last"]), day=scope.day.key))
        if row["dimension"] == "client_ip":
            covered_ips.add(row["value"])
    return found
