"""Hostile inputs for the attack suite: JSON of any shape (odd strings, huge numbers, deep nesting), records
that look almost like wide events, and raw bytes."""
from __future__ import annotations

import string

from hypothesis import strategies as st

# Every plane of Unicode that JSON can carry, with the characters that break stores and terminals made likely.
NASTY = st.sampled_from(["\x00", "\x1b[31m", "\u2028", "\ufeff", "\ud800", "'; DROP TABLE raw_events; --",
                         "<script>alert(1)</script>", "<!channel>", "../../etc/passwd", "\r\n", "\t", "%s%n",
                         "A" * 3000, "ß", "💥", "\u202e"])
TEXT = st.one_of(st.text(max_size=40), NASTY, st.text(alphabet=string.printable, max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63, max_value=2**80),
                    st.floats(allow_nan=True, allow_infinity=True), TEXT)


def json_values(max_leaves: int = 30) -> st.SearchStrategy:
    """Any JSON-like value, nested."""
    return st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                         st.dictionaries(TEXT, inner, max_size=5)),
                        max_leaves=max_leaves)


def deep(depth: int, leaf=1) -> object:
    """A value nested `depth` deep, alternating objects and lists."""
    value = leaf
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


FIELDS = ("event_id", "timestamp", "service", "route", "duration_ms", "level", "method", "status", "error",
          "error.code", "error.message", "trace_id", "user_id", "client_ip", "user_agent", "sample_rate", "attributes")
GOOD = {"event_id": "e-1", "timestamp": "2026-11-23T10:00:01Z", "service": "payments", "route": "/charge",
        "duration_ms": 12.5, "level": "error", "error.code": "PG_TIMEOUT", "attributes": {"region": "eu"}}


@st.composite
def almost_events(draw) -> dict:
    """A good wide event with some fields replaced by anything, some removed, some added."""
    record = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        record[name] = draw(json_values(8))
    for name in draw(st.lists(st.sampled_from(sorted(record)), max_size=2, unique=True)):
        record.pop(name, None)
    record.update(draw(st.dictionaries(TEXT, json_values(5), max_size=3)))
    if draw(st.booleans()):
        record["attributes"] = draw(st.one_of(json_values(10), st.just(deep(draw(st.integers(1, 400))))))
    return record
