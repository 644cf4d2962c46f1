"""File ingestion: log files (JSON lines, OTLP/JSON, JSON arrays, plain text) → landing zone + dead letters.

Files are read as bytes, one line (or one JSON value) at a time, so a multi-GB dump never sits in
memory whole and a bad line costs only itself: it becomes a dead letter with its cause.
"""
from __future__ import annotations

import codecs
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from logintel.adapters.otel import (OtlpRecordError, is_otlp_document, looks_like_otlp_record,
                                    parse_otel_record, parse_otlp_document)
from logintel.adapters.plain_text import parse_plain_text
from logintel.deadletters import DeadLetter, DeadLetterStore
from logintel.events import MAX_RECORD_BYTES, EventValidationError, WideEvent, parse_event
from logintel.store.landing import LandingZone

FORMATS = ("auto", "jsonl", "otlp", "json", "text")
STAGE = "ingest"
# One OTLP export request may hold thousands of records; a single wide event may not exceed MAX_RECORD_BYTES.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
# A dead letter keeps its payload whole up to this size; beyond it the reason says what was cut.
MAX_DEAD_LETTER_PAYLOAD = 8 * MAX_RECORD_BYTES
_CHUNK = 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_ARRAY_START = re.compile(rb"\[\s*(?:$|[{\[\]\"])")


@dataclass
class FileTally:
    """What reading one file saw: the format it was read as and how many units it held."""
    format: str = ""
    lines: int = 0    # non-blank lines, for line-based formats
    values: int = 0   # top-level JSON values (or array elements), for whole JSON documents


@dataclass(frozen=True, slots=True)
class RawLine:
    number: int
    data: bytes        # without its line ending; cut at MAX_DEAD_LETTER_PAYLOAD when huge
    size: int          # the whole line's length in bytes, even when `data` was cut
    terminated: bool   # False for a last line that has no newline (possibly a torn write)


def read_input(path: Path, fmt: str = "auto", *, default_service: str = "unknown",
               tally: FileTally | None = None) -> Iterator[WideEvent | DeadLetter]:
    """Every record of one file as a WideEvent or a DeadLetter (stage "ingest", source "path:line").

    Formats: jsonl (wide events, OTLP records or documents, one per line), otlp / json (one
    document, a JSON array, or JSON lines), text (plain log lines), auto (sniffed). `.gz` is opened
    transparently. `default_service` names the service of text lines and OTel records that carry none.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")
    tally = tally if tally is not None else FileTally()
    resolved = sniff_format(path) if fmt == "auto" else fmt
    if resolved == "text":
        tally.format = "text"
        yield from _read_text(path, tally, default_service)
    elif resolved == "jsonl" or _first_line_is_object(path):
        tally.format = resolved if resolved == "jsonl" else f"{resolved} (lines)"
        yield from _read_json_lines(path, tally, default_service)
    else:
        tally.format = f"{resolved} (document)"
        yield from _read_json_document(path, tally, default_service)


def sniff_format(path: Path) -> str:
    """jsonl for .jsonl/.ndjson; otlp or json for .json; otherwise by the first non-blank line."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    suffix = suffixes[-1] if suffixes else ""
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        with _open(path) as fh:
            head = fh.read(_SNIFF_BYTES)
        return "otlp" if b'"resourceLogs"' in head else "json"
    first = _first_line(path).strip()
    try:
        value = json.loads(first)
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict):
        return "jsonl"
    if isinstance(value, list) or first == b"{" or _ARRAY_START.match(first):
        return "json"
    # A first line that starts like an object but is broken: read line by line, so it costs only itself.
    # "[2026-11-23 10:00:01] INFO ..." starts with a bracket too, and is text.
    return "jsonl" if first.startswith(b"{") else "text"


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
        if number == 1 and data.startswith(_BOM):
            data, size = data[len(_BOM):], size - len(_BOM)
        yield RawLine(number, data, size, terminated)


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if Path(path).suffix.lower() == ".gz" else open(path, "rb")


def _dead(source: str, cause: str, reason: str, payload: bytes | str) -> DeadLetter:
    return DeadLetter(stage=STAGE, source=source, cause=cause, reason=reason, payload=payload)


def _oversized(source: str, size: int, payload: bytes) -> DeadLetter:
    reason = f"record is {size:,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit"
    if len(payload) < size:
        reason += f"; payload keeps the first {len(payload):,} bytes"
    return _dead(source, "oversized", reason, payload)


