"""POST /v1/events: NDJSON (one wide event per line) or one JSON array of them, with the contract
applied as `logintel ingest` applies it to a file (wide events, bare OTel records and OTLP/JSON
documents alike); each rejected line is dead-lettered and named in the answer with its reason.

Every line and array item gets the same checks before the contract: at most MAX_RECORD_BYTES (an
OTLP/JSON document as an array item excepted, as ingest excepts it), nested at most
MAX_NESTING_DEPTH levels (in an OTLP/JSON document, each log record on its own).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from logintel.adapters.nesting import (NestingError, clipped, may_be_too_deep, parse_otlp_document_within,
                                       text_nesting_depth, too_deep)
from logintel.adapters.otel import OtlpRecordError, is_otlp_document
from logintel.events import MAX_NESTING_DEPTH, MAX_RECORD_BYTES, WideEvent, dumps_json, loads_json
from logintel.ingest.log_files import adapt_value
from logintel.receiver.otlp_logs import otlp_dead_letter
from logintel.store.dead_letters import DeadLetter

SOURCE = "receiver /v1/events"
MAX_ERRORS_LISTED = 100
# NDJSON under its registered and common names, and JSON (an array, or NDJSON sent as JSON).
MEDIA_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                         "application/x-jsonlines", "application/jsonlines", "application/json"})


JSON_MEDIA_TYPE = "application/json"


class EventsBodyError(ValueError):
    """A JSON array body that does not parse: refused whole (400)."""


def is_events_media_type(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in MEDIA_TYPES


@dataclass
class ParsedEvents:
    events: list[WideEvent] = field(default_factory=list)
    origins: list[tuple[int, str]] = field(default_factory=list)  # each event's (line or item number, source)
    rejected: list[tuple[int, DeadLetter]] = field(default_factory=list)  # (line or array index, letter)

    @property
    def received(self) -> int:
        return len(self.events) + len(self.rejected)

    def add(self, number: int, source: str, item: WideEvent | DeadLetter) -> None:
        if isinstance(item, WideEvent):
            self.events.append(item)
            self.origins.append((number, source))
        else:
            self.rejected.append((number, item))

    def source_of(self, index: int) -> str:
        return self.origins[index][1]

    def refuse(self, letters: dict[int, DeadLetter]) -> None:
        """Move the events at these indices to the rejected, as these dead letters."""
        if not letters:
            return
        self.rejected.extend((self.origins[index][0], letter) for index, letter in letters.items())
        self.rejected.sort(key=lambda pair: pair[0])
        kept = [index for index in range(len(self.events)) if index not in letters]
        self.events = [self.events[index] for index in kept]
        self.origins = [self.origins[index] for index in kept]


def is_ndjson_media_type(content_type: str | None) -> bool:
    return is_events_media_type(content_type) and not (content_type or "").lower().startswith(JSON_MEDIA_TYPE)


def parse_events(body: bytes, default_service: str = "unknown", ndjson: bool = False) -> ParsedEvents:
    """The body's events and dead letters. An NDJSON body (`ndjson`: its Content-Type says so) is lines, each
    on its own, whatever its first character; a JSON body is one array when it starts with "[" (refused whole,
    EventsBodyError, when it does not parse) and lines otherwise."""
    parsed = ParsedEvents()
    body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, as `logintel ingest` reads files
    if not ndjson and body.lstrip().startswith(b"["):
        try:
            values = loads_json(body)
        except orjson.JSONDecodeError as exc:
            raise EventsBodyError(f"the body starts a JSON array that does not parse: {exc}") from None
        for index, value in enumerate(values, start=1):
            _item(parsed, index, value, default_service)
        return parsed
    for number, line in enumerate(body.split(b"\n"), start=1):
        line = line.strip()
        if line:
            _line(parsed, number, line, default_service)
    return parsed


def _line(parsed: ParsedEvents, number: int, line: bytes, default_service: str) -> None:
    source = f"{SOURCE} line {number}"
    if len(line) > MAX_RECORD_BYTES:
        parsed.add(number, source, _oversized(source, len(line), line))
        return
    try:
        value = loads_json(line)
    except orjson.JSONDecodeError as exc:
        # The decoder stops at 1,024 levels: a line deeper still is rejected for its nesting, not its syntax.
        if text_nesting_depth(line) > MAX_NESTING_DEPTH:
            parsed.add(number, source, _nested(source, line))
        else:
            parsed.add(number, source, _dead(source, "invalid_json", f"invalid JSON: {exc}", line))
        return
    _record(parsed, number, source, value, line, default_service)


def _item(parsed: ParsedEvents, index: int, value, default_service: str) -> None:
    source = f"{SOURCE} item {index}"
    payload = _encoded(value)
    if not is_otlp_document(value) and len(payload) > MAX_RECORD_BYTES:
        parsed.add(index, source, _oversized(source, len(payload), payload))
        return
    _record(parsed, index, source, value, payload, default_service)


def _record(parsed: ParsedEvents, number: int, source: str, value, payload: bytes, default_service: str) -> None:
    """One decoded line or array item: nesting checked (in an OTLP/JSON document, per log record),
    then the contract, as `logintel ingest` applies it."""
    if is_otlp_document(value):
        for item in parse_otlp_document_within(value, default_service=default_service):
            parsed.add(number, source, otlp_dead_letter(item, source, payload)
                       if isinstance(item, OtlpRecordError) else item)
    elif may_be_too_deep(payload) and too_deep(value):
        parsed.add(number, source, _nested(source, payload))
    else:
        for item in adapt_value(value, payload, source, default_service):
            parsed.add(number, source, item)


def _encoded(value) -> bytes:
    """An array item as JSON for its dead letter; past orjson's 255 levels, cut at the nesting limit
    (such an item is rejected for its nesting, and the cut copy still shows what it was)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return dumps_json(clipped(value))


def _dead(source: str, cause: str, reason: str, payload: bytes) -> DeadLetter:
    return DeadLetter(stage="ingest", source=source, cause=cause, reason=reason, payload=payload)


def _nested(source: str, payload: bytes) -> DeadLetter:
    error = NestingError()
    return _dead(source, error.dead_letter_cause, str(error), payload)


def _oversized(source: str, size: int, payload: bytes) -> DeadLetter:
    return _dead(source, "oversized", f"record is {size:,} bytes, over the {MAX_RECORD_BYTES:,}-byte record "
                                      f"limit; payload keeps the first {MAX_RECORD_BYTES:,} bytes",
                 payload[:MAX_RECORD_BYTES])


def answer(parsed: ParsedEvents, accepted: int) -> dict:
    errors = [{"line": number, "cause": letter.cause, "reason": letter.reason}
              for number, letter in parsed.rejected[:MAX_ERRORS_LISTED]]
    body = {"accepted": accepted, "rejected": len(parsed.rejected), "errors": errors}
    if len(parsed.rejected) > MAX_ERRORS_LISTED:
        body["errors_truncated"] = len(parsed.rejected) - MAX_ERRORS_LISTED
    return body
