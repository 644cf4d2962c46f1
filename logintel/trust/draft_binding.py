"""A model's sentences bound to the drafts they reword: each names its draft by id and stands only where it
states exactly that draft's claims, nothing uncheckable of its own and no stance its draft lacks
(`rewording_problem`); otherwise the draft stands, and `Binding.counts()` says how many were offered, accepted
and replaced."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from logintel.trust.claim_share import NOTHING_TO_VERIFY
from logintel.trust.claims import Claim, extract_claims, sentences, unquoted
from logintel.trust.entities import KnownEntities
from logintel.trust.stance import added_stance

# Any number as written, outside quotes: "110 CPU-seconds", "$0.0123" and "14.4×" are statements as much as
# "60 errors" (digits inside names and ids are part of the name: no boundary around them).
_NUMERAL = re.compile(r"(?<![\w.])\d(?:[\d,.]*\d)?(?!\w)")
# What a reworded sentence may not bring in: a tag or mention (<!channel>, <script>), code spans and links.
_MARKUP = ("<", ">", "`", "://")
# Where a sentence's parts end: a part that states nothing checkable must be one of its draft's own parts.
_FRAGMENT_END = re.compile(r"[,;:](?=\s|$)|\s[—–-]\s|[()\[\]]|[.!?]+(?=\s|$)|\n")
_PLAIN_ID = re.compile(r"[\w.:/-]{1,64}")
MAX_LISTED = 10


@dataclass(frozen=True)
class Draft:
    """One unit our writer drafted, which a model may reword: its id (what the model's sentence names) and text."""
    id: str
    text: str


@dataclass
class Rewording:
    """One draft and what became of the model's sentence for it."""
    draft_id: str
    draft: str
    offered: str | None = None   # the model's sentence, None when it gave none
    problem: str | None = None   # why the offered sentence gave way to the draft

    @property
    def accepted(self) -> bool:
        return self.offered is not None and self.problem is None

    @property
    def text(self) -> str:
        """What is kept: the model's sentence when accepted, else the draft."""
        return self.offered if self.accepted else self.draft


@dataclass
class Binding:
    """The drafts in their order, each with its outcome, and the sentences that named no draft (or one already
    worded); `order` is the draft ids in the order the model first named them."""
    reworded: list[Rewording]
    stray: list[dict] = field(default_factory=list)   # {draft_id, text, problem}
    order: list[str] = field(default_factory=list)

    def of(self, draft_id: str) -> Rewording:
        return next(r for r in self.reworded if r.draft_id == draft_id)

    def reject(self, draft_id: str, problem: str) -> None:
        """A later check (grounding against the warehouse, say) turns an accepted sentence down."""
        rewording = self.of(draft_id)
        if rewording.accepted:
            rewording.problem = problem

    def reject_all(self, problem: str) -> None:
        for rewording in self.reworded:
            self.reject(rewording.draft_id, problem)

    @property
    def offered(self) -> int:
        return sum(r.offered is not None for r in self.reworded) + len(self.stray)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.reworded)

    def counts(self) -> dict:
        """What an output records of its wording: `offered` (sentences the model returned), `accepted` (those that
        stand), `replaced` (offered − accepted: each gave way to its draft, or was dropped for naming no draft or
        one already worded) and `unworded` (drafts the model gave no sentence for, kept as written)."""
        return {"offered": self.offered, "accepted": self.accepted, "replaced": self.offered - self.accepted,
                "unworded": sum(r.offered is None for r in self.reworded)}

    def problems(self, limit: int = MAX_LISTED) -> list[str]:
        """Why sentences gave way, each prefixed with the draft id it named."""
        every = [f"{r.draft_id}: {r.problem}" for r in self.reworded if r.offered is not None and r.problem]
        # an id of the model's own is repeated only when it looks like one (it is its words, stored)
        every += [f"{s['draft_id'] if _PLAIN_ID.fullmatch(s['draft_id']) else '(an unknown id)'}: {s['problem']}"
                  for s in self.stray]
        return every[:limit]

    def first_problem(self) -> str | None:
        listed = self.problems(1)
        return listed[0] if listed else None


def unworded(drafts: Iterable[Draft]) -> Binding:
    """The binding of an offline text: every draft as written."""
    return Binding([Rewording(d.id, d.text) for d in drafts])


def bind(drafts: list[Draft], offered: Iterable[tuple[object, object]], known: KnownEntities | None = None,
         day: date | None = None) -> Binding:
    """Each of the model's (draft id, text) sentences checked against the draft it names (see the module)."""
    binding = unworded(drafts)
    by_id = {r.draft_id: r for r in binding.reworded}
    for draft_id, text in offered:
        draft_id, text = str(draft_id or ""), str(text or "")
        rewording = by_id.get(draft_id)
        if rewording is None:
            binding.stray.append({"draft_id": draft_id, "text": text, "problem": "names no draft it was given"})
            continue
        if rewording.offered is not None:
            binding.stray.append({"draft_id": draft_id, "text": text, "problem": "a second sentence for one draft"})
            continue
        rewording.offered = text.strip()
        rewording.problem = rewording_problem(rewording.draft, rewording.offered, known, day)
        binding.order.append(draft_id)
    return binding


