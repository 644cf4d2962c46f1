"""Templates whose wildcards may stand for several tokens: "user <*> logged in" fits "user John Smith logged in"."""
from __future__ import annotations

from logintel.analysis.templates.masking import WILDCARD
from logintel.analysis.templates.matching import glob_match
from logintel.analysis.templates.tree import Pattern

# A wildcard may only widen a template that stays mostly constant, or "<*> <*>" would swallow everything.
MIN_CONSTANTS = 2
MIN_CONSTANT_SHARE = 0.5
# Tokens a template's wildcards may absorb in all beyond one each: bounds the work per message.
MAX_EXTRA_TOKENS = 16


def _eligible(tokens: list[str]) -> bool:
    if not any(WILDCARD in t for t in tokens) or not any(WILDCARD not in t for t in tokens):
        return False
    constants = sum(1 for t in tokens if t != WILDCARD)
    return constants >= MIN_CONSTANTS and constants >= MIN_CONSTANT_SHARE * len(tokens)


def _ends(t: str, tokens: list[str], start: int, last_end: int) -> list[int]:
    """Where the span of message tokens that template token `t` matches from `start` can end."""
    if WILDCARD not in t:
        return [start + 1] if tokens[start] == t else []
    ends = []
    for end in range(start + 1, last_end + 1):
        # A wildcard runs over further tokens, but never over another key=value field
        # ("rhost=<*>" must not swallow "user=root").
        if end > start + 1 and "=" in tokens[end - 1]:
            break
        if t == WILDCARD or glob_match(t, " ".join(tokens[start:end])):
            ends.append(end)
    return ends


def fits(template: list[str], tokens: list[str]) -> bool:
    """True when the message is the template with each wildcard standing for one or more tokens."""
    spare = len(tokens) - len(template)
    if spare < 0 or spare > MAX_EXTRA_TOKENS:
        return False
    starts = {0}
    for i, t in enumerate(template):
        # Each later template token needs at least one message token of its own.
        last_end = len(tokens) - (len(template) - i - 1)
        starts = {end for s in starts for end in _ends(t, tokens, s, min(last_end, s + 1 + spare))}
        if not starts:
            return False
    return len(tokens) in starts


class MultiTokenIndex:
    """Patterns with wildcards, indexed by their first and last tokens (a masked one indexes as <*>)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], dict[int, tuple[Pattern, frozenset[str], int]]] = {}

    @staticmethod
    def _key(tokens: list[str]) -> tuple[str, str]:
        first, last = tokens[0], tokens[-1]
        return (WILDCARD if WILDCARD in first else first), (WILDCARD if WILDCARD in last else last)

    def add(self, pattern: Pattern) -> None:
        if _eligible(pattern.tokens):
            constants = frozenset(t for t in pattern.tokens if WILDCARD not in t)
            weight = sum(1 for t in pattern.tokens if t != WILDCARD)
            self._buckets.setdefault(self._key(pattern.tokens), {})[id(pattern)] = (pattern, constants, weight)

    def discard(self, pattern: Pattern) -> None:
        if pattern.tokens:
            self._buckets.get(self._key(pattern.tokens), {}).pop(id(pattern), None)

    def find(self, tokens: list[str]) -> Pattern | None:
        """The most constant pattern the message fits with multi-token wildcards, if any."""
        if not tokens:
            return None
        present = set(tokens)
        best, best_weight = None, -1
        first, last = tokens[0], tokens[-1]
        for key in {(first, last), (first, WILDCARD), (WILDCARD, last), (WILDCARD, WILDCARD)}:
            for pattern, constants, weight in self._buckets.get(key, {}).values():
                if (weight > best_weight and len(pattern.tokens) < len(tokens) and constants <= present
                        and fits(pattern.tokens, tokens)):
                    best, best_weight = pattern, weight
        return best
