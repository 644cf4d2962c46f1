"""Text preparation for claim extraction: quoted spans blanked out, sentences located.

Blanking keeps every offset, so a span found in the prepared text is the same span in the original.
"""
from __future__ import annotations

import re
from typing import NamedTuple

# Opening quote -> closing quote. Single quotes are left alone: they are apostrophes far more often.
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "\u00ab": "\u00bb"}
QUOTE_MARKS = frozenset(_QUOTES) | frozenset(_QUOTES.values())
# Periods after these do not end a sentence ("e.g." precedes the writer's quoted example).
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "approx", "incl", "cf", "ca", "est", "resp"}
_EXAMPLE = re.compile(r"(?:\be\.g\.|\bi\.e\.|\bexample|\bsuch as|\bmessage|\bsaying)[:,]?\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
# The opening quote of a field's quoted value (user_agent="Mozilla/5.0 (…)").
_FIELD_QUOTE = re.compile(r'[\w.\-]="')


class Span(NamedTuple):
    """A candidate claim found in prepared text, before it is tied to a sentence."""
    kind: str
    start: int
    end: int
    value: object
    label: str | None = None
    qualifier: str | None = None


def blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) replaced by spaces (newlines kept, so sentences keep their bounds)."""
    return text[:start] + "".join("\n" if c == "\n" else " " for c in text[start:end]) + text[end:]


def blank_quotes(text: str) -> str:
    """Quoted text is someone else's words (a log message, an example): nothing in it is a claim.
    An unclosed quote runs to the end of its line."""
    out, i = text, 0
    while i < len(out):
        close = _QUOTES.get(out[i])
        if close is None:
            i += 1
            continue
        line_end = out.find("\n", i + 1)
        line_end = len(out) if line_end < 0 else line_end
        # A quoted example is a log message, and messages contain quotes: it runs to the line's last one.
        example = _EXAMPLE.search(out[max(0, i - 20):i]) is not None
        j = out.rfind(close, i + 1, _example_end(out, i, close, line_end)) if example else \
            out.find(close, i + 1, line_end)
        if j < 0:
            j = line_end - 1
        out = blank(out, i, j + 1)
        i = j + 1
    return out


def blank_quotes_but(text: str, kept: list[tuple[int, int]]) -> str:
    """`blank_quotes`, where the quote marks inside the `kept` spans (names the warehouse holds, written with a
    quote in them: a service `pay"ments`) open or close no quotation; a kept span inside a quotation is blanked
    with it."""
    masked = text
    for a, b in kept:
        masked = masked[:a] + "".join("'" if c in QUOTE_MARKS else c for c in masked[a:b]) + masked[b:]
    out = blank_quotes(masked)
    for a, b in kept:
        if out[a:b].strip():
            out = out[:a] + text[a:b] + out[b:]
    return out


def _example_end(text: str, i: int, close: str, line_end: int) -> int:
    """Where the quoted example opened at `i` must have closed: before the first field's quoted value after it
    that an odd number of quotes separates from `i` (the example's own quote closed before it: `e.g. "boom" …
    user_agent="Mozilla …"`), else the end of the line."""
    if close != '"':
        return line_end
    for m in _FIELD_QUOTE.finditer(text, i + 1, line_end):
        if text.count(close, i + 1, m.end() - 1) % 2 == 1:
            return m.start()
    return line_end


def sentence_bounds(prepared: str) -> list[tuple[int, int]]:
    """[start, end) of each non-blank sentence of `prepared` (quotes already blanked)."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(prepared):
        if match.group().startswith(".") and _word_before(prepared, match.start()).lower() in _ABBREVIATIONS:
            continue
        bounds.append((start, match.end()))
        start = match.end()
    bounds.append((start, len(prepared)))
    return [(a, b) for a, b in bounds if prepared[a:b].strip()]


def _word_before(text: str, end: int) -> str:
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    return text[start:end]
