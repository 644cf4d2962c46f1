"""The text detectors: one rule per kind of secret or personal datum, applied in a fixed order."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Protocol

from logintel.llm.redaction.cards import plausible_card
from logintel.llm.redaction.keys import SECRET_KEY, USER_KEY, secret_kind
from logintel.llm.redaction.pseudonyms import is_redacted
from logintel.llm.redaction.values import KEY_END, VALUE, keyed_value, needs_masking, split_bare, swap


class Sink(Protocol):
    """What a rule needs from the Redactor: placeholders, pseudonyms, and counting."""

    def _mask(self, kind: str, value: str, count_as: str | None = None) -> str: ...
    def _user(self, value: str, count: bool = True) -> str: ...
    def _ip(self, canonical: str, kind: str) -> str: ...


@dataclass(frozen=True)
class Rule:
    kind: str
    pattern: re.Pattern
    handle: Callable[[re.Match, Sink], str]
    # Lower-case substrings one of which must occur for the rule to run: most log lines skip most rules.
    needles: tuple[str, ...] = ()


# --- the detectors, in the order they run -------------------------------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END (?P=label)-----|\Z)", re.DOTALL)


def _private_key(m: re.Match, sink: Sink) -> str:
    # A block cut off by a truncated log line is redacted to the end: its remainder is key material.
    return sink._mask("private_key", m.group(0))


_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{1,20}://)(?P<user>[^\s:/?#@\"'<>]*):(?P<password>[^\s/\"']*)@")


def _url_credentials(m: re.Match, sink: Sink) -> str:
    user, password = m.group("user"), m.group("password")
    if is_redacted(password) or not password and (not user or is_redacted(user)):
        return m.group(0)
    shown_user = user if not user or is_redacted(user) else sink._user(user, count=False)
    masked = sink._mask("password", password, count_as="url_credentials") if password else ""
    return f"{m.group('scheme')}{shown_user}:{masked}@"


_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2}")

_API_KEY = re.compile(
    r"\b(?:sk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic
    r"|[spr]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,}"                            # Stripe
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}"          # GitHub, GitLab
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"                                      # Slack
    r"|AIza[0-9A-Za-z_-]{35,}"                                                                    # Google
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{36,})")                         # SendGrid, npm
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b")

_AUTHORIZATION = re.compile(
    r"\b(?:proxy-)?authorization(?P<sep>\\?[\"']?\s*[:=]\s*\\?[\"']?)"
    r"(?:(?P<scheme>bearer|basic|digest|token|apikey|negotiate|ntlm|aws4-hmac-sha256)\s+)?"
    r"(?P<value>[^\s\"',;\\]+)", re.IGNORECASE)
_AUTH_KINDS = {"bearer": "bearer", "basic": "basic_auth"}


def _authorization(m: re.Match, sink: Sink) -> str:
    value, tail = split_bare(m.group("value"))
    if not needs_masking(value):
        return m.group(0)
    kind = _AUTH_KINDS.get((m.group("scheme") or "").lower(), "authorization")
    return swap(m, "value", sink._mask(kind, value) + tail)


_BEARER = re.compile(r"\bbearer\s+(?P<value>[A-Za-z0-9\-._~+/]{16,}=*)", re.IGNORECASE)


def _bearer(m: re.Match, sink: Sink) -> str:
    value = m.group("value")
    # Tokens are random and carry digits; "bearer authentication-required" is prose.
    if not any(c.isdigit() for c in value):
        return m.group(0)
    return swap(m, "value", sink._mask("bearer", value))


_COOKIE = re.compile(r"\b(?:set-)?cookie(?P<sep>\\?[\"']?\s*[:=]\s*\\?[\"']?)(?P<value>[^\r\n\"\\]+)",
                     re.IGNORECASE)
_COOKIE_PAIR = re.compile(r"(?P<name>[^=;\s]+)=(?P<value>[^;\s]*)")
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority"})


def _cookie(m: re.Match, sink: Sink) -> str:
    def pair(p: re.Match) -> str:
        if p.group("name").lower() in _COOKIE_ATTRIBUTES or not needs_masking(p.group("value")):
            return p.group(0)
        return f"{p.group('name')}={sink._mask('cookie', p.group('value'))}"
    return swap(m, "value", _COOKIE_PAIR.sub(pair, m.group("value")))


_SECRET_PAIR = re.compile(rf"(?<![A-Za-z0-9_.<-])(?P<key>{SECRET_KEY}){KEY_END}{VALUE}", re.IGNORECASE)


def _secret_pair(m: re.Match, sink: Sink) -> str:
    kind = secret_kind(m.group("key")) or "secret"
    # A password may be any word; tokens and keys are generated.
    return keyed_value(m, lambda value: sink._mask(kind, value), any_word=kind == "password")


# \w rather than ASCII: internationalised addresses (иван@пример.рф) are personal data too.
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[^\W\d_]{2,24}\b")


def _email(m: re.Match, sink: Sink) -> str:
    return sink._mask("email", m.group(0).lower())


_SSN = re.compile(r"\b(?:ssn|social[ _-]?security(?:[ _-]?(?:number|no))?)\b[^0-9\n]{0,24}?"
                  r"(?P<value>(?<!\d)\d{3}-\d{2}-\d{4})(?!\d)", re.IGNORECASE)


def _ssn(m: re.Match, sink: Sink) -> str:
    return swap(m, "value", sink._mask("ssn", m.group("value")))


# Contiguous digits, or the printed groupings (4-4-4-4…, Amex 4-6-5, Diners 4-6-4) with one separator.
_CARD = re.compile(r"(?<![\w.+-])(?:\d{13,19}|\d{4}(?P<s1>[ -])\d{4}(?P=s1)\d{4}(?P=s1)\d{1,7}"
                   r"|\d{4}(?P<s2>[ -])\d{6}(?P=s2)\d{4,5})(?![\w-]|\.\d)")


def _card(m: re.Match, sink: Sink) -> str:
    digits = m.group(0).replace(" ", "").replace("-", "")
    return sink._mask("card", digits) if plausible_card(digits) else m.group(0)


# Addresses that identify no one and tell the analyst something (a sidecar, a bind-all listener).
_NON_IDENTIFYING_IPS = frozenset({"127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::"})

_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
                   r"(?:%[A-Za-z0-9_.-]+)?(?![\w:]|\.\d)")


def _ipv6(m: re.Match, sink: Sink) -> str:
    address, _, zone = m.group(0).partition("%")
    # "from 2001:db8::7: connection reset": the colon after an address is the sentence's, not the address's.
    tail = ":" if not zone and address.endswith(":") and not address.endswith("::") else ""
    try:  # the pattern also catches clock times and MAC addresses; only a parseable address counts
        canonical = ipaddress.IPv6Address(address[: len(address) - len(tail)]).compressed
    except ValueError:
        return m.group(0)
    if canonical in _NON_IDENTIFYING_IPS:
        return m.group(0)
    return sink._ip(canonical, "ipv6") + (f"%{zone}" if zone else "") + tail


_IPV4 = re.compile(r"(?<![\w.])(?P<a>\d{1,3})\.(?P<b>\d{1,3})\.(?P<c>\d{1,3})\.(?P<d>\d{1,3})(?!\w|\.\d)")


def _ipv4(m: re.Match, sink: Sink) -> str:
    octets = [int(o) for o in m.group("a", "b", "c", "d")]
    if max(octets) > 255:
        return m.group(0)
    canonical = ".".join(map(str, octets))
    return m.group(0) if canonical in _NON_IDENTIFYING_IPS else sink._ip(canonical, "ipv4")


def parse_ip(value: str) -> tuple[str, str] | None:
    """(canonical address, 'ipv4' or 'ipv6') when the whole value is one identifying address, else None."""
    try:
        address = ipaddress.ip_address(value.strip().partition("%")[0])
    except ValueError:
        return None
    canonical = address.compressed
    if canonical in _NON_IDENTIFYING_IPS:
        return None
    return canonical, f"ipv{address.version}"


_USER_PAIR = re.compile(rf"(?<![A-Za-z0-9_.<-])(?P<key>{USER_KEY}){KEY_END}{VALUE}", re.IGNORECASE)


def _user_pair(m: re.Match, sink: Sink) -> str:
    return keyed_value(m, sink._user)


_USER_ID = re.compile(r"\bu-\d{3,12}\b")


def _user_id(m: re.Match, sink: Sink) -> str:
    return sink._user(m.group(0))


def _mask_as(kind: str) -> Callable[[re.Match, Sink], str]:
    return lambda m, sink: sink._mask(kind, m.group(0))


# Order matters: whole-shape secrets (keys, JWTs) go before key=value pairs so the report names what
# leaked; URL credentials go before emails because `user:pass@host.com` also looks like an email; emails
# go before user pairs so `user=bob@example.com` counts as an email.
RULES: tuple[Rule, ...] = (
    Rule("private_key", _PRIVATE_KEY, _private_key, ("private key",)),
    Rule("url_credentials", _URL_CREDENTIALS, _url_credentials, ("://",)),
    Rule("jwt", _JWT, _mask_as("jwt"), ("eyj",)),
    Rule("api_key", _API_KEY, _mask_as("api_key"),
         ("sk-", "k_live_", "k_test_", "whsec_", "gh", "glpat-", "xox", "xapp-", "aiza", "sg.", "npm_")),
    Rule("aws_key", _AWS_KEY_ID, _mask_as("aws_key"), ("akia", "asia", "agpa", "aida", "aroa", "aipa", "anpa", "anva")),
    Rule("authorization", _AUTHORIZATION, _authorization, ("authorization",)),
    Rule("bearer", _BEARER, _bearer, ("bearer",)),
    Rule("cookie", _COOKIE, _cookie, ("cookie",)),
    Rule("secret", _SECRET_PAIR, _secret_pair,
         ("pass", "pwd", "secret", "token", "key", "credential", "session", "sid", "cvv", "cvc")),
    Rule("email", _EMAIL, _email, ("@",)),
    Rule("ssn", _SSN, _ssn, ("ssn", "social")),
    Rule("card", _CARD, _card),
    Rule("ipv6", _IPV6, _ipv6, (":",)),
    Rule("ipv4", _IPV4, _ipv4, (".",)),
    Rule("user_id", _USER_PAIR, _user_pair, ("user", "customer", "account", "uid")),
    Rule("user_id", _USER_ID, _user_id, ("u-",)),
)

# A user agent is kept for the analyst: only embedded contacts and secrets go (its 4-part
# versions, Chrome/124.0.0.0, would otherwise read as IPv4 addresses).
USER_AGENT_RULES = tuple(rule for rule in RULES if rule.kind not in ("ipv4", "ipv6"))
