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

import duckdb
from scipy.stats import binom

from logintel.agents.analyst_report import AnalystReport
from logintel.agents.finding import Finding, Scope
from logintel.agents.security import login_queries as q
from logintel.trust import wording as w
from logintel.trust.item_grounding import ItemFacts

AGENT = "security"
DESCRIPTION = (
    "The security analyst answers who is attacking the logins: credential stuffing (many accounts, one or two "
    "tries each, from a few addresses or a scripted user agent), password spraying (a few tries on each of many "
    "accounts, slowly), brute force (many guesses at one account), account enumeration (probing usernames that "
    "do not exist), and suspicious IP addresses or user agents whose login failure rate is far above the rest. "
    "It names the offending addresses, the accounts targeted and any that were compromised, and what to block "
    "or reset.")


@dataclass(frozen=True)
class SecurityRules:
    stuffing_window_minutes: int = 15
    stuffing_failures: int = 25
    stuffing_accounts: int = 15
    stuffing_max_per_account: float = 2.0      # mean failures per account, at most
    stuffing_low_share: float = 0.8            # of the accounts failed at most twice, at least
    spraying_window_minutes: int = 60
    spraying_failures: int = 15
    spraying_accounts: int = 5
    spraying_min_per_account: float = 2.0      # mean failures per account, above (at 2 or less: stuffing)
    spraying_max_per_account: float = 8.0
    spraying_band_share: float = 0.6           # of the accounts failed 2-6 times, at least
    spraying_min_minutes: int = 5
    brute_force_window_minutes: int = 5
    brute_force_failures: int = 30
    brute_force_max_accounts: int = 3
    enumeration_window_minutes: int = 15
    enumeration_unknown_accounts: int = 10
    enumeration_unknown_share: float = 0.5     # also the share under which the other rules apply
    enumeration_unnamed_failures: int = 30
    enumeration_unnamed_share: float = 0.9
    anomaly_min_failures: int = 20
    anomaly_max_p: float = 1e-6
    anomaly_min_ratio: float = 3.0
    high_volume_factor: float = 2.0            # stuffing or brute force at this many times the rule: high
    accounts_listed: int = 50


@dataclass
class _Span:
    kind: str
    address: str
    first: datetime
    last: datetime
    margin: float  # the best window's smallest figure-over-threshold ratio


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

    spans = _rule_spans(con, scope, rules)
    figures = q.span_figures(con, scope.start, scope.end, [(s.address, s.first, s.last) for s in spans])
    findings: list[Finding] = []
    for kind in _WINDOWS:
        mine = [(s, f) for s, f in zip(spans, figures) if s.kind == kind and f]
        for campaign in _campaigns(mine, timedelta(minutes=_WINDOWS[kind](rules))):
            findings.append(_rule_finding(kind, campaign, scope, rules))
    findings += _anomalies(rates, overall, findings, scope, rules)
    keys: dict[tuple[str, str], int] = defaultdict(int)
    for finding in findings:  # two bursts from one address in a scope are two findings
        keys[(finding.kind, finding.key)] += 1
        if keys[(finding.kind, finding.key)] > 1:
            finding.key = f"{finding.key}#{keys[(finding.kind, finding.key)]}"
    report.findings = findings
    return report


# --- the rules over windows ----------------------------------------------------------------------------

_WINDOWS = {
    "credential_stuffing": lambda r: r.stuffing_window_minutes,
    "password_spraying": lambda r: r.spraying_window_minutes,
    "brute_force": lambda r: r.brute_force_window_minutes,
    "account_enumeration": lambda r: r.enumeration_window_minutes,
}


def _unknown_share(row: dict) -> float:
    return row["unknown_failures"] / row["failures"] if row["failures"] else 0.0


def _per_account(row: dict) -> float:
    return row["named_failures"] / row["failed_accounts"] if row["failed_accounts"] else math.inf


def _stuffing(row: dict, r: SecurityRules) -> float | None:
    accounts = row["failed_accounts"]
    if (row["failures"] >= r.stuffing_failures and accounts >= r.stuffing_accounts
            and _per_account(row) <= r.stuffing_max_per_account
            and row["accounts_at_most_two"] >= r.stuffing_low_share * accounts
            and _unknown_share(row) < r.enumeration_unknown_share):
        return min(row["failures"] / r.stuffing_failures, accounts / r.stuffing_accounts)
    return None


def _spraying(row: dict, r: SecurityRules) -> float | None:
    accounts = row["failed_accounts"]
    if (row["failures"] >= r.spraying_failures and accounts >= r.spraying_accounts
            and r.spraying_min_per_account < _per_account(row) <= r.spraying_max_per_account
            and row["accounts_two_to_six"] >= r.spraying_band_share * accounts
            and row["last"] - row["first"] >= timedelta(minutes=r.spraying_min_minutes)
            and _unknown_share(row) < r.enumeration_unknown_share):
        return min(row["failures"] / r.spraying_failures, accounts / r.spraying_accounts)
    return None


