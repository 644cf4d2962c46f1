"""The checkable claims in a text logintel's writers produced: names, ids, numbers and windows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from logintel.trust.attributes import find_attributes
from logintel.trust.entities import KnownEntities, find_entities, known_route_spans, quoted_name_spans
from logintel.trust.numbers import find_numbers
from logintel.trust.text import blank, blank_quotes_but, sentence_bounds

ENTITY_KINDS = ("service", "route", "error_code", "trace_id", "request_id", "user", "attribute")
NUMBER_KINDS = ("count", "percent", "duration", "time_window")


@dataclass(frozen=True)
class Claim:
    """One checkable statement.

    `value` is normalised: str for entities, float for numbers (durations in ms, percents 0-100,
    changes signed), a (start, end) pair of naive-UTC datetimes for windows. `label` is what a number
    quantifies ("errors", "requests", "users", "peak", "threshold", "p50".."p99", "max", "avg",
    "latency", "length", "rate", "change") or, for a route, the HTTP method written before it.
    `qualifier` is "at_least" / "at_most" / "about" for bounds and estimates, "previous" for a
    number about the previous equal-length period. `offset` is where `text` starts in the input.
    """
    kind: str
    text: str
    value: object
    label: str | None
    sentence: int
    qualifier: str | None = None
    offset: int = -1


def extract_claims(text: str, known: KnownEntities | None = None, day: date | None = None) -> list[Claim]:
    """Every checkable claim in `text`, in order. Quoted spans are never claims; times of day
    become windows on `day` (1970-01-01 without one, for the verifier to place)."""
    known = known or KnownEntities()
    attributes, prepared = _prepare(text, known)
    bounds = sentence_bounds(prepared)
    entities, rest = find_entities(prepared, known)
    claims = []
    for span in attributes + entities + find_numbers(rest, day):
        sentence = next((i for i, (a, b) in enumerate(bounds) if a <= span.start < b), max(len(bounds) - 1, 0))
        claims.append(Claim(kind=span.kind, text=text[span.start:span.end].strip(), value=span.value,
                            label=span.label, sentence=sentence, qualifier=span.qualifier, offset=span.start))
    return sorted(claims, key=lambda c: c.offset)


def _prepare(text: str, known: KnownEntities | None = None):
    """field=value pairs first, quoted values too (the value is the claim, not a quotation), then
    the quotes blanked."""
    # A pair inside a quotation (a log message's "active=50") is someone else's words; only a pair whose
    # name stands outside quotes is a claim (its value may be quoted: user_agent="…"). A pair inside a known
    # route (/search?q=a) is part of that name. A known name's own quote marks (`pay"ments`) quote nothing.
    names = quoted_name_spans(text, known) if known else []
    unquoted = blank_quotes_but(text, names)
    routes = known_route_spans(text, known) if known else []
    attributes = [s for s in find_attributes(text) if unquoted[s.start] != " "
                  and not any(a < s.end and s.start < b for a, b, _, _ in routes)]
    prepared = text
    for span in attributes:
        prepared = blank(prepared, span.start, span.end)
    return attributes, blank_quotes_but(prepared, names)


def unquoted(text: str, known: KnownEntities | None = None) -> str:
    """`text` with what it quotes blanked (offsets kept), as the claim parser reads it: a known name's own
    quote marks quote nothing."""
    return blank_quotes_but(text, quoted_name_spans(text, known) if known else [])


def sentences(text: str, known: KnownEntities | None = None) -> list[str]:
    """The sentences of `text` as extract_claims numbers them (with the same known names)."""
    return [text[a:b].strip() for a, b in sentence_bounds(_prepare(text, known)[1])]
