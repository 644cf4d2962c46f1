"""The share of a text's checkable claims that were grounded — or "nothing to verify" when it held none.

A text that states no number, name, time window or id is neither grounded nor ungrounded: it is unchecked,
and its ratio is None, never 1.0 (a reassurance such as "the database is fine, no action needed" would
otherwise pass as fully grounded). The grounding engine (`batch.py` / `verify.py` for texts about the
warehouse, `item_grounding.py` for a text against its source's figures) and every verdict built on it
(incidents, digest, briefings, findings, ask) count their claims with this type."""
from __future__ import annotations

from dataclasses import dataclass

NOTHING_TO_VERIFY = "nothing to verify"
NO_CLAIM = f"{NOTHING_TO_VERIFY}: no number, name, time window or id in the text"


@dataclass(frozen=True)
class ClaimShare:
    claims: int
    grounded: int

    @property
    def nothing_to_verify(self) -> bool:
        return self.claims == 0

    @property
    def ratio(self) -> float | None:
        """Grounded claims over claims; None when there were none."""
        return self.grounded / self.claims if self.claims else None

    @property
    def state(self) -> bool | None:
        """True: every claim grounded; False: one or more not; None: nothing to verify."""
        return None if self.nothing_to_verify else self.grounded == self.claims

    def percent(self, digits: int = 2) -> float | None:
        """The grounded share in percent, rounded (what metadata shows); None when nothing to verify."""
        return grounded_pct(self.ratio, digits)

    def meets(self, minimum: float) -> bool | None:
        """Whether the share reaches `minimum`; None when there is nothing to verify (a caller decides what
        an unchecked text is worth: it is not a grounded one)."""
        return None if self.nothing_to_verify else self.ratio >= minimum

    def describe(self) -> str:
        if self.nothing_to_verify:
            return NO_CLAIM
        return f"{self.grounded}/{self.claims} claims grounded ({100 * self.ratio:.1f}%)"

    def fields(self, digits: int | None = None) -> dict:
        """What a JSON output keeps: `ratio` (None when there is nothing to verify) and `ratio_reason`
        (why it is None, else None)."""
        ratio = self.ratio
        if ratio is not None and digits is not None:
            ratio = round(ratio, digits)
        return {"ratio": ratio, "ratio_reason": NO_CLAIM if ratio is None else None}


def grounded_pct(ratio: float | None, digits: int = 2) -> float | None:
    """A stored ratio (0..1, or None for nothing to verify) in percent, as metadata and prints show it."""
    return None if ratio is None else round(100 * ratio, digits)