def _brute_force(row: dict, r: SecurityRules) -> float | None:
    if (row["failures"] >= r.brute_force_failures and row["failed_accounts"] <= r.brute_force_max_accounts
            and _unknown_share(row) < r.enumeration_unknown_share):
        return row["failures"] / r.brute_force_failures
    return None


def _enumeration(row: dict, r: SecurityRules) -> float | None:
    share = _unknown_share(row)
    if row["unknown_accounts"] >= r.enumeration_unknown_accounts and share >= r.enumeration_unknown_share:
        return row["unknown_accounts"] / r.enumeration_unknown_accounts
    if row["unknown_failures"] >= r.enumeration_unnamed_failures and share >= r.enumeration_unnamed_share:
        return row["unknown_failures"] / r.enumeration_unnamed_failures
    return None


_RULES = {"credential_stuffing": _stuffing, "password_spraying": _spraying, "brute_force": _brute_force,
          "account_enumeration": _enumeration}
_FLOORS = {  # the fewest failures a window needs for the rule to have a chance: what the query keeps
    "credential_stuffing": lambda r: r.stuffing_failures,
    "password_spraying": lambda r: r.spraying_failures,
    "brute_force": lambda r: r.brute_force_failures,
    "account_enumeration": lambda r: min(r.enumeration_unknown_accounts, r.enumeration_unnamed_failures),
}


def _rule_spans(con, scope: Scope, rules: SecurityRules) -> list[_Span]:
    """Per rule, each address's runs of crossing windows (overlapping or touching ones merged), over the
    attempts' own first and last times. One window query per window length, shared by the rules using it."""
    by_length: dict[int, list[str]] = defaultdict(list)
    for kind, minutes in _WINDOWS.items():
        by_length[minutes(rules)].append(kind)
    spans: list[_Span] = []
    for minutes, kinds in by_length.items():
        floor = min(_FLOORS[k](rules) for k in kinds)
        rows = q.window_counts(con, scope.start, scope.end, minutes, floor)
        for kind in kinds:
            current: _Span | None = None
            for row in rows:  # ordered by address, then window
                margin = _RULES[kind](row, rules)
                if margin is None:
                    continue
                touching = current and current.address == row["client_ip"] \
                    and row["first"] <= current.last + timedelta(minutes=minutes)
                if touching:
                    current.first, current.last = min(current.first, row["first"]), max(current.last, row["last"])
                    current.margin = max(current.margin, margin)
                    continue
                current = _Span(kind, row["client_ip"], row["first"], row["last"], margin)
                spans.append(current)
    return spans


def _campaigns(spans: list[tuple[_Span, dict]], slack: timedelta) -> list[list[tuple[_Span, dict]]]:
    """Addresses with the same leading user agent whose spans overlap (within a window) are one campaign."""
    by_agent: dict[str | None, list] = defaultdict(list)
    for span, fig in spans:
        agents = fig.get("user_agents") or {}
        by_agent[next(iter(agents), None)].append((span, fig))
    campaigns = []
    for members in by_agent.values():
        members.sort(key=lambda m: (m[0].first, m[0].address))
        group, last = [], None
        for member in members:
            if group and member[0].first > last + slack:
                campaigns.append(group)
                group = []
            last = member[0].last if not group else max(last, member[0].last)
            group.append(member)
        if group:
            campaigns.append(group)
    return campaigns


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


