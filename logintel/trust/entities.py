"""Names and ids in text: services, routes, error codes, trace and request ids.

Known names come from the warehouse; service-like names that are not known are still found
("the billing service", "billing-api"), because an invented service is the claim to catch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from logintel.trust.text import QUOTE_MARKS, Span, blank


@dataclass(frozen=True)
class KnownEntities:
    services: frozenset[str] = frozenset()
    routes: frozenset[str] = frozenset()
    error_codes: frozenset[str] = frozenset()

    @classmethod
    def from_warehouse(cls, con: duckdb.DuckDBPyConnection) -> "KnownEntities":
        try:
            rows = con.execute("SELECT DISTINCT service, route, error_code FROM raw_events").fetchall()
        except duckdb.CatalogException:
            return cls()
        return cls.from_rows(rows)

    @classmethod
    def from_rows(cls, rows) -> "KnownEntities":
        """From (service, route, error_code, ...) rows."""
        return cls(services=frozenset(r[0] for r in rows), routes=frozenset(r[1] for r in rows),
                   error_codes=frozenset(r[2] for r in rows if r[2]))


_METHOD = r"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS"
# A path starts a token (not "and/or", "5/min", or the path of a URL) and ends on a name character.
_ROUTE = re.compile(rf"(?:\b(?P<method>{_METHOD})\s+)?(?<![\w/.:\-])(?P<path>/[\w{{}}\-.~:/]*[\w}}])")
_TRACE_ID = re.compile(r"(?<![\w-])[0-9a-fA-F]{32}(?![\w-])")
_REQUEST_IDS = (
    re.compile(r"(?<![\w-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"),
    re.compile(r"(?<![\w-])req-[A-Za-z0-9][\w-]*"),
    # 64-bit ids in hex; one digit at least, so no English word qualifies.
    re.compile(r"(?<![\w-])(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{16}(?![\w-])"),
    re.compile(r"(?i:\brequest(?:[ _-]?id)?\s*[:=#]?\s*)(?P<id>(?=[\w.-]*\d)[A-Za-z0-9][\w.-]{5,}[A-Za-z0-9])"),
)
# Pseudonymous users and redaction placeholders say who, not what: not checkable, never numbers.
_NOT_CHECKABLE = re.compile(
    r"(?<![\w-])(?:u-\d+|(?:user|ip)-[0-9a-f]{8}|<[a-z0-9_]{1,24}:[0-9a-f]{8}>|[\w.+-]+@[\w-]+\.[\w.]+"
    r"|\d{1,3}(?:\.\d{1,3}){3})(?![\w-])")
_UPPER_SNAKE = re.compile(r"(?<![\w-])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w-])")
_NAMED_SERVICE = re.compile(r"(?<![\w/.-])(?P<name>[A-Za-z][\w-]*)\s+(?:micro)?services?\b")
_SERVICE_FIELD = re.compile(r"\bservice\s*[:=]\s*(?P<name>[A-Za-z][\w-]*)", re.IGNORECASE)
_SERVICE_LIKE = re.compile(r"(?<![\w/.-])(?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:api|svc|service|server))(?![\w-])")
# Words that can stand before "service" without naming one.
_NOT_A_NAME = frozenset("""
a an the this that these those each every any one same other another its their our your his her
no some all which what whose whole single first second third primary secondary main core key
downstream upstream external internal backend frontend web http rest grpc customer affected
calling called caller callee dependent dependency critical healthy unhealthy degraded failing
failed slow impacted underlying relevant responsible named given specific particular overall
entire several multiple many few both either neither more most new old legacy
of to for in on at by with from and or is was are were as be been into via
database storage cache queue proxy mesh cloud dns managed partner vendor provider
""".split())


# Where a known name ends: not inside a longer path or name ("/orders" in "/orders/123" or "/orders.json").
_NAME_END = r"(?![\w{}~/-]|[.:][\w{}/])"
# A short name that is also an English word ("a", "on") names a service only where a name stands: before its
# route, or before the punctuation that closes a name ("a: 5 errors", "(a, orders)", "is a.").
_WORD_NAME_END = r"(?=[ \t]+/|[ \t]*(?:[:,;)]|\.(?:\s|$)|$))"


def _word_like(name: str) -> bool:
    """A service name an English word could be: one or two letters, or a word read as no name ("a", "main")."""
    return len(name) <= 2 or name.lower() in _NOT_A_NAME


def known_route_spans(text: str, known: KnownEntities) -> list[tuple[int, int, str, str | None]]:
    """(start, end, route, method) of each known route written literally in `text`, longest first and never
    overlapping: a route is a catalogue entry however odd it looks (`/api/v1/x' OR '1'='1`), so it is matched
    as written, quotes and all, not cut where a path pattern would end."""
    found: list[tuple[int, int, str, str | None]] = []
    taken: list[tuple[int, int]] = []
    for route in sorted((r for r in known.routes if r and r in text), key=len, reverse=True):
        pattern = rf"(?:\b(?P<method>{_METHOD})\s+)?(?<![\w/.:\-]){re.escape(route)}{_NAME_END}"
        for m in re.finditer(pattern, text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                found.append((m.start(), m.end(), route, m.group("method")))
                taken.append((m.start(), m.end()))
    return sorted(found)


def quoted_name_spans(text: str, known: KnownEntities) -> list[tuple[int, int]]:
    """(start, end) of each known service, route or error code written in `text` that has a quote mark in it
    (`pay"ments`): a catalogue entry however odd it looks, so its quote opens no quotation. Longest first,
    never overlapping."""
    names = [n for n in known.services | known.routes | known.error_codes
             if n and n in text and any(c in QUOTE_MARKS for c in n)]
    taken: list[tuple[int, int]] = []
    for name in sorted(names, key=len, reverse=True):
        for m in re.finditer(re.escape(name), text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
    return sorted(taken)


def _known_route(path: str, known: KnownEntities) -> str:
    """The known template a concrete path instantiates ("/orders/123" -> "/orders/{id}"), else the path."""
    if path in known.routes:
        return path
    for template in known.routes:
        if "{" in template and re.fullmatch(re.sub(r"\\\{[^/]*?\\\}", r"[^/]+", re.escape(template)), path):
            return template
    return path


def _service_name(word: str, known: dict[str, str]) -> str | None:
    """The known service a word names, allowing singular for plural ("payment" -> "payments")."""
    lower = word.lower()
    for candidate in (lower, lower + "s", lower + "es", lower[:-1] if lower.endswith("s") else None):
        if candidate and candidate in known:
            return known[candidate]
    return None


def find_entities(prepared: str, known: KnownEntities) -> tuple[list[Span], str]:
    """Entity spans in `prepared` text, and the text with every entity (and pseudonym) blanked,
    so numbers inside ids and paths are never read as claims."""
    spans: list[Span] = []

    def hide(start: int, end: int) -> None:
        nonlocal prepared
        prepared = blank(prepared, start, end)

    def take(kind: str, start: int, end: int, value, label=None) -> None:
        spans.append(Span(kind, start, end, value, label))
        hide(start, end)

    for start, end, route, method in known_route_spans(prepared, known):
        take("route", start, end, route, method)
    for m in list(_TRACE_ID.finditer(prepared)):
        take("trace_id", m.start(), m.end(), m.group().lower())
    for pattern in _REQUEST_IDS:
        for m in list(pattern.finditer(prepared)):
            group = "id" if "id" in pattern.groupindex else 0
            take("request_id", m.start(group), m.end(group), m.group(group))
    for m in list(_NOT_CHECKABLE.finditer(prepared)):
        hide(m.start(), m.end())
    for m in list(_ROUTE.finditer(prepared)):
        # the method travels in the label, so a method the route never had can be caught
        take("route", m.start(), m.end(), _known_route(m.group("path"), known), m.group("method"))

    codes = set(_UPPER_SNAKE.findall(prepared)) | {c for c in known.error_codes if len(c) >= 3}
    for code in sorted(codes, key=len, reverse=True):
        for m in list(re.finditer(rf"(?<![\w-]){re.escape(code)}(?![\w-])", prepared)):
            take("error_code", m.start(), m.end(), code)

    services = {s.lower(): s for s in known.services}
    for pattern in (_SERVICE_FIELD, _NAMED_SERVICE, _SERVICE_LIKE):
        for m in list(pattern.finditer(prepared)):
            word = m.group("name")
            name = _service_name(word, services)
            if name is None and (word.lower() in _NOT_A_NAME or word.isupper() or word.isdigit()):
                continue
            if name is not None and _word_like(name) and pattern is not _SERVICE_FIELD:
                continue  # "a service" is the article, even where a service is called "a"
            take("service", m.start("name"), m.end("name"), name or word.lower())
    for name in sorted(known.services, key=len, reverse=True):
        # A word-like name only as written and where a name stands; any other name in any case.
        pattern, flags = ((rf"(?<![\w/.-]){re.escape(name)}{_WORD_NAME_END}", 0) if _word_like(name) else
                          (rf"(?<![\w/.-]){re.escape(name)}(?![\w-])", re.IGNORECASE))
        for m in list(re.finditer(pattern, prepared, flags)):
            take("service", m.start(), m.end(), name)
    return sorted(spans, key=lambda s: s.start), prepared
