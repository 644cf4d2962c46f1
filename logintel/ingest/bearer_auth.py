"""The bearer-token check every write endpoint shares (the receiver, the policy server): the
`Authorization: Bearer <token>` credentials of RFC 6750, the scheme matched in any case as RFC 7235
says, the token compared in constant time."""
from __future__ import annotations

import hmac


def bearer_token(header: str | None) -> str | None:
    """The token of an Authorization header whose scheme is Bearer (any case), or None."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def same_token(given: str, expected: str) -> bool:
    # Constant time, so response timing does not leak the token byte by byte.
    return hmac.compare_digest(_as_sent(given), expected.encode("utf-8"))


def _as_sent(value: str) -> bytes:
    # HTTP servers decode header values as Latin-1, one character per byte sent: these are the bytes.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