def _decoded(line: RawLine, source: str) -> str | DeadLetter:
    if line.size > MAX_RECORD_BYTES:
        return _oversized(source, line.size, line.data)
    try:
        return line.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _dead(source, "encoding", f"line is not valid UTF-8 (byte {exc.start}: "
                                         f"{line.data[exc.start:exc.start + 1]!r})", line.data)


def _read_text(path: Path, tally: FileTally, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    # Syslog lines carry no year: the file's modification time is the best guess of when they were written.
    reference = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    # The resolved path is part of each event id: the same line re-read gets the same id, while the
    # same text at the same line of another host's file does not collapse into it.
    identity = str(path.resolve())
    with _open(path) as fh:
        for line in read_lines(fh):
            if not line.data.strip():
                continue
            tally.lines += 1
            source = f"{path}:{line.number}"
            text = _decoded(line, source)
            if isinstance(text, DeadLetter):
                yield text
                continue
            result = _validated(parse_plain_text, text, f"{identity}:{line.number}", default_service, reference)
            yield result if isinstance(result, WideEvent) else _rejected(result, source, line.data)


def _read_json_lines(path: Path, tally: FileTally, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    with _open(path) as fh:
        for line in read_lines(fh):
            if not line.data.strip():
                continue
            tally.lines += 1
            source = f"{path}:{line.number}"
            text = _decoded(line, source)
            if isinstance(text, DeadLetter):
                yield text
                continue
            try:
                value = json.loads(text)
            except (ValueError, RecursionError) as exc:
                if not line.terminated:
                    yield _dead(source, "torn_line", "last line has no newline and is not a complete JSON "
                                                     "object (an interrupted write)", line.data)
                else:
                    yield _dead(source, "invalid_json", f"invalid JSON: {_json_problem(exc)}", line.data)
                continue
            yield from _adapt(value, line.data, source, default_service)


def _first_line(path: Path) -> bytes:
    with _open(path) as fh:
        for line in read_lines(fh):
            if line.data.strip():
                return line.data
    return b""


def _first_line_is_object(path: Path) -> bool:
    """JSON lines (the Collector's file exporter) rather than one pretty-printed document or array."""
    try:
        return isinstance(json.loads(_first_line(path)), dict)
    except (ValueError, RecursionError):
        return False


def _adapt(value: Any, payload: bytes, source: str, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    """One decoded JSON value: an OTLP document (many records), a bare OTLP record, or a wide event."""
    if is_otlp_document(value):
        for item in parse_otlp_document(value, default_service=default_service):
            if isinstance(item, WideEvent):
                yield item
            else:
                yield _rejected(item, source, payload)
        return
    parse = parse_event
    if looks_like_otlp_record(value):
        def parse(record: Any) -> WideEvent:
            return parse_otel_record(record, {}, default_service=default_service)
    result = _validated(parse, value)
    yield result if isinstance(result, WideEvent) else _rejected(result, source, payload)


def _validated(parse: Callable[..., WideEvent], *args: Any) -> WideEvent | EventValidationError:
    try:
        return parse(*args)
    except EventValidationError as exc:
        return exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # The contract promises EventValidationError; a record that slips past it must still not
        # stop the file, so it is classed as a record-level rejection.
        return EventValidationError("<record>", None, f"rejected by the contract parser: "
                                                      f"{type(exc).__name__}: {exc}")


def _rejected(error: EventValidationError, source: str, payload: bytes) -> DeadLetter:
    if isinstance(error, OtlpRecordError):
        # Keep just the bad record, wrapped as a one-record document the same reader can replay;
        # the whole export request would repeat its good records in every dead letter.
        document = error.replay_document()
        if document is not None:
            payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return _dead(source, error.cause, f"{error.location}: {error}", payload)
    return _dead(source, error.cause, str(error), payload)


def _json_problem(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


class _Broken(Exception):
    """A document that cannot be read past this point."""

    def __init__(self, cause: str, reason: str):
        super().__init__(reason)
        self.cause = cause
        self.reason = reason


class _JsonValues:
    """The top-level JSON values of a document (and the elements of a top-level array), streamed.

    Text is decoded incrementally and a value is retried with twice the text each time it is
    incomplete, so a document is parsed in linear time without ever being loaded whole.
    """

    def __init__(self, fh: IO[bytes], limit: int = MAX_DOCUMENT_BYTES):
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
                    raise _Broken("invalid_json", f"expected ',' or ']' between array elements at line "
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
            raise _Broken("torn_line" if not self.ends_with_newline else "invalid_json",
                          "document ends inside a JSON array")

    def line_number(self) -> int:
        self.line += self.buf.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line

    def rest(self, limit: int = MAX_DEAD_LETTER_PAYLOAD) -> tuple[bytes, bool]:
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
                    raise _Broken(cause, f"invalid JSON in the value starting at line {self.line_number()}: "
                                         f"{exc.msg}; the rest of the document was not read") from None
            except RecursionError:
                raise _Broken("invalid_json", f"JSON value at line {self.line_number()} is nested too "
                                              "deeply; the rest of the document was not read") from None
            else:
                # A number or literal that touches the end of the text may continue in the next chunk.
                if self.eof or end < len(self.buf) or isinstance(value, (dict, list, str)):
                    text = self.buf[self.pos:end]
                    self.pos = end
                    return text, value
            unread = len(self.buf) - self.pos
            if unread >= self.limit:
                raise _Broken("oversized", f"no complete JSON value within {self.limit:,} characters from "
                                           f"line {self.line_number()}; the rest of the document was not read")
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
            chunk = chunk.removeprefix(_BOM)
            self.started = True
        if chunk:
            self.ends_with_newline = chunk.endswith(b"\n")
        else:
            self.eof = True
        try:
            return self.utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            self.undecoded = self.utf8.getstate()[0] + chunk
            raise _Broken("encoding", f"document is not valid UTF-8 ({exc.reason} near line "
                                      f"{self.line + self.buf.count(chr(10), self.counted)}); "
                                      "the rest of the document was not read") from None


def _read_json_document(path: Path, tally: FileTally, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    with _open(path) as fh:
        values = _JsonValues(fh)
        line = 1
        try:
            for line, text, value in values:
                tally.values += 1
                source = f"{path}:{line}"
                payload = text.encode("utf-8", "surrogatepass")
                if not is_otlp_document(value) and len(payload) > MAX_RECORD_BYTES:
                    yield _oversized(source, len(payload), payload[:MAX_DEAD_LETTER_PAYLOAD])
                    continue
                yield from _adapt(value, payload, source, default_service)
        except _Broken as broken:
            tally.values += 1
            payload, cut = values.rest()
            reason = broken.reason + (f"; payload keeps the first {len(payload):,} bytes" if cut else "")
            yield _dead(f"{path}:{values.line_number()}", broken.cause, reason, payload)


@dataclass
class IngestReport:
    """What one ingest did. Per file: format, lines/values read, accepted, dead_lettered, by_cause."""
    accepted: int = 0
    dead_lettered: int = 0
    landed: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    per_file: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> str:
        causes = ", ".join(f"{cause} {count:,}" for cause, count in
                           sorted(self.by_cause.items(), key=lambda item: (-item[1], item[0])))
        text = (f"{len(self.per_file)} file(s): {self.accepted:,} accepted, {self.dead_lettered:,} "
                f"dead-lettered")
        if causes:
            text += f" ({causes})"
        if self.landed != self.accepted:
            text += f"; {self.landed:,} written to the landing zone"
        return text


def ingest_paths(paths: Iterable[Path], landing: LandingZone, dead_letters: DeadLetterStore,
                 fmt: str = "auto", batch_size: int = 50_000, *,
                 default_service: str = "unknown") -> IngestReport:
    """Read files (directories: every non-hidden file below them), land the events, store the rest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    files = _expand(paths)  # all up front: a typo in the last path should fail before anything lands
    report = IngestReport()
    causes: Counter[str] = Counter()
    events: list[WideEvent] = []
    letters: list[DeadLetter] = []
    for path in files:
        tally = FileTally()
        file_causes: Counter[str] = Counter()
        accepted = 0
        for item in read_input(path, fmt, default_service=default_service, tally=tally):
            if isinstance(item, WideEvent):
                events.append(item)
                accepted += 1
                if len(events) >= batch_size:
                    report.landed += landing.write(events)
                    events = []
            else:
                letters.append(item)
                file_causes[item.cause] += 1
                if len(letters) >= batch_size:
                    dead_letters.write(letters)
                    letters = []
        dead = sum(file_causes.values())
        report.accepted += accepted
        report.dead_lettered += dead
        causes.update(file_causes)
        report.per_file[str(path)] = {
            "format": tally.format, "lines": tally.lines, "values": tally.values,
            "accepted": accepted, "dead_lettered": dead, "by_cause": dict(file_causes),
        }
    if events:
        report.landed += landing.write(events)
    if letters:
        dead_letters.write(letters)
    report.by_cause = dict(causes)
    return report


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such input file or directory: {path}")
    return files
