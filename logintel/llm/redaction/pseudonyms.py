"""Keyed, truncated hashes that stand in for personal data and secrets: stable for one secret, not reversible."""
from __future__ import annotations

import hashlib
import re
import secrets

# Without a configured secret every Redactor in this process shares one random key, so pseudonyms
# agree across Redactors here but cannot be recomputed (or dictionary-attacked) anywhere else.
_PROCESS_SECRET = secrets.token_bytes(32)
_BLAKE2_MAX_KEY = 64
_CACHE_LIMIT = 65_536

PLACEHOLDER = re.compile(r"<[a-z0-9_]{1,24}:[0-9a-f]{8}>")
PSEUDONYM = re.compile(r"(?:user|ip)-[0-9a-f]{8}")


def is_redacted(value: str) -> bool:
    """True for a placeholder or pseudonym this package wrote: re-redacting it must change nothing."""
    return PLACEHOLDER.fullmatch(value) is not None or PSEUDONYM.fullmatch(value) is not None


class KeyedHasher:
    """Eight hex digits of keyed BLAKE2b per (namespace, value); the namespace keeps kinds apart."""

    def __init__(self, secret: str | bytes | None = None):
        if secret is None:
            key = _PROCESS_SECRET
        elif isinstance(secret, str):
            key = secret.encode("utf-8")
        elif isinstance(secret, (bytes, bytearray, memoryview)):
            key = bytes(secret)
        else:
            raise TypeError(f"redaction secret must be str or bytes, not {type(secret).__name__}")
        if not key:
            raise ValueError("redaction secret must not be empty")
        self._key = key if len(key) <= _BLAKE2_MAX_KEY else hashlib.sha256(key).digest()
        # Identifiers (IPs, users, emails) repeat across a batch of logs; secrets rarely do and are not kept.
        self._cache: dict[tuple[str, str], str] = {}

    def digest(self, namespace: str, value: str, remember: bool = False) -> str:
        if remember:
            cached = self._cache.get((namespace, value))
            if cached is not None:
                return cached
        digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=4, key=self._key,
                                 person=namespace.encode("ascii")[:16]).hexdigest()
        if remember:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[(namespace, value)] = digest
        return digest
