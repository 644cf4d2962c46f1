"""Authentication lines in plain-text logs (sshd, PAM, ftpd, klogind, login, web apps): who was tried, from
where, and whether it worked, as user_id, client_ip and the attributes auth.outcome and auth.reason."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ADDRESS = r"(?P<address>[^\s,;()\[\]]+)"
_ACCOUNT = r"'?(?P<account>[^'\s,;]*)'?"


@dataclass(frozen=True)
class AuthLine:
    outcome: str            # failure | success
    reason: str | None      # bad_password, unknown_account, pam_failure, ... (None for a success)
    account: str | None     # the attempted account, as logged
    address: str | None     # the source, as logged: an address or a host name
    method: str | None = None  # password, publickey, ... where the line says
    pam: bool = False       # a PAM line: its uid= is the process's, not the account


# Most specific first; each is (pattern, outcome, reason). A reason of None is worked out from the match.
_PATTERNS: tuple[tuple[re.Pattern, str, str | None], ...] = (
    (re.compile(rf"\bFailed (?P<method>[\w/-]+) for (?P<invalid>invalid user )?{_ACCOUNT} from {_ADDRESS}"),
     "failure", None),
    (re.compile(rf"\bAccepted (?P<method>[\w/-]+) for {_ACCOUNT} from {_ADDRESS}"), "success", None),
    (re.compile(rf"\b[Ii]nvalid user {_ACCOUNT} from {_ADDRESS}"), "failure", "unknown_account"),
    (re.compile(r"\bcheck pass; user unknown\b"), "failure", "unknown_account"),
    (re.compile(rf"\bAuthentication failed from {_ADDRESS}"), "failure", "auth_failed"),
    (re.compile(rf"\bFAILED LOGIN (?:\(?\d+\)? )?(?:ON \S+ )?FROM {_ADDRESS} FOR {_ACCOUNT}"), "failure", "bad_password"),
    (re.compile(rf"\bANONYMOUS FTP LOGIN FROM {_ADDRESS}"), "success", None),
    (re.compile(rf"(?i)\b(?:login failed|failed login(?: attempt)?) for (?:user )?{_ACCOUNT}"
                rf"(?: from {_ADDRESS})?"), "failure", "bad_credentials"),
)
_PAM_FAILURE = re.compile(r"\bauthentication failure;")
_PAM_USER = re.compile(r"(?<!\S)user=(?P<account>\S+)")
_PAM_HOST = re.compile(r"(?<!\S)rhost=(?P<address>\S+)")
_PAM_UID = re.compile(r"(?<!\S)uid=(?P<uid>\d+)")
# Lines that say so in words but name the account and address only in key=value pairs.
_FAILED_WORDS = re.compile(r"(?i)\b(?:log-?in|logon|sign-?in|authentication) (?:failed|failure|denied|rejected)\b")
_SUCCEEDED_WORDS = re.compile(r"(?i)\b(?:log-?in|logon|sign-?in|authentication) (?:succeeded|successful)\b")
# Every pattern holds one of these words: most lines are not about logins, and one search rules them out.
_ANY_AUTH_WORD = re.compile(r"(?i)fail|accepted|invalid|check pass|login|logon|sign-?in|authentication")


def read_auth_line(text: str) -> AuthLine | None:
    """The authentication attempt `text` reports, or None (a session opened or closed is not an attempt)."""
    if not _ANY_AUTH_WORD.search(text):
        return None
    if _PAM_FAILURE.search(text):
        user, host = _PAM_USER.search(text), _PAM_HOST.search(text)
        account = user["account"] if user else None
        # pam_unix names the user only when the account exists; no user= is a name it does not know.
        return AuthLine("failure", "pam_failure" if account else "unknown_account", account,
                        _clean(host["address"]) if host else None, pam=True)
    for pattern, outcome, reason in _PATTERNS:
        if match := pattern.search(text):
            found = match.groupdict()
            method = found.get("method")
            if outcome == "failure" and reason is None:
                reason = "unknown_account" if found.get("invalid") else \
                    "bad_password" if method == "password" else "bad_credentials"
            account = found.get("account") or ("anonymous" if "ANONYMOUS" in pattern.pattern else None)
            return AuthLine(outcome, reason, account, _clean(found.get("address")), method)
    if _FAILED_WORDS.search(text):
        return AuthLine("failure", "bad_credentials", None, None)
    if _SUCCEEDED_WORDS.search(text):
        return AuthLine("success", None, None, None)
    return None


def annotate_auth(text: str, fields: dict[str, Any], attributes: dict[str, Any]) -> None:
    """Fill user_id, client_ip and auth.* from `text` when it is an authentication line. A line that says
    only "login failed" counts when its pairs name an account or an address; the source as logged wins
    over a pair, and a PAM line's uid= (the process's) never stands for the account."""
    line = read_auth_line(text)
    if line is None:
        return
    if line.account is None and line.address is None and not line.pam and not line.reason == "unknown_account":
        if not (fields.get("user_id") or fields.get("client_ip")):
            return
    if line.pam:
        uid = _PAM_UID.search(text)
        if uid and fields.get("user_id") == uid["uid"] and line.account is None:
            del fields["user_id"]
        if uid:
            attributes["uid"] = int(uid["uid"])
    if line.account:
        fields["user_id"] = line.account
    if line.address:
        fields["client_ip"] = line.address
    attributes["auth.outcome"] = line.outcome
    if line.reason:
        attributes["auth.reason"] = line.reason
    if line.method:
        attributes["auth.method"] = line.method


def _clean(address: str | None) -> str | None:
    if not address:
        return None
    address = address.rstrip(".")
    return address or None
