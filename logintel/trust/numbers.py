"""Numbers in text that state a fact: counts with their noun, percentages, durations, time windows.

Dates, clock times, versions, HTTP statuses, periods ("the last 24 hours") and window sizes
("per 5 min") are blanked first: they say where to look, not what was found.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from logintel.trust.labels import NOUNS, count_label, duration_label, percent_meaning, qualifier
from logintel.trust.text import Span, blank

_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?(?![\w]))?"
_DAY = r"\d{4}-\d{2}-\d{2}"
_ZONE = r"(?:\s*(?:UTC|GMT|Z)\b)?"
_WINDOWS = (
    re.compile(rf"(?:(?P<d1>{_DAY})[T ])?(?P<t1>{_CLOCK}){_ZONE}\s*(?:–|—|-|\bto\b|\buntil\b|\btill\b|\bthrough\b)\s*"
               rf"(?:(?P<d2>{_DAY})[T ])?(?P<t2>{_CLOCK}){_ZONE}"),
    re.compile(rf"\bbetween\s+(?:(?P<d1>{_DAY})[T ])?(?P<t1>{_CLOCK}){_ZONE}\s+and\s+"
               rf"(?:(?P<d2>{_DAY})[T ])?(?P<t2>{_CLOCK}){_ZONE}", re.IGNORECASE),
)
_UNIT = r"(?:ms|msec|milliseconds?|s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|weeks?)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_NOT_CLAIMS = tuple(re.compile(p, re.IGNORECASE) for p in (
    rf"{_DAY}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(?:Z|[+-]\d{{2}}:?\d{{2}})?)?",
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b",
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:\s+\d{{4}})?\b",
    rf"{_CLOCK}{_ZONE}",
    r"(?<![\w.])v?\d+(?:\.\d+){2,}(?:[-+][\w.]+)?(?![\w.])",
    r"\b(?:version|release|v)\s?\d+(?:\.\d+)?\b",
    # "returned 503" is a status; "returned 221 errors" is a count of something.
    r"\b(?:HTTP|status(?:\s+code)?|code)\s*[:=]?\s*[1-5]\d\d\b",
    r"\b(?:returned|returning|returns|return)\s*[:=]?\s*[1-5]\d\d\b"
    r"(?!\s+(?:[A-Z][A-Z0-9_]+\s+)?(?:errors?|requests?|users?|failures?|timeouts?|events?|calls?|times)\b)",
    r"\b[1-5]\d\ds\b|\b[1-5]xx\b",
    r"\b[1-5]\d\d\s+(?=(?:OK|Created|Accepted|Bad Request|Unauthorized|Forbidden|Not Found|Conflict|Gone"
    r"|Too Many|Internal|Bad Gateway|Service Unavailable|Gateway Timeout)\b)",
    rf"\b(?:last|past|previous|prior|preceding|next|following|first)\s+(?:\d+[\s-]*)?{_UNIT}\b",
    rf"\b(?:per|every|each)\s+\d+[\s-]*{_UNIT}\b",
    rf"\b\d+[\s-]*{_UNIT}[\s-]+(?:sliding\s+)?(?:windows?|buckets?|intervals?|slots?|granularity|steps?)\b",
    r"(?:\btop|#|\bno\.|\bnumber)\s*\d+\b|\b\d+(?:st|nd|rd|th)\b",
))
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_PERCENT = re.compile(rf"(?<![\w.,])(?P<sign>[+\-−])?{_NUM}\s*(?:%|percent\b|per\s?cent\b|pct\b)", re.IGNORECASE)
_DURATION = re.compile(rf"(?<![\w.,]){_NUM}[\s-]?(?P<unit>ms|msec|milliseconds?|s|secs?|seconds?|min|mins|minutes?"
                       rf"|h|hrs?|hours?)(?![\w])", re.IGNORECASE)
_COUNT = re.compile(rf"(?<![\w.,:/+\-−]){_NUM}(?P<suffix>[kKM])?(?![\w%]|[.,]\d)")
_NONE_BEFORE = re.compile(r"\b(?P<word>none|no\s+errors|zero\s+errors|no\s+failures)\s+(?:in|during|over)\s+the\s+"
                          r"(?:previous|prior|preceding)\b", re.IGNORECASE)
_ZERO = re.compile(r"\b(?:no|zero)\s+(?:(?:new|more|other|further|additional)\s+)?(?P<noun>[a-z]+s)\b",
                   re.IGNORECASE)

_MS_PER = {"ms": 1, "msec": 1, "millisecond": 1, "milliseconds": 1, "s": 1000, "sec": 1000, "secs": 1000,
           "second": 1000, "seconds": 1000, "min": 60_000, "mins": 60_000, "minute": 60_000, "minutes": 60_000,
           "h": 3_600_000, "hr": 3_600_000, "hrs": 3_600_000, "hour": 3_600_000, "hours": 3_600_000}


def find_numbers(prepared: str, day: date | None = None) -> list[Span]:
    """Number spans in `prepared` text (quotes and entities already blanked)."""
    anchor = day or date(1970, 1, 1)
    spans: list[Span] = []
    for pattern in _WINDOWS:
        for m in list(pattern.finditer(prepared)):
            spans.append(Span("time_window", m.start(), m.end(), _window(m, anchor)))
            prepared = blank(prepared, m.start(), m.end())
    for m in list(_NONE_BEFORE.finditer(prepared)):
        spans.append(Span("count", m.start("word"), m.end("word"), 0.0, "errors", "previous"))
        prepared = blank(prepared, m.start("word"), m.end("word"))
    # Labels are read from the words around a number before periods and window sizes are blanked:
    # "errors per 5 min" is a peak, "in the previous 33 min" a baseline.
    context = prepared
    for pattern in _NOT_CLAIMS:
        for m in list(pattern.finditer(prepared)):
            prepared = blank(prepared, m.start(), m.end())

    for m in list(_PERCENT.finditer(prepared)):
        direction, label, qualified = percent_meaning(context, m.start(), m.end(), m.group("sign"))
        value = _number(m.group("num")) * (direction or 1)
        spans.append(Span("percent", m.start(), m.end(), value, label, qualified))
        prepared = blank(prepared, m.start(), m.end())
    for m in list(_DURATION.finditer(prepared)):
        value = _number(m.group("num")) * _MS_PER[m.group("unit").lower()]
        spans.append(Span("duration", m.start(), m.end(), value, duration_label(context, m.start(), m.end()),
                          qualifier(context, m.start())))
        prepared = blank(prepared, m.start(), m.end())
    for m in list(_COUNT.finditer(prepared)):
        label, is_claim = count_label(context, m.start(), m.end())
        if is_claim:
            value = _number(m.group("num")) * {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group("suffix") or "", 1)
            spans.append(Span("count", m.start(), m.end(), value, label, qualifier(context, m.start(), m.end())))
    for m in _ZERO.finditer(prepared):
        label = NOUNS.get(m.group("noun").lower())
        if label:
            spans.append(Span("count", m.start(), m.end(), 0.0, label))
    return sorted(spans, key=lambda s: s.start)


def resolution(text: str, kind: str) -> float:
    """Half the last written digit of a claim, in the claim's unit: "5.5 s" is 5450-5550 ms."""
    m = re.search(_NUM, text)
    if not m:
        return 0.0
    decimals = len(m.group("num").partition(".")[2])
    scale = 1.0
    if kind == "duration":
        unit = re.search(r"[A-Za-z]+$", text.strip())
        scale = _MS_PER.get(unit.group().lower(), 1) if unit else 1
    elif kind in ("count", "number") and text.strip()[-1:] in "kKM":
        scale = 1e6 if text.strip().endswith("M") else 1e3
    return 0.5 * 10 ** -decimals * scale


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _window(m: re.Match, anchor: date) -> tuple[datetime, datetime]:
    start = _clock(m.group("t1"), m.group("d1"), anchor)
    end = _clock(m.group("t2"), m.group("d2") or m.group("d1"), anchor)
    if end < start:  # "23:50–00:10" crosses midnight
        end += timedelta(days=1)
    return start, end


def _clock(text: str, day_text: str | None, anchor: date) -> datetime:
    m = re.match(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?", text)
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if m.group(4):
        hour = hour % 12 + (12 if m.group(4).lower() == "p" else 0)
    day = date.fromisoformat(day_text) if day_text else anchor
    return datetime(day.year, day.month, day.day) + timedelta(hours=hour, minutes=minute, seconds=second)
