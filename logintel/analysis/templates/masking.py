"""Variable maskers: replace the values in a log message (numbers, ids, addresses, paths, times…) with <*>.

The rules are general shapes of values, never keyed to one system; they run as one alternation so the
leftmost, highest-priority shape wins at each position.
"""
from __future__ import annotations

import re
from typing import Iterable

WILDCARD = "<*>"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2}|\s[A-Z]{3,4}(?=\s\d{4}\b))"
# Host names end in a top-level domain: the generic ones and country codes that are not also common file
# extensions or key names (.id, .in, .is, .py, .sh, .rs, .md, .js stay out: "task.id" is a config key).
_TLD = (r"(?:com|net|org|edu|gov|mil|int|info|biz|cloud|local|localdomain|internal|lan|arpa"
        r"|at|au|be|br|ca|ch|cn|cz|de|dk|es|eu|fi|fr|gr|hk|hu|ie|il|jp|kr|mx|nl|no|nz|pl|pt|ru|se|sg|tw|ua|uk"
        r"|us|za)")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_UNIT_WORD = (r"(?:bytes?|B|[KMGTP]i?B|[kmgt]b|ms|µs|us|ns|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?"
              r"|msecs?|millis(?:econds?)?)")
_UNIT_SUFFIX = r"(?:[KMGTP]i?B|[kmgt]b|B|ms|µs|us|ns|s|sec|m|min|h|d|%)"

_PLAIN_WORD = (r"(?!localhost|Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
               r"[A-Za-z]+(?:[\s,;]|$)")

# (name, pattern, replacement) in priority order. Patterns use only non-capturing groups, must not start
# right after a letter or digit and must not match a plain word (the combined regex relies on both).
MASKERS: tuple[tuple[str, str, str | None], ...] = (
    ("url", r"\b[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s\"'<>()\[\]{}]+", WILDCARD),
    ("email", r"(?<![\w.+-])[\w.+-]+@" + _LABEL + r"(?:\." + _LABEL + r")+(?![\w-])", WILDCARD),
    ("uuid", r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}(?![0-9A-Fa-f-])", WILDCARD),
    ("datetime", r"(?<![\w:])\d{4}-\d{2}-\d{2}(?:[T ]" + _CLOCK + _ZONE + r"?)?(?![\w:])"
                 r"|(?<!\w)(?:" + _WEEKDAY + r"\s+)?" + _MONTH + r"\s+\d{1,2}(?:,?\s+\d{4})?"
                 r"(?:\s+" + _CLOCK + r")?" + _ZONE + r"?(?:\s+\d{4})?(?![\w:])"
                 r"|(?<![\w/.-])\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}(?![\w/.-])"
                 r"|(?<![\w:.])" + _CLOCK + r"(?![\w:])", WILDCARD),
    ("host", r"(?<![\w.@/-])(?=[\w-]*\.)(?:[A-Za-z0-9][\w-]*(?:\.[\w-]+)+:\d{1,5}(?!\w)"
             r"|[A-Za-z0-9][\w-]*(?:\.[\w-]+)*\." + _TLD + r"(?![\w-]|\.\w))"
             r"|(?<![\w.@/-])localhost(?::\d{1,5})?(?![\w.-])", WILDCARD),
    ("ip", r"(?<![\w.])/?\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w]|\.\d)"
           r"|(?<![\w:.])(?=[0-9A-Fa-f:]*\d)(?=(?:[0-9A-Fa-f]*:){2})(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}"
           r"(?![\w:])", WILDCARD),
    ("path", r"(?<![\w./:@-])(?:~|\.{1,2})?(?:/[\w.@%+~=:*$-]+)+/?"
             r"|(?<![\w])[A-Za-z]:\\(?:[\w .$-]+\\)*[\w.$-]*", WILDCARD),
    # A key=value value that is not a plain word (it carries digits, dots, dashes…) is data.
    ("kv", r"(?<=\w=)(?=[^\s,;)\]}\"']*[^A-Za-z\s,;)\]}\"'])[^\s,;)\]}\"']+", WILDCARD),
    ("quoted", r"(?<![\w'])'[^'\n]{1,200}'(?![\w'])|(?<![\w\"])\"[^\"\n]{1,200}\"(?![\w\"])", None),
    ("hex", r"(?<![A-Za-z0-9])0[xX][0-9A-Fa-f]+(?![A-Za-z0-9])"
            r"|(?<![A-Za-z0-9])(?=[0-9A-Fa-f]*\d)(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{6,}(?![A-Za-z0-9])", WILDCARD),
    ("size", r"(?<![\w.])[<>]?=?[-+]?\d+(?:\.\d+)?(?:\s?" + _UNIT_WORD + r"|" + _UNIT_SUFFIX + r")(?![\w])",
     WILDCARD),
    ("number", r"(?<![A-Za-z0-9])[-+]?\d+(?:\.\d+)*(?![A-Za-z0-9])", WILDCARD),
)
MASKER_NAMES = tuple(name for name, _, _ in MASKERS)
# Quoted text is as often the event's subject (a service, a filter, a request line "GET /x HTTP/1.1") as a
# value, and masking it whole merges distinct events; values inside quotes are masked by the other shapes.
DEFAULT_MASKERS = tuple(name for name in MASKER_NAMES if name != "quoted")


class Masker:
    """Compiled maskers; `mask(text)` returns the text with every recognised value replaced."""

    def __init__(self, kinds: Iterable[str] = DEFAULT_MASKERS) -> None:
        kinds = tuple(kinds)
        unknown = set(kinds) - set(MASKER_NAMES)
        if unknown:
            raise ValueError(f"unknown masker(s): {', '.join(sorted(unknown))}; known: {', '.join(MASKER_NAMES)}")
        chosen = [(n, p, r) for n, p, r in MASKERS if n in kinds]
        self.kinds = tuple(n for n, _, _ in chosen)
        self._replacement = {n: r for n, _, r in chosen}
        # Every shape starts where no letter or digit precedes it, and none is a plain word (bar "localhost"
        # and month or weekday names): checking that first lets the scan skip most text cheaply.
        alternatives = "|".join(f"(?P<{n}>{p})" for n, p, _ in chosen)
        self._regex = re.compile(rf"(?<![A-Za-z0-9])(?!{_PLAIN_WORD})(?:{alternatives})") if chosen else None
        # A plain string replacement is faster than a callback; only quoted text needs one.
        self._sub = WILDCARD if all(r == WILDCARD for _, _, r in chosen) else self._replace

    def _replace(self, m: re.Match) -> str:
        replacement = self._replacement[m.lastgroup]
        if replacement is None:  # quoted: keep the quote characters so 'x' and "x" stay distinct shapes
            quote = m.group()[0]
            return f"{quote}{WILDCARD}{quote}"
        return replacement

    def mask(self, text: str) -> str:
        return self._regex.sub(self._sub, text) if self._regex else text
