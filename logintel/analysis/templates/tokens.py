"""From a message to the token sequence the miner compares, and a template's canonical text."""
from __future__ import annotations

import re

from logintel.analysis.templates.masking import WILDCARD, Masker

# A value rendered twice ("1543 bytes (1.50 KB)") or with an empty rendering ("host ()") is one variable.
_ALTERNATE = re.compile(r"<\*>\s?[(\[]\s*(?:<\*>)?\s*[)\]](?![\w(\[])")
# Variable-length lists ("1 2 3", "a,b,c", "x##y##z") are one variable however many items they carry.
_RUN = re.compile(r"<\*>(?:[\s,;:#|/._-]*<\*>)+")


def collapse(text: str) -> str:
    """Fold adjacent variables into one wildcard so a parameter's item count does not split templates.

    Returns the text single-spaced; lists of one masked shape ("blk_<*> blk_<*> blk_<*>") fold too.
    """
    if "<*>" not in text:
        return " ".join(text.split())
    folded: list[str] = []
    for token in _RUN.sub(WILDCARD, _ALTERNATE.sub(WILDCARD, text)).split():
        if not (folded and token == folded[-1] and "<*>" in token):
            folded.append(token)
    return " ".join(folded)


def canonical(tokens: list[str]) -> str:
    return collapse(" ".join(tokens))


class Tokenizer:
    """Caps untrusted input, masks values, folds variable runs and splits on whitespace."""

    def __init__(self, masker: Masker, max_chars: int, max_tokens: int, fold_runs: bool = True) -> None:
        self.masker = masker
        self.max_chars = max_chars
        self.max_tokens = max_tokens
        self.fold_runs = fold_runs

    def __call__(self, message: str) -> list[str]:
        masked = self.masker.mask(message[: self.max_chars])
        if self.fold_runs:
            masked = collapse(masked)
        return masked.split()[: self.max_tokens]
