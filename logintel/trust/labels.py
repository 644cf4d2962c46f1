"""What a number in text quantifies, read from the words around it: its noun ("278 errors"), its
keyword ("peak 70", "p99 5.5 s"), a bound ("over 250"), a direction ("rose 15%") or a baseline.
"""
from __future__ import annotations

import re

NOUNS = {
    "errors": "errors", "error": "errors", "failures": "errors", "failure": "errors", "failed": "errors",
    "failing": "errors", "exceptions": "errors", "timeouts": "errors", "timeout": "errors", "5xx": "errors",
    "errored": "errors", "faults": "errors",
    "requests": "requests", "request": "requests", "calls": "requests", "hits": "requests", "req": "requests",
    "reqs": "requests",
    "users": "users", "user": "users", "customers": "users", "customer": "users", "people": "users",
    "accounts": "users", "shoppers": "users", "clients": "users",
}
_COUNT_KEYWORDS = {"peak": "peak", "peaked": "peak", "peaking": "peak", "threshold": "threshold",
                   "limit": "threshold"}
_DURATION_KEYWORDS = {"p50": "p50", "median": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p999": "p999",
                      "max": "max", "maximum": "max", "peak": "max", "slowest": "max", "average": "avg",
                      "avg": "avg", "mean": "avg", "latency": "latency", "latencies": "latency",
                      "duration": "latency", "response": "latency", "lasted": "length", "lasting": "length",
                      "for": "length", "persisted": "length", "persisting": "length", "spanning": "length",
                      "spanned": "length", "outage": "length"}
_SPECIFICITY = ("p50", "p90", "p95", "p99", "p999", "max", "avg", "length", "latency")
_LINKS = frozenset("""of at was is were reached reaching hit to around about approximately approx roughly nearly
almost over above under below than more less fewer least most by a an the ~ ≈ had has with some close up time
times been stood sat came in affected impacted total count number""".split())
_STOPS = frozenset("in of per to and across over during between from for at on with by than vs versus out".split())
_UP = frozenset("rose rise rises rising risen increase increased increases increasing up grew grow grows growing "
                "grown jump jumped jumps spike spiked spikes climb climbed climbs surge surged surges higher more "
                "worse".split())
_DOWN = frozenset("fell fall falls falling fallen drop dropped drops decline declined declines decrease decreased "
                  "decreases decreasing down lower less fewer reduced reduction shrank dipped dip better".split())
_AT_LEAST = frozenset("over above exceeding exceeded >".split())
_AT_MOST = frozenset("under below <".split())
_ABOUT = frozenset("about around approximately approx roughly nearly almost ~ ≈ some".split())
# In order of precedence when two match at the same place ("error volume" is errors, not traffic).
_SUBJECTS = (("rate", r"\b(?:error|failure) rates?\b"),
             ("errors", r"\b(?:error (?:volume|count)s?|errors?|failures?|failed|timeouts?|exceptions?|5xx"
                        r"|[a-z0-9]+_[a-z0-9_]+)\b"),
             ("latency", r"\b(?:latenc\w*|p\d{2,3}|slow\w*|duration|response times?)\b"),
             ("requests", r"\b(?:traffic|requests?|load|volume|calls|throughput)\b"))
_FAILED = frozenset({"failed", "failing", "errored", "timed"})
_PER_WINDOW = re.compile(r"\W*(?:[\w-]+\s+){0,2}?(?:errors?|failures?)\s+(?:per\s+\d+[\s-]*min|in\s+(?:a|one|any|each)"
                         r"\s+\d*[\s-]*min\w*\s+window)", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[;,\[\]—\n]|\.\s")
_WORD = re.compile(r"[A-Za-z][\w-]*|[~<>≈]")


def change_subject(text: str, offset: int) -> str:
    """What a stated percentage change is about: the subject before it ("timeouts rose 15%"), else
    the words after it ("a 15% rise in latency"), else errors."""
    start = max([m.end() for m in re.finditer(r"[;\n]|\.\s", text[:offset])], default=0)
    stop = re.search(r"[;\n]|\.\s", text[offset:])
    before, after = text[start:offset].lower(), text[offset: offset + (stop.start() if stop else len(text))].lower()
    return _subject(before, nearest_end=True) or _subject(after, nearest_end=False) or "errors"


def _subject(part: str, nearest_end: bool) -> str | None:
    """The subject named nearest the number: the last one before it, or the first one after it."""
    found = [((m.end() if nearest_end else -m.start()), -rank, subject)
             for rank, (subject, pattern) in enumerate(_SUBJECTS) for m in re.finditer(pattern, part)]
    return max(found)[2] if found else None


def _clause_before(text: str, pos: int) -> list[str]:
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text, 0, pos)]
    return [w.lower() for w in _WORD.findall(text[breaks[-1] if breaks else 0: pos])]


