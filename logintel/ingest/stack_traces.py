"""Stack-trace lines of a text log (Java, Python) and folding them into the event they belong to."""
from __future__ import annotations

import dataclasses
import re

from logintel.events import MAX_MESSAGE_CHARS, WideEvent

_PREFIXES = ("at ", "Caused by:", "...", "Traceback (most recent call last):", 'File "',
             # How Python chains one traceback to the next.
             "During handling of the above exception", "The above exception was the direct cause")
# `java.lang.IllegalStateException: pool closed`: the line that opens a Java trace, before its `at` lines.
_JAVA_EXCEPTION = re.compile(r'(?:Exception in thread "[^"]*" )?(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*'
                             r"(?:Exception|Error|Throwable)(?::.*)?")
# `ValueError: bad input` or a bare `KeyboardInterrupt`: the line that closes a Python traceback.
_PYTHON_EXCEPTION = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?::.*|Error|Exception|Interrupt|Exit|Iteration)")


def is_continuation(text: str, after_indented: bool = False) -> bool:
    """Whether a line with no timestamp reads as part of the previous record's stack trace.

    `after_indented`: the line before was an indented continuation, which is what lets a Python
    traceback's closing `SomeError: message` line (otherwise plain text) count as one.
    """
    if text[:1].isspace() or text.startswith(_PREFIXES) or _JAVA_EXCEPTION.fullmatch(text):
        return True
    return after_indented and _PYTHON_EXCEPTION.fullmatch(text) is not None


class Folding:
    """An event and the continuation lines after it, joined to its `error.message` when complete.

    Only what fits in MAX_MESSAGE_CHARS is kept, so a runaway trace costs a count, not memory.
    """

    def __init__(self, event: WideEvent):
        self._event = event
        self._parts = [event.error_message] if event.error_message else []
        self._chars = len(event.error_message or "")
        self._added = 0
        self._dropped = 0

    def add(self, line: str) -> None:
        self._added += 1
        joined = self._chars + (1 if self._parts else 0) + len(line)
        if self._dropped or joined > MAX_MESSAGE_CHARS:
            # Once one line is left out, so are the rest: the note then stands for the trace's tail.
            self._dropped += 1
            return
        self._parts.append(line)
        self._chars = joined

    def event(self) -> WideEvent:
        """The event with its trace; its id still comes from its first line, so re-reads agree."""
        if not self._added:
            return self._event
        parts, dropped = list(self._parts), self._dropped
        message = "\n".join(parts)
        while dropped:
            note = f"… ({dropped:,} more line{'s' if dropped != 1 else ''})"
            if len(message) + 1 + len(note) <= MAX_MESSAGE_CHARS or len(parts) <= 1:
                # A single part too long to leave room for the note is cut mid-line instead.
                message = message[:MAX_MESSAGE_CHARS - 1 - len(note)]
                message = f"{message}\n{note}" if message else note
                break
            parts.pop()
            dropped += 1
            message = "\n".join(parts)
        return dataclasses.replace(self._event, error_message=message)