def rewording_problem(draft: str, text: str, known: KnownEntities | None = None, day: date | None = None) -> str | None:
    """Why `text` does not state exactly what `draft` states, or None.

    It must state the same claims — the same numbers (any number written outside quotes, not only those the
    claim parser labels: "110 CPU-seconds" as much as "60 errors"), names, time windows, ids and field=value
    pairs, each with its label and qualifier, none added and none dropped — in no more sentences than its draft,
    with no markup, link or quotation its draft lacks. What states nothing checkable is kept to its draft's own
    words (case and punctuation aside): a sentence with no claim only where its draft sentence has none and in
    its words ("All systems are healthy." cannot stand in for "No single cause stands out: …"), and each part of
    a sentence between commas, semicolons, colons, spaced dashes or brackets that states no claim must be one of
    its draft's parts ("…; the database is fine, no action needed" cannot ride on a sentence whose figures are
    right). Words inside a part that states claims are the model's, but none of them may take a stance its
    draft does not (`stance`: a negation, reassurance, dismissal or instruction): "60 errors and nothing to
    worry about" cannot stand for "60 errors on checkout". A known name's own quote marks (`pay"ments`) quote
    nothing."""
    if not text.strip():
        return "an empty sentence"
    bare_text, bare_draft = unquoted(text, known), unquoted(draft, known)
    markup = [m for m in _MARKUP if m in bare_text and m not in bare_draft]
    if markup:
        return f"adds markup its draft lacks ({' '.join(markup)})"
    if not set(_quotations(text, known)) <= set(_quotations(draft, known)):
        return "quotes what its draft does not"
    theirs, ours = sentences(text, known), sentences(draft, known)
    if len(theirs) > len(ours):
        return f"{len(theirs)} sentences where its draft has {len(ours)}"
    unchecked = set(_unchecked(ours, known, day))
    if any(words not in unchecked for words in _unchecked(theirs, known, day)):
        return (f"{NOTHING_TO_VERIFY} in a sentence that is not its draft's own words" if unchecked
                else f"{NOTHING_TO_VERIFY} in a sentence where its draft states claims")
    stated, drafted = claim_set(text, known, day), claim_set(draft, known, day)
    added, dropped = stated - drafted, drafted - stated
    if added:
        return "states what its draft does not: " + _listed(added)
    if dropped:
        return "leaves out what its draft states: " + _listed(dropped)
    own = set(_unchecked(_fragments(draft, known), known, day))
    extra = [words for words in _unchecked(_fragments(text, known), known, day) if words not in own]
    if extra:
        return (f"{NOTHING_TO_VERIFY} in {len(extra)} part(s) of it that its draft does not have "
                f"({sum(map(len, extra))} words)")
    stance = added_stance(bare_draft, bare_text)
    if stance:
        return f"takes a stance its draft does not ({', '.join(stance)})"
    return None


def claim_set(text: str, known: KnownEntities | None = None, day: date | None = None) -> frozenset:
    """The claims of `text` as comparable keys: each claim's kind, value, label and qualifier, and every number
    written outside quotes."""
    keys = {_key(c) for c in extract_claims(text, known or KnownEntities(), day) if c.kind != "user"}
    keys |= {("number", _numeral(m.group())) for m in _NUMERAL.finditer(unquoted(text, known))}
    return frozenset(keys)


def draft_sentences(text: str, prefix: str) -> list[Draft]:
    """An offline text split into drafts of one sentence each, with ids `prefix`1, `prefix`2, …"""
    return [Draft(f"{prefix}{n}", sentence) for n, sentence in enumerate(sentences(text), 1) if sentence.strip()]


def _key(claim: Claim) -> tuple:
    return (claim.kind, claim.value, claim.label, claim.qualifier)


def _numeral(written: str) -> object:
    plain = written.replace(",", "")
    try:
        return float(plain)
    except ValueError:
        return plain  # an address or a version: compared as written


def _fragments(text: str, known: KnownEntities | None) -> list[str]:
    """The parts of a text between commas, semicolons, colons, spaced dashes, brackets and sentence ends, its
    quotations blanked (a time such as 10:38, a count such as 1,240 or a window 10:38–10:52 is never cut)."""
    return [part for part in _FRAGMENT_END.split(unquoted(text, known)) if part and part.strip()]


def _quotations(text: str, known: KnownEntities | None) -> list[str]:
    """What the claim parser reads as someone else's words (blanked as quoted, an unclosed quote to its line's
    end), each whitespace-collapsed."""
    bare = unquoted(text, known)
    spans, start = [], None
    for i, (a, b) in enumerate(zip(text, bare)):
        if a != b and start is None:
            start = i
        elif a == b and start is not None and not a.isspace():
            spans.append(text[start:i])
            start = None
    if start is not None:
        spans.append(text[start:])
    return [" ".join(q.split()) for q in spans]


def _unchecked(texts: list[str], known: KnownEntities | None, day: date | None) -> list[tuple[str, ...]]:
    """The words (lower-cased) of each sentence that states nothing checkable."""
    return [tuple(re.findall(r"\w+", t.lower())) for t in texts if re.search(r"\w", t) and not claim_set(t, known, day)]


def _listed(keys: frozenset) -> str:
    shown = sorted(_shown(k) for k in keys)
    return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")


def _shown(key: tuple) -> str:
    kind, value = key[0], key[1]
    if kind == "attribute":
        return f"{value[0]}={value[1]}"
    if kind == "time_window":
        return f"the window {value[0]:%H:%M}–{value[1]:%H:%M}"
    if isinstance(value, float):
        value = f"{value:g}"
    if kind == "number":
        return f"the number {value}"
    return f"{value} ({kind if not key[2] else f'{kind}, {key[2]}'})"