def _clause_after(text: str, pos: int) -> str:
    stop = _CLAUSE_BREAK.search(text, pos)
    return text[pos: stop.start() if stop else len(text)]


def _keywords_before(words: list[str], limit: int = 3) -> list[str]:
    """The nearest `limit` words before a number that are not linking words, nearest first."""
    found = []
    for word in reversed(words):
        if word not in _LINKS:
            found.append(word)
            if len(found) == limit:
                break
    return found


def qualifier(text: str, start: int, end: int | None = None) -> str | None:
    """"at_least" / "at_most" / "about" for a bound or estimate, "previous" for a baseline number."""
    words = _clause_before(text, start)[-3:]
    joined = " ".join(words)
    if end is not None and re.match(r"\s*(?:\w+\s+){0,2}?(?:in|during|over)\s+the\s+(?:previous|prior|preceding)\b",
                                    text[end:]):
        return "previous"
    if re.search(r"(?:more than|at least|greater than)$", joined) or (words and words[-1] in _AT_LEAST):
        return "at_least"
    if re.search(r"(?:less than|fewer than|at most|up to)$", joined) or (words and words[-1] in _AT_MOST):
        return "at_most"
    if re.search(r"close to$", joined) or (words and words[-1] in _ABOUT):
        return "about"
    return None


def percent_meaning(text: str, start: int, end: int, sign: str | None) -> tuple[int, str, str | None]:
    """(direction, label, qualifier) of a percentage: a signed or verbed one ("+15%", "rose 15%",
    "a 15% drop") is a change (direction 1 or -1); any other is a rate or share (direction 0)."""
    before = _clause_before(text, start)
    after = [w.lower() for w in _WORD.findall(_clause_after(text, end))][:2]
    direction = 0
    if sign:
        direction = -1 if sign in "-−" else 1
    elif not before or before[-1] not in ("to", "from"):  # "rose to 56%" states a level, not a change
        recent = re.sub(r"\b(?:more|less|fewer|greater|higher|lower) than\b", "", " ".join(before[-4:])).split()
        near_before = [w for w in recent if w in _UP or w in _DOWN]
        near_after = [w for w in after if w in _UP or w in _DOWN]
        word = near_before[-1] if near_before else near_after[0] if near_after else None
        direction = 0 if word is None else 1 if word in _UP else -1
    if direction:
        return direction, "change", qualifier(text, start)
    return 0, "rate", "previous" if before and before[-1] == "from" else qualifier(text, start)


def duration_label(text: str, start: int, end: int) -> str | None:
    """The most specific of the keywords before a duration, or the one word right after it."""
    candidates = [_DURATION_KEYWORDS[w] for w in _keywords_before(_clause_before(text, start))
                  if w in _DURATION_KEYWORDS]
    after = [w.lower() for w in _WORD.findall(_clause_after(text, end))][:1]
    candidates += [_DURATION_KEYWORDS[w] for w in after if w in _DURATION_KEYWORDS and w != "for"]
    if "-" in text[start:end] and after and after[0] in ("outage", "incident", "spike", "burst", "event"):
        candidates.append("length")  # "a 33-minute outage"
    return next((label for label in _SPECIFICITY if label in candidates), None)


def count_label(text: str, start: int, end: int) -> tuple[str | None, bool]:
    """(label, whether the number is a claim at all): a bare number with no noun is not."""
    before = _keywords_before(_clause_before(text, start))
    for word in before[:2]:
        if word in _COUNT_KEYWORDS:
            return _COUNT_KEYWORDS[word], True
    after_text = _clause_after(text, end)
    share = re.match(r"\s*(?:out\s+)?of\s+(?:the\s+)?(?:all\s+)?[\d,.]+\s+(\w+)\s*(\w*)", after_text)
    if share and share.group(1).lower() in NOUNS:
        # "278 of 494 requests failed": the part is errors when the whole is said to fail, else unnamed
        return ("errors" if share.group(2).lower() in _FAILED else None), True
    of_total = re.search(r"\d\s+(?:out\s+)?of\s+(?:the\s+)?(?:all\s+)?$", text[:start])
    after = [w.lower() for w in _WORD.findall(after_text)][:4]
    for i, word in enumerate(after[:3]):
        if word in _STOPS:
            break
        label = NOUNS.get(word)
        if label == "requests" and not of_total and i + 1 < len(after) and after[i + 1] in _FAILED:
            return "errors", True
        if label == "errors" and _PER_WINDOW.match(after_text):
            return "peak", True  # "70 errors per 5 min"
        if label:
            return label, True
    if before and before[0] in NOUNS:
        return NOUNS[before[0]], True  # "Requests: 494"
    return None, False
