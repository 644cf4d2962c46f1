"""The template miner's knobs, in one object (one configuration serves every system)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from logintel.analysis.templates.masking import DEFAULT_MASKERS


@dataclass(frozen=True)
class MinerConfig:
    # Share of positions a message must have in common with a template to join it.
    similarity_threshold: float = 0.5
    # Credit a template wildcard earns against a message constant (0: only equal tokens count, as in Drain).
    wildcard_credit: float = 0.0
    # A pattern that absorbed this many messages keeps its constants: a message differing in one
    # starts a new template (a value that never varied over many lines is part of the event, not a parameter).
    constant_after: int = 10
    # Upper-case words (RUNNING, SCREEN_OFF, HTTPS) name states and kinds: a differing one is another event.
    enum_constants: bool = True
    # Consecutive template words a message may replace and still join: a longer run is another phrase.
    max_word_run: int = 1
    # Leading tokens that route a message through the prefix tree (after its token count).
    prefix_depth: int = 2
    # Children per tree node before new keys share the wildcard branch (bounds fan-out on unmasked values).
    max_children: int = 100
    # Untrusted input: only this much of a message is mined; longer ones still get a template.
    max_chars: int = 2000
    max_tokens: int = 200
    # Value shapes to mask, by name (masking.MASKERS); "quoted" is available but off by default.
    maskers: tuple[str, ...] = field(default=DEFAULT_MASKERS)
    # Fold adjacent variables into one (variable-length parameters, Drain3 issue #66).
    fold_variable_runs: bool = True
    # Let a template's wildcard stand for several tokens when no same-length template fits (Drain3 #17).
    multi_token_wildcards: bool = True
    # Merge a template into one that covers it once generalisation makes the other strictly more general.
    merge_subsumed: bool = True
    # Distinct token sequences remembered, so repeated messages skip the tree.
    cache_size: int = 200_000

    def __post_init__(self) -> None:
        if not 0.0 < self.similarity_threshold <= 1.0:
            raise ValueError("similarity_threshold must be in (0, 1]")
        if not 0.0 <= self.wildcard_credit <= 1.0:
            raise ValueError("wildcard_credit must be in [0, 1]")
        if self.prefix_depth < 0 or self.max_children < 1 or self.max_chars < 1 or self.max_tokens < 1:
            raise ValueError("prefix_depth must be >= 0; max_children, max_chars, max_tokens >= 1")
        object.__setattr__(self, "maskers", tuple(self.maskers))

    def to_dict(self) -> dict:
        return asdict(self) | {"maskers": list(self.maskers)}

    @classmethod
    def from_dict(cls, data: dict) -> "MinerConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
