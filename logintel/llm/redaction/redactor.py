"""The Redactor: replaces secrets and personal data in log text and records with typed, keyed placeholders."""
from __future__ import annotations

import dataclasses
import re
from collections import Counter
from typing import Any

from logintel.llm.redaction.keys import field_kind
from logintel.llm.redaction.pseudonyms import PSEUDONYM, KeyedHasher, is_redacted
from logintel.llm.redaction.rules import RULES, USER_AGENT_RULES, Rule, parse_ip

_CLEAN_KEYS_LIMIT = 4096
_ORIGINALS_LIMIT = 65_536
_GIVEN_PSEUDONYM = re.compile(rf"(?<![\w-]){PSEUDONYM.pattern}(?![\w-])")


@dataclasses.dataclass
class RedactionReport:
    """How many items of each kind were redacted, and how many strings were scanned, since the last reset."""

    counts: Counter = dataclasses.field(default_factory=Counter)
    scanned: int = 0

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n

    def __getitem__(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))

    def reset(self) -> None:
        self.counts.clear()
        self.scanned = 0


class Redactor:
    """Redacts before text leaves the process for an LLM.

    Placeholders keep the text readable and typed: `<email:3f2a9c1b>`, `<password:…>`, `<card:…>`.
    Identifiers the analyst correlates get bare pseudonyms: `user-3f2a9c1b`, `ip-0c7d55e2`. All are
    keyed hashes, so the same value maps to the same placeholder for one secret (by default one
    random secret per process; pass a configured one to keep pseudonyms stable across runs).
    Redacting redacted text changes nothing. The pseudonyms it gave out can be turned back (`restore`) in what
    comes back from a model; the placeholders of secrets cannot.
    """

    def __init__(self, secret: str | bytes | None = None):
        self._hasher = KeyedHasher(secret)
        self._clean_keys: set[str] = set()
        self._originals: dict[str, str] = {}  # pseudonym -> the address or account it stands for
        self.report = RedactionReport()

    # --- text ---------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """The text with every secret and personal datum the rules know replaced (None stays None)."""
        if text is None:
            return None
        if not isinstance(text, str):
            raise TypeError(f"redact() takes text, not {type(text).__name__}; use redact_obj() for records")
        return self._apply(text, RULES)

    def _apply(self, text: str, rules: tuple[Rule, ...]) -> str:
        self.report.scanned += 1
        lowered = text.lower()
        for rule in rules:
            # Plain loops, not any(): this runs ~16 times per string and dominates when nothing matches.
            if rule.needles:
                for needle in rule.needles:
                    if needle in lowered:
                        break
                else:
                    continue
            handle = rule.handle
            text = rule.pattern.sub(lambda m: handle(m, self), text)
        return text

    # --- structured records -------------------------------------------------------------------

    def redact_value(self, field: str, value: Any) -> Any:
        """One field of a record, redacted by what its name says it holds (None stays None)."""
        return self._field(field, value, parent=None)

    def redact_obj(self, obj: Any) -> Any:
        """A redacted deep copy of dicts, lists, tuples, sets and dataclasses; every string is redacted."""
        return self._walk(obj, parent=None)

    def _walk(self, obj: Any, parent: str | None) -> Any:
        if isinstance(obj, str):
            return self._apply(obj, RULES)
        if isinstance(obj, dict):
            return {(self._key(k) if isinstance(k, str) else k):
                    (self._field(k, v, parent) if isinstance(k, str) else self._walk(v, parent))
                    for k, v in obj.items()}
        if isinstance(obj, (list, tuple, set, frozenset)):
            return type(obj)(self._walk(v, parent) for v in obj)
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {f.name: self._field(f.name, getattr(obj, f.name), parent)
                       for f in dataclasses.fields(obj) if f.init}
            return dataclasses.replace(obj, **changes)
        return obj

    def _key(self, key: str) -> str:
        # Records repeat a few dozen field names; remember the clean ones (a key holding data is rescanned
        # every time, so the report counts it every time).
        if key in self._clean_keys:
            return key
        redacted = self._apply(key, RULES)
        if redacted == key and len(self._clean_keys) < _CLEAN_KEYS_LIMIT:
            self._clean_keys.add(key)
        return redacted

    def _field(self, name: str, value: Any, parent: str | None) -> Any:
        if value is None or isinstance(value, bool):
            return value
        # {"user": {"id": 7}} says as much as {"user.id": 7}.
        kind = field_kind(name) or (field_kind(f"{parent}.{name}") if parent else None)
        if isinstance(value, (dict, list, tuple, set, frozenset)) or dataclasses.is_dataclass(value):
            if kind in (None, "user", "ip", "email", "user_agent"):
                return self._walk(value, parent=name)
            return self._mask(kind, repr(value))  # a secret's structure is part of the secret
        if kind is None:
            return self._apply(value, RULES) if isinstance(value, str) else value
        text = value if isinstance(value, str) else str(value)
        if kind == "user_agent":
            return self._apply(text, USER_AGENT_RULES)
        if not text.strip() or is_redacted(text):
            return value
        if kind == "user":
            return self._user(text)
        if kind == "ip":
            parsed = parse_ip(text)
            # Not one address (an X-Forwarded-For list, a hostname): redact what is inside it.
            return self._ip(*parsed) if parsed else self._apply(text, RULES)
        if kind == "email":
            return self._mask("email", text.strip().lower())
        return self._mask(kind, text)

    def reset(self) -> None:
        self.report.reset()

    def restore(self, text: str) -> str:
        """The text with every pseudonym this Redactor gave out (`ip-…`, `user-…`) replaced by its value."""
        if not self._originals or "-" not in text:
            return text
        return _GIVEN_PSEUDONYM.sub(lambda m: self._originals.get(m.group(0), m.group(0)), text)

    def _given(self, pseudonym: str, value: str) -> str:
        if len(self._originals) >= _ORIGINALS_LIMIT:
            self._originals.clear()
        self._originals[pseudonym] = value
        return pseudonym

    # --- what the rules call ------------------------------------------------------------------

    def _mask(self, kind: str, value: str, count_as: str | None = None) -> str:
        self.report.add(count_as or kind)
        return f"<{kind}:{self._hasher.digest(kind, value, remember=kind == 'email')}>"

    def _user(self, value: str, count: bool = True) -> str:
        if count:
            self.report.add("user_id")
        return self._given(f"user-{self._hasher.digest('user', value, remember=True)}", value)

    def _ip(self, canonical: str, kind: str) -> str:
        self.report.add(kind)
        return self._given(f"ip-{self._hasher.digest('ip', canonical, remember=True)}", canonical)
