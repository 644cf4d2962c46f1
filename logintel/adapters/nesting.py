"""The nesting limit (events.MAX_NESTING_DEPTH) applied where JSON comes in from outside, before
anything that recurses walks it.

What walks a decoded value recurses — the OTLP AnyValue mapping, the JSON encoders (orjson stops at
255 levels, the stdlib at the interpreter's recursion limit) — so a small line nested a thousand
deep would raise RecursionError far from where it came in and take its good neighbours down with it.
A record (a wide event, an OTLP log record with its resource and scope, a sampling policy) is
measured here first, and one nested deeper than the limit is rejected on its own, with the cause
file ingestion gives it: `nesting`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from logintel.adapters.otel import OtlpRecordError, parse_otlp_document
from logintel.events import MAX_NESTING_DEPTH, EventValidationError, WideEvent, nesting_depth

CUT = "<nested too deep: cut here>"


class NestingError(EventValidationError):
    """A value nested deeper than MAX_NESTING_DEPTH (dead-letter cause `nesting`)."""

    def __init__(self, where: str = "<record>"):
        super().__init__(where, "<nested too deep to show>", f"nested deeper than {MAX_NESTING_DEPTH} levels",
                         line_problem="nesting")

    def __reduce__(self):
        return (self.__class__, (self.field,))


def too_deep(value: Any) -> bool:
    """Whether a decoded JSON value nests deeper than the limit (the value itself is level 1)."""
    return nesting_depth(value, MAX_NESTING_DEPTH) > MAX_NESTING_DEPTH


def may_be_too_deep(text: bytes) -> bool:
    """False when JSON text cannot nest deeper than the limit: it opens no more objects and arrays than
    that. A count in C, so the common small record is never walked."""
    return text.count(b"{") + text.count(b"[") > MAX_NESTING_DEPTH


# A string, to its closing quote or (unterminated) to the end, as a decoder reads it: brackets in it
# do not count. Possessive, so no input makes the scan worse than linear.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def text_nesting_depth(text: bytes) -> int:
    """The deepest level of brackets outside strings in JSON text, measured before any decoder (which
    may recurse) sees it; the text need not be valid JSON. All in C: no loop in Python per byte."""
    brackets = _STRING.sub(b"", text).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_text_nesting(text: bytes, where: str = "<document>") -> None:
    """NestingError when JSON text nests deeper than the limit."""
    if text_nesting_depth(text) > MAX_NESTING_DEPTH:
        raise NestingError(where)


def clipped(value: Any, limit: int = MAX_NESTING_DEPTH) -> Any:
    """A copy of `value` with what lies deeper than `limit` levels replaced by CUT, so a rejected
    record can still be encoded for its dead letter, and looked at. Without recursion."""
    if not isinstance(value, (dict, list)):
        return value
    holder: list = [None]
    work = [(holder, 0, value, 1)]
    while work:
        parent, key, node, depth = work.pop()
        if depth > limit:
            parent[key] = CUT
            continue
        if isinstance(node, dict):
            copy, items = {}, node.items()
        else:
            copy, items = [None] * len(node), enumerate(node)
        parent[key] = copy
        for child_key, child in items:
            container = isinstance(child, (dict, list))
            copy[child_key] = None if container else child  # a place kept, so keys keep their order
            if container:
                work.append((copy, child_key, child, depth + 1))
    return holder[0]


# -- OTLP/JSON documents: each log record (with its resource and scope) is measured on its own ------

# A record sits 6 levels into its document (resourceLogs[…].scopeLogs[…].logRecords[…]), a resource 3
# and a scope 5: a document no deeper than the limit plus 3 holds none too deep.
_DOCUMENT_MARGIN = 3


def parse_otlp_document_within(document: Any, *,
                               default_service: str = "unknown") -> Iterator[WideEvent | OtlpRecordError]:
    """parse_otlp_document, except that a log record, resource or scope nested deeper than the limit
    (as sent) is an OtlpRecordError with the cause `nesting` at its own place, and the rest is read."""
    if nesting_depth(document, MAX_NESTING_DEPTH + _DOCUMENT_MARGIN) <= MAX_NESTING_DEPTH + _DOCUMENT_MARGIN:
        yield from parse_otlp_document(document, default_service=default_service)
        return
    rejected: dict[str, OtlpRecordError] = {}
    screened = _screened_document(document, rejected)
    # What is too deep was blanked to None, which parse_otlp_document rejects at that very place:
    # the nesting error is put in its stead.
    for item in parse_otlp_document(screened, default_service=default_service):
        if isinstance(item, OtlpRecordError) and item.location in rejected:
            yield rejected.pop(item.location)
        else:
            yield item


def _screened_document(document: dict, rejected: dict) -> dict:
    entries = document.get("resourceLogs")
    if not isinstance(entries, list):
        if too_deep(entries):
            return {**document, "resourceLogs": _blank("resourceLogs", rejected, "<value>")}
        return document
    return {**document, "resourceLogs": [_screened_entry(entry, f"resourceLogs[{r}]", rejected)
                                         for r, entry in enumerate(entries)]}


def _screened_entry(entry: Any, where: str, rejected: dict) -> Any:
    """One resourceLogs entry; None (rejected whole) when it, its resource or its scopeLogs is too deep."""
    if not isinstance(entry, dict):
        return _blank(where, rejected) if too_deep(entry) else entry
    resource = entry.get("resource")
    if too_deep(resource):
        return _blank(where, rejected, "resource")
    key = "scopeLogs" if entry.get("scopeLogs") else "instrumentationLibraryLogs"  # as parse_otlp_document reads it
    scopes = entry.get(key)
    if not isinstance(scopes, list):
        return _blank(where, rejected, key) if too_deep(scopes) else entry
    return {**entry, key: [_screened_scope(scope, f"{where}.scopeLogs[{s}]", resource, rejected)
                           for s, scope in enumerate(scopes)]}


def _screened_scope(entry: Any, where: str, resource: Any, rejected: dict) -> Any:
    """One scopeLogs entry with its records too deep blanked; None when it or its scope is too deep."""
    if not isinstance(entry, dict):
        return _blank(where, rejected) if too_deep(entry) else entry
    records, scope = entry.get("logRecords"), entry.get("scope")
    if too_deep(scope):
        return _blank(where, rejected, "scope")
    if not isinstance(records, list):
        return _blank(where, rejected, "logRecords") if too_deep(records) else entry
    screened = []
    for i, record in enumerate(records):
        if too_deep(record):
            location = f"{where}.logRecords[{i}]"
            rejected[location] = _nesting_error(location, "<record>", clipped(record), resource, scope)
            record = None
        screened.append(record)
    return {**entry, "logRecords": screened}


def _blank(where: str, rejected: dict, part: str = "<entry>") -> None:
    rejected[where] = _nesting_error(where, part)
    return None


def _nesting_error(location: str, part: str, record: Any = None, resource: Any = None,
                   scope: Any = None) -> OtlpRecordError:
    error = OtlpRecordError(NestingError(part), location, record, resource, scope)
    error.line_problem = "nesting"  # OtlpRecordError keeps field and reason only; the cause is this
    return error
