"""Which field and key names carry secrets or personal data, shared by text key=value pairs and structured fields."""
from __future__ import annotations

import re
from functools import lru_cache

# A secret key ends in one of these words, so `access_token` and `db.password` match while
# `max_tokens`, `token_count` and `password_policy` do not.
SECRET_KEY = (r"[A-Za-z0-9_.-]*?(?:passw(?:or)?d|passphrase|secret|token|credentials?|session[_-]?id|sessionid"
              r"|(?:api|access|secret|private|signing|encryption|master|client|account|app|license)[_-]?key|apikey)"
              # Short names are secrets only whole or after a separator (`pwd`, `db.pwd`, not `bypass`);
              # `pass` only after one, since alone it is as often a test count (`pass=12 fail=0`).
              r"|(?:[A-Za-z0-9_.-]*?[_.-])?(?:pwd|sid|cvv2?|cvc2?)|[A-Za-z0-9_.-]*?[_.-]pass")
USER_KEY = r"user[_.-]?id|userid|user[_.-]?name|username|user|enduser[_.-]?id|customer[_.-]?id|account[_.-]?id|uid"

_SECRET_KEY = re.compile(SECRET_KEY, re.IGNORECASE)
_API_KEY = re.compile(r"(?:api|access|account|app|client|license)[_-]?key|apikey")
_HEADER_SECRET = re.compile(r"[A-Za-z0-9_.-]*?(?:authorization|cookie)", re.IGNORECASE)


def secret_kind(name: str) -> str | None:
    """The report kind of a key whose value is a secret, or None for an ordinary key."""
    if _SECRET_KEY.fullmatch(name) is None:
        return "authorization" if _HEADER_SECRET.fullmatch(name) else None
    low = name.lower()
    if "aws" in low and "secret" in low:
        return "aws_key"
    if "pass" in low or "pwd" in low:
        return "password"
    if low.endswith(("cvv", "cvc", "cvv2", "cvc2")):
        return "card"
    if "private" in low:
        return "private_key"
    if _API_KEY.search(low):
        return "api_key"
    if "session" in low or low.endswith("sid"):
        return "session"
    if "token" in low:
        return "token"
    return "secret"


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_USER_FIELDS = frozenset({"userid", "user", "username", "enduserid", "customerid", "accountid", "uid"})
_IP_FIELDS = frozenset({"clientip", "clientaddress", "ip", "ipaddress", "ipaddr", "remoteaddr", "remoteaddress",
                        "remoteip", "sourceip", "sourceaddress", "srcip", "xforwardedfor", "xrealip", "peerip",
                        "netpeerip", "networkpeeraddress", "clientsocketaddress"})


@lru_cache(maxsize=4096)  # records repeat a few field names millions of times
def field_kind(name: str) -> str | None:
    """How a structured field is redacted: 'user', 'ip', 'email', 'user_agent', a secret kind, or None."""
    norm = _normalized(name)
    if norm in _USER_FIELDS:
        return "user"
    if norm in _IP_FIELDS:
        return "ip"
    if norm.endswith("email") or norm in ("mail", "emailaddress"):
        return "email"
    if norm.endswith("useragent") or norm == "useragentoriginal":
        return "user_agent"
    return secret_kind(name)
