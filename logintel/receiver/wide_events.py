"""POST /v1/events: NDJSON (one wide event per line) or one JSON array of them, with the contract
applied as `logintel ingest` applies it to a file (wide events, bare OTel records and OTLP/JSON
documents alike); each rejected line is dead-lettered and named in the answer with its reason."""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from logintel.events import MAX_RECORD_BYTES, WideEvent
from logintel.ingest.log_files import adapt_value
from logintel.store.dead_letters import DeadLetter

SOURCE = "receiver /v1/events"
MAX_ERRORS_LISTED = 100


class EventsBodyError(ValueError):
    """A JSON array body that does not parse: refused whole (400)."""


@dataclass
class ParsedEvents:
    events: list[WideEvent] = field(default_factory=list)
    rejected: list[tuple[int, DeadLetter]] = field(default_factory=list)  # (line or array index, letter)

    @property
    def received(self) -> int:
        return len(self.events) + len(self.rejected)


def parse_events(body: bytes, default_service: str = "unknown") -> ParsedEvents:
    parsed = ParsedEvents()
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            values = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise EventsBodyError(f"the body starts a JSON array that does not parse: {exc}") from None
        for index, value in enumerate(values, start=1):
            _adapt(parsed, index, value, orjson.dumps(value), f"{SOURCE} item {index}", default_service)
        return parsed
    for number, line in enumerate(body.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        source = f"{SOURCE} line {number}"
        if len(line) > MAX_RECORD_BYTES:
            parsed.rejected.append((number, DeadLetter(
                stage="ingest", source=source, cause="oversized",
                reason=f"line is {len(line):,} bytes, over the {MAX_RECORD_BYTES:,}-byte record limit",
                payload=line[:MAX_RECORD_BYTES])))
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            parsed.rejected.append((number, DeadLetter(stage="ingest", source=source, cause="invalid_json",
                                                       reason=f"invalid JSON: {exc}", payload=line)))
            continue
        _adapt(parsed, number, value, line, source, default_service)
    return parsed


def _adapt(parsed: ParsedEvents, number: int, value, payload: bytes, source: str, default_service: str) -> None:
    for item in adapt_value(value, payload, source, default_service):
        if isinstance(item, WideEvent):
            parsed.events.append(item)
        else:
            parsed.rejected.append((number, item))


def answer(parsed: ParsedEvents, accepted: int) -> dict:
    errors = [{"line": number, "cause": letter.cause, "reason": letter.reason}
              for number, letter in parsed.rejected[:MAX_ERRORS_LISTED]]
    body = {"accepted": accepted, "rejected": len(parsed.rejected), "errors": errors}
    if len(parsed.rejected) > MAX_ERRORS_LISTED:
        body["errors_truncated"] = len(parsed.rejected) - MAX_ERRORS_LISTED
    return body
