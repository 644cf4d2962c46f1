"""Words that take a stance on what a sentence reports: a negation, a reassurance, a dismissal, an instruction.
A model's rewording may not bring in one its draft lacks — "60 errors and nothing to worry about" says more than
"60 errors on checkout" though it states the same claims — while it may drop one or reorder the rest."""
from __future__ import annotations

import re

# A closed class: what turns a statement around ("no", "not", "isn't").
_NEGATIONS = "no not nothing none never nobody nowhere neither nor without cannot"
# What tells a reader the figures do not matter.
_REASSURANCE = ("fine ok okay healthy normal safe stable harmless benign expected resolved recovered nominal routine "
                "negligible insignificant trivial fixed mitigated worry worried worrying concern concerning relax "
                "calm alright reassuring")
_DISMISSAL = "ignore ignored ignoring disregard dismiss noise spurious unimportant irrelevant"
# What tells a reader to do something: the figures are ours, instructions are not.
_INSTRUCTIONS = "action needed required must restart rollback revert escalate urgent urgently immediately"
STANCE_WORDS = frozenset(" ".join((_NEGATIONS, _REASSURANCE, _DISMISSAL, _INSTRUCTIONS)).split())
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def stance_words(text: str) -> set[str]:
    """The stance words of `text` (lower-cased; a contraction such as "isn't" counts as "not")."""
    words = set()
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if word.endswith("n't"):
            words.add("not")
        elif word in STANCE_WORDS:
            words.add(word)
    return words


def added_stance(draft: str, text: str) -> list[str]:
    """The stance words `text` has and `draft` lacks, sorted."""
    return sorted(stance_words(text) - stance_words(draft))
