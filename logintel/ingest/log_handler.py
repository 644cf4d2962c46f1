"""LogHandler: a stdlib logging.Handler that turns each LogRecord into a WideEvent for an Emitter."""
from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any

from logintel.events import MAX_MESSAGE_CHARS

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# extra= keys that are contract fields rather than attributes.
_FIELDS = ("route", "method", "status", "duration_ms", "trace_id", "request_id", "user_id",
           "client_ip", "user_agent", "error_code", "event_id")


def level_of(levelno: int) -> str:
    if levelno >= logging.CRITICAL:
        return "fatal"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class LogHandler(logging.Handler):
    def __init__(self, emitter, service: str | None = None, level: int = logging.NOTSET):
        super().__init__(level)
        self.emitter = emitter
        self.service = service or getattr(emitter.config, "service", None)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.emitter.emit(self.to_event(record))
        except Exception:
            self.handleError(record)

    def to_event(self, record: logging.LogRecord) -> dict[str, Any]:
        """The WideEvent as a dict; the emitter validates it (and dead-letters it if it is wrong)."""
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        event: dict[str, Any] = {
            "event_id": str(extras.pop("event_id", None) or uuid.uuid4()),
            "timestamp": record.created,
            "service": self.service or record.name,
            "route": extras.pop("route", None) or record.name,
            "duration_ms": extras.pop("duration_ms", 0.0),
            "level": level_of(record.levelno),
            "error.message": record.getMessage()[:MAX_MESSAGE_CHARS],
        }
        if "error_code" in extras:
            event["error.code"] = extras.pop("error_code")
        for name in _FIELDS:
            if name in extras:
                event[name] = extras.pop(name)
        if record.exc_info and record.exc_info[0] is not None:
            kind, value, tb = record.exc_info
            event["error.type"] = kind.__name__
            detail = "".join(traceback.format_exception(kind, value, tb))
            event["error.message"] = f"{event['error.message']}\n{detail}"[:MAX_MESSAGE_CHARS]
        attributes = {key: _plain(value) for key, value in extras.items()}
        attributes["logger"] = record.name
        event["attributes"] = attributes
        return event


def _plain(value: Any) -> Any:
    # Attributes must survive json.dumps: keep JSON scalars, show everything else as repr.
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)
