"""Lines of a binary stream, one at a time, with a giant line drained in chunks rather than held whole."""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import IO, Iterator

from logintel.events import MAX_RECORD_BYTES

# A dead letter keeps its payload whole up to this size; beyond it the reason says what was cut.
MAX_DEAD_LETTER_PAYLOAD = 8 * MAX_RECORD_BYTES
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RawLine:
    number: int
    data: bytes        # without its line ending; cut at MAX_DEAD_LETTER_PAYLOAD when huge
    size: int          # the whole line's length in bytes, even when `data` was cut
    terminated: bool   # False for a last line that has no newline (possibly a torn write)


def read_lines(fh: IO[bytes], limit: int = MAX_RECORD_BYTES) -> Iterator[RawLine]:
    """Lines of a binary stream, never holding more than one line (capped) in memory."""
    number = 0
    while chunk := fh.readline(limit + 1):
        number += 1
        size, terminated = len(chunk), chunk.endswith(b"\n")
        if not terminated and size > limit:
            # Longer than any record may be: drain it in chunks, keeping only what a dead letter holds.
            parts, kept = [chunk[:MAX_DEAD_LETTER_PAYLOAD]], min(size, MAX_DEAD_LETTER_PAYLOAD)
            while more := fh.readline(_CHUNK):
                size += len(more)
                if kept < MAX_DEAD_LETTER_PAYLOAD:
                    parts.append(more[:MAX_DEAD_LETTER_PAYLOAD - kept])
                    kept += len(parts[-1])
                if more.endswith(b"\n"):
                    terminated = True
                    break
            chunk = b"".join(parts)
        data = chunk[:-1] if chunk.endswith(b"\n") else chunk
        if terminated:
            size -= 1
        if data.endswith(b"\r"):
            data, size = data[:-1], size - 1
        if number == 1 and data.startswith(codecs.BOM_UTF8):
            data, size = data[len(codecs.BOM_UTF8):], size - len(codecs.BOM_UTF8)
        yield RawLine(number, data, size, terminated)