def _rule_finding(kind: str, campaign: list[tuple[_Span, dict]], scope: Scope, rules: SecurityRules) -> Finding:
    campaign = sorted(campaign, key=lambda m: (-m[1]["attempts"], m[0].address))
    addresses = [span.address for span, _ in campaign]
    first = min(fig["first"] for _, fig in campaign)
    last = max(fig["last"] for _, fig in campaign)
    attempts = sum(fig["attempts"] for _, fig in campaign)
    failures = sum(fig["failures"] for _, fig in campaign)
    successes = sum(fig["successes"] for _, fig in campaign)
    unknown = sum(fig["unknown_failures"] for _, fig in campaign)
    accounts = sorted({a for _, fig in campaign for a in fig["account_names"] or []})
    compromised = sorted({a for _, fig in campaign for a in fig["compromised"] or []})
    agents: dict[str, float] = defaultdict(float)
    for _, fig in campaign:
        for agent, n in (fig.get("user_agents") or {}).items():
            agents[agent] += n
    agents_ranked = sorted(agents, key=lambda a: (-agents[a], a))
    target = max(((fig["target"], fig["attempts"]) for _, fig in campaign), key=lambda t: t[1])[0]
    margin = max(span.margin for span, _ in campaign)
    ratio = successes / attempts if attempts else 0.0
    per_address = {span.address: {
        "attempts": fig["attempts"], "failures": fig["failures"], "successes": fig["successes"],
        "unknown_account_failures": fig["unknown_failures"], "accounts_targeted": fig["accounts"],
        "success_ratio": round(fig["successes"] / fig["attempts"], 4) if fig["attempts"] else 0.0,
        "first_seen": fig["first"].isoformat(), "last_seen": fig["last"].isoformat(),
        "user_agents": dict(fig.get("user_agents") or {})} for span, fig in campaign}

    local_first, local_last = scope.day.local(first), scope.day.local(last)
    when = _when(scope, local_first, local_last)
    sources = (f"from {addresses[0]}" if len(addresses) == 1 else f"from {w.count(len(addresses))} addresses")
    # As a field=value pair the facts name: a user agent's version numbers are its name, not figures.
    agent = f' (user_agent="{agents_ranked[0]}")' if agents_ranked else ""
    per = failures / len(accounts) if accounts else 0.0
    got_in = (f"{w.percent(ratio)} succeeded — {w.count(len(compromised))} account"
              f"{'s' if len(compromised) != 1 else ''} may be compromised" if compromised else "none succeeded")
    unknown_accounts = len({a for _, fig in campaign for a in fig["unknown_names"] or []})
    if kind == "credential_stuffing":
        text = (f"Credential stuffing on {target} {when}: {w.count(attempts)} attempts against "
                f"{w.count(len(accounts))} accounts {sources}{agent}, {got_in}.")
    elif kind == "password_spraying":
        text = (f"Password spraying on {target} {when}: {w.count(failures)} failed attempts against "
                f"{w.count(len(accounts))} accounts, {per:.1f} per account, {sources}{agent}; {got_in}.")
    elif kind == "brute_force":
        text = (f"Brute force on {target} {when}: {w.count(failures)} failed attempts {sources}{agent} against "
                f"{w.count(len(accounts))} account{'s' if len(accounts) != 1 else ''}; {got_in}.")
    else:
        named = f"{w.count(unknown_accounts)} unknown usernames" if unknown_accounts else \
            f"{w.count(unknown)} attempts on unknown accounts"
        text = (f"Account enumeration on {target} {when}: {named} among {w.count(attempts)} attempts "
                f"{sources}{agent}; {w.percent(unknown / failures if failures else 0.0)} of the failures were "
                f"unknown accounts; {got_in}.")
    facts = ItemFacts(counts=[float(x) for x in (attempts, failures, successes, unknown, len(accounts),
                                                 len(addresses), len(compromised), unknown_accounts)],
                      percents=[ratio * 100, (unknown / failures * 100) if failures else 0.0],
                      values=[round(per, 1)], windows=[(local_first, local_last)],
                      attributes={("user_agent", agents_ranked[0])} if agents_ranked else set())

    volume_rule = {"credential_stuffing": rules.stuffing_failures, "brute_force": rules.brute_force_failures}
    if compromised:
        severity = "critical"
    elif kind in volume_rule and failures >= rules.high_volume_factor * volume_rule[kind]:
        severity = "high"
    else:
        severity = "medium"
    listed = accounts[:rules.accounts_listed]
    return Finding(
        agent=AGENT, kind=kind, key=sorted(addresses)[0], title=f"{_TITLES[kind]} from {sources[5:]}",
        text=text, severity=severity, confidence=_confidence(margin),
        entities={"client_ips": addresses, "accounts": listed, "compromised_accounts": compromised,
                  "user_agents": agents_ranked, "targets": sorted({fig["target"] for _, fig in campaign})},
        evidence={"rule": kind, "thresholds": {name: getattr(rules, name) for name in _THRESHOLDS[kind]},
                  "margin": round(margin, 3), "attempts": attempts, "failures": failures, "successes": successes,
                  "success_ratio": round(ratio, 4), "unknown_account_failures": unknown,
                  "accounts_targeted": len(accounts), "unknown_accounts": unknown_accounts,
                  "accounts_listed": len(listed), "addresses": len(addresses),
                  "first_seen": first.isoformat(), "last_seen": last.isoformat(), "per_address": per_address},
        action=_action(kind, addresses, agents_ranked, compromised),
        facts=facts, window=(first, last), day=scope.day.key)


def _when(scope: Scope, first: datetime, last: datetime) -> str:
    """"from 02:06 to 02:26" (local times), with the date where it is not the scope's day."""
    start = w.clock(first) if first.date() == scope.day.day else f"{first:%Y-%m-%d} {w.clock(first)}"
    end = w.clock(last) if last.date() == first.date() else f"{last:%Y-%m-%d} {w.clock(last)}"
    return f"from {start} to {end}"


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
        steps.append(f"force a password reset and revoke the sessions of {', '.join(compromised[:10])}"
                     + (f" and {len(compromised) - 10} more" if len(compromised) > 10 else ""))
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
