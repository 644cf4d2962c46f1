"""The security analyst's rules over hopping windows of login attempts: per source address, the runs of
windows that cross each rule (stuffing, spraying, brute force, enumeration; see security_analyst.py), and
the campaigns they make when addresses with one user agent cross a rule together."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from logintel.agents.finding import Scope
from logintel.agents.security import login_queries as q
from logintel.agents.security.security_rules import SecurityRules


@dataclass
class Span:
    """One address's run of windows crossing one rule."""
    kind: str
    address: str
    first: datetime
    last: datetime
    margin: float  # the best window's smallest figure-over-threshold ratio


WINDOWS = {
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


def rule_spans(con, scope: Scope, rules: SecurityRules) -> list[Span]:
    """Per rule, each address's runs of crossing windows (overlapping or touching ones merged), over the
    attempts' own first and last times. One window query per window length, shared by the rules using it."""
    by_length: dict[int, list[str]] = defaultdict(list)
    for kind, minutes in WINDOWS.items():
        by_length[minutes(rules)].append(kind)
    spans: list[Span] = []
    for minutes, kinds in by_length.items():
        floor = min(_FLOORS[k](rules) for k in kinds)
        rows = q.window_counts(con, scope.start, scope.end, minutes, floor)
        for kind in kinds:
            current: Span | None = None
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
                current = Span(kind, row["client_ip"], row["first"], row["last"], margin)
                spans.append(current)
    return spans


def campaigns(spans: list[tuple[Span, dict]], slack: timedelta) -> list[list[tuple[Span, dict]]]:
    """Addresses with the same leading user agent whose spans overlap (within a window) are one campaign."""
    by_agent: dict[str | None, list] = defaultdict(list)
    for span, fig in spans:
        agents = fig.get("user_agents") or {}
        by_agent[next(iter(agents), None)].append((span, fig))
    grouped = []
    for members in by_agent.values():
        members.sort(key=lambda m: (m[0].first, m[0].address))
        group, last = [], None
        for member in members:
            if group and member[0].first > last + slack:
                grouped.append(group)
                group = []
            last = member[0].last if not group else max(last, member[0].last)
            group.append(member)
        if group:
            grouped.append(group)
    return grouped
