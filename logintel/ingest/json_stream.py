"""The top-level JSON values of a document (or the elements of a top-level array), read in chunks."""
from __future__ import annotations

import codecs
import json
import re
from typing import IO, Any, Iterator

_CHUNK = 1024 * 1024
_WHITESPACE = re.compile(r"[ \t\r\n]*")


class BrokenDocument(Exception):
    """A document that cannot be read past this point."""

    def __init__(self, cause: str, reason: str):
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


class JsonValues:
    """The top-level JSON values of a document (and the elements of a top-level array), streamed.

    Text is decoded incrementally and a value is retried with twice the text each time it is
    incomplete, so a document is parsed in linear time without ever being loaded whole.
    """

    def __init__(self, fh: IO[bytes], limit: int):
        self.fh = fh
        self.limit = limit
        self.utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self.decoder = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.line = 1          # line number of buf[counted]
        self.counted = 0
        self.eof = False
        self.started = False
        self.ends_with_newline = False
        self.undecoded = b""   # raw bytes that failed to decode, for the dead letter

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        in_array = expect_separator = False
        while self._skip_whitespace():
            char = self.buf[self.pos]
            if in_array and char == "]":
                self.pos += 1
                in_array = expect_separator = False
                continue
            if expect_separator:
                if char != ",":
                    raise BrokenDocument("invalid_json", f"expected ',' or ']' between array elements at line "
                                                         f"{self.line_number()}")
                self.pos += 1
                expect_separator = False
                continue
            if not in_array and char == "[":
                self.pos += 1
                in_array = True
                continue
            line = self.line_number()
            text, value = self._decode()
            yield line, text, value
            expect_separator = in_array
        if in_array:
            raise BrokenDocument("torn_line" if not self.ends_with_newline else "invalid_json",
                                 "document ends inside a JSON array")

    def line_number(self) -> int:
        self.line += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line

    def rest(self, limit: int) -> tuple[bytes, bool]:
        """The unread remainder (from the current value on), capped; and whether it was cut."""
        payload = self.buf[self.pos:].encode("utf-8", "surrogatepass") + self.undecoded
        if len(payload) < limit:
            payload += self.fh.read(limit - len(payload))
        cut = len(payload) > limit or bool(self.fh.read(1))
        return payload[:limit], cut

    def _skip_whitespace(self) -> bool:
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return True
            if self.eof:
                return False
            self._grow(_CHUNK)

    def _decode(self) -> tuple[str, Any]:
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or not self._maybe_incomplete(exc):
                    at_end = self.eof and self._maybe_incomplete(exc)
                    cause = "torn_line" if at_end and not self.ends_with_newline else "invalid_json"
                    raise BrokenDocument(cause, f"invalid JSON in the value starting at line "
                                                f"{self.line_number()}: {exc.msg}; the rest of the document "
                                                "was not read") from None
            except RecursionError:
                raise BrokenDocument("invalid_json", f"JSON value at line {self.line_number()} is nested too "
                                                     "deeply; the rest of the document was not read") from None
            else:
                # A number or literal that touches the end of the text may continue in the next chunk.
                if self.eof or end < len(self.buf) or isinstance(value, (dict, list, str)):
                    text = self.buf[self.pos:end]
                    self.pos = end
                    return text, value
            unread = len(self.buf) - self.pos
            if unread >= self.limit:
                raise BrokenDocument("oversized", f"no complete JSON value within {self.limit:,} characters "
                                                  f"from line {self.line_number()}; the rest of the document "
                                                  "was not read")
            self._grow(max(_CHUNK, 2 * unread))

    def _maybe_incomplete(self, exc: json.JSONDecodeError) -> bool:
        # Truncated text fails at its very end, except an unterminated string, which is reported
        # where the string starts; anything else is invalid however much more text follows.
        return exc.msg.startswith("Unterminated string") or exc.pos >= len(self.buf) - 8

    def _grow(self, at_least: int) -> None:
        """Make at least `at_least` unread characters available (fewer only at the end of the file)."""
        self.line_number()
        parts, have = [self.buf[self.pos:]], len(self.buf) - self.pos
        self.pos = self.counted = 0
        try:
            while have < at_least and not self.eof:
                text = self._read_chunk()
                parts.append(text)
                have += len(text)
        finally:
            self.buf = "".join(parts)

    def _read_chunk(self) -> str:
        chunk = self.fh.read(_CHUNK)
        if not self.started:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
            self.started = True
        if chunk:
            self.ends_with_newline = chunk.endswith(b"\n")
        else:
            self.eof = True
        try:
            return self.utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            self.undecoded = self.utf8.getstate()[0] + chunk
            raise BrokenDocument("encoding", f"document is not valid UTF-8 ({exc.reason} near line "
                                             f"{self.line + self.buf.count(chr(10), self.counted)}); "
                                             "the rest of the document was not read") from None
