"""Comparing a message's tokens with a template's: similarity, coverage and generalisation."""
from __future__ import annotations

import re
from typing import NamedTuple

from logintel.analysis.templates.masking import WILDCARD

_EDGE = re.compile(r"[^A-Za-z0-9]")
_ENUM = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")
_IDENT = re.compile(r"(?:[A-Za-z0-9]+|<\*>)(?:[_.:-]+(?:[A-Za-z0-9]+|<\*>)|<\*>)*")
_PUNCT = ".,;:!?()[]{}'\"<>"


def glob_match(pattern: str, text: str) -> bool:
    """`pattern` with <*> standing for any text (empty too), matched without regex backtracking.

    Matching each constant piece at its leftmost place is exact for such wildcards, and linear in the text:
    untrusted messages cannot make it slow.
    """
    parts = pattern.split(WILDCARD)
    if len(parts) == 1:
        return pattern == text
    head, middle, tail = parts[0], parts[1:-1], parts[-1]
    if len(text) < len(head) + len(tail) or not text.startswith(head) or not text.endswith(tail):
        return False
    pos, end = len(head), len(text) - len(tail)
    for piece in middle:
        found = text.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def token_covers(t: str, m: str) -> bool:
    """A template token covers a message token when equal, or when its wildcards can stand for the difference."""
    if t == m or t == WILDCARD:
        return True
    return WILDCARD in t and glob_match(t, m)


def covers(template: list[str], tokens: list[str]) -> bool:
    return len(template) == len(tokens) and all(token_covers(t, m) for t, m in zip(template, tokens))


class Comparison(NamedTuple):
    score: float     # share of positions in common, in [0, 1]
    equal: int       # positions with equal tokens
    covered: bool    # the template already covers the message
    constants: int   # template tokens the message contradicts (masked ids aside)
    enums: bool      # an upper-case enum-like token differs (READY vs FAILED)
    phrase: int      # longest run of consecutive template words the message replaces


def is_enum(token: str) -> bool:
    """RUNNING, SCREEN_OFF, HTTPS: upper-case words name states and kinds, the fixed part of an event."""
    core = token.strip(_PUNCT)
    if _ENUM.fullmatch(core) is None:
        return False
    # Short codes with numbers (J05, R23, A1B2) are more likely ids than names.
    digits = sum(ch.isdigit() for ch in core)
    return len(core) - digits - core.count("_") >= 3 and digits <= 2


def is_identifier(token: str) -> bool:
    """attempt_<*>_m_<*>, blk_<*>: a masked id whose letters are part of the value, not of the event."""
    return WILDCARD in token and _IDENT.fullmatch(token) is not None


def compare(template: list[str], tokens: list[str], wildcard_credit: float) -> Comparison:
    """How a message relates to a same-length template."""
    if not tokens:
        return Comparison(1.0, 0, True, 0, False, 0)
    equal = wild = constants = run = phrase = 0
    enums = False
    for t, m in zip(template, tokens):
        run = run + 1 if t != m and t.isalpha() else 0
        phrase = max(phrase, run)
        if t == m:
            equal += 1
        elif token_covers(t, m):
            wild += 1
        else:
            # A token with digits is taken for a parameter, as the tree's routing does.
            if not is_identifier(t) and not any(ch.isdigit() for ch in t):
                constants += 1
            enums = enums or is_enum(t) or is_enum(m)
    return Comparison((equal + wildcard_credit * wild) / len(tokens), equal, equal + wild == len(tokens),
                      constants, enums, phrase)


def generalise_token(a: str, b: str) -> str:
    """The most specific token covering both: keeps a shared key and brackets ("user=<*>", "(<*>)")."""
    if a == b:
        return a
    if token_covers(a, b):
        return a
    # Shared prefix up to (and including) its last delimiter, shared suffix from its first delimiter.
    n = 0
    limit = min(len(a), len(b))
    while n < limit and a[n] == b[n]:
        n += 1
    head = a[:n]
    cut = max((i for i, c in enumerate(head) if _EDGE.match(c)), default=-1)
    head = head[: cut + 1]
    k = 0
    while k < limit - len(head) and a[-1 - k] == b[-1 - k]:
        k += 1
    tail = a[len(a) - k:] if k else ""
    first = next((i for i, c in enumerate(tail) if _EDGE.match(c)), None)
    tail = tail[first:] if first is not None else ""
    if not head and not tail:
        return WILDCARD
    merged = f"{head}{WILDCARD}{tail}"
    # Cuts inside an existing wildcard can produce a token that misses one side: fall back to <*>.
    return merged if token_covers(merged, a.replace(WILDCARD, "x")) and token_covers(merged, b) else WILDCARD


def generalise(template: list[str], tokens: list[str]) -> list[str]:
    return [generalise_token(t, m) for t, m in zip(template, tokens)]
