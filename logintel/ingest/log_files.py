"""File ingestion: log and trace files (JSON lines, OTLP/JSON logs, traces and metrics, JSON arrays, plain text) →
landing zone + dead letters.

Files are read as bytes, one line (or one JSON value) at a time, so a multi-GB dump never sits in
memory whole and a bad line costs only itself: it becomes a dead letter with its cause.
"""
from __future__ import annotations

import gzip
import json
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from logintel.adapters.otel import (OtlpRecordError, is_otlp_document, looks_like_otlp_record,
                                    parse_otel_record, parse_otlp_document)
from logintel.adapters.otlp_metrics import is_metrics_document, parse_metrics_document
from logintel.adapters.otlp_spans import is_trace_document, parse_trace_document
from logintel.adapters.late_spans import late_span_events
from logintel.adapters.pending_spans import PendingSpans
from logintel.adapters.plain_text import parse_plain_text
from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.events import LATE_SPANS_ROUTE, MAX_RECORD_BYTES, METRICS_ROUTE, EventValidationError, WideEvent, parse_event
from logintel.ingest.json_stream import BrokenDocument, JsonValues
from logintel.ingest.lines import MAX_DEAD_LETTER_PAYLOAD, RawLine, read_lines
from logintel.ingest.stack_traces import Folding, is_continuation
from logintel.store.landing import LandingZone

FORMATS = ("auto", "jsonl", "otlp", "json", "text")
STAGE = "ingest"
# One OTLP export request may hold thousands of records; a single wide event may not exceed MAX_RECORD_BYTES.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
# An OTLP document on one line (a Collector's file exporter writes one export request a line) may exceed
# a record's limit: up to what read_lines keeps of a line whole.
MAX_DOCUMENT_LINE_BYTES = MAX_DEAD_LETTER_PAYLOAD
_DOCUMENT_LINE = re.compile(rb'\s*\{\s*"resource(?:Logs|Spans)"')
_SNIFF_BYTES = 64 * 1024
_ARRAY_START = re.compile(rb"\[\s*(?:$|[{\[\]\"])")


@dataclass
class FileTally:
    """What reading one file saw: the format it was read as and how many units it held."""
    format: str = ""
    lines: int = 0    # non-blank lines, for line-based formats
    values: int = 0   # top-level JSON values (or array elements), for whole JSON documents
    folded: int = 0   # text lines (stack traces) folded into the event before them
    # Spans (OTLP trace documents): the run's held spans, shared by its files, and what this file's did.
    pending: PendingSpans | None = None
    spans_folded: int = 0     # summarised onto a unit of work's event read here (held ones of earlier files too)
    spans_released: int = 0   # unjoined: held ones let go while this file was read
    metric_points: int = 0        # data points of OTLP metrics documents, landed on carriers (`otlp_metrics`)
    metric_points_empty: int = 0  # data points with no recorded value: nothing to keep


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
        return "otlp" if b'"resourceLogs"' in head or b'"resourceSpans"' in head else "json"
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


def _open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if Path(path).suffix.lower() == ".gz" else open(path, "rb")


def _dead(source: str, cause: str, reason: str, payload: bytes | str) -> DeadLetter:
    return DeadLetter(stage=STAGE, source=source, cause=cause, reason=reason, payload=payload)


def _oversized(source: str, size: int, payload: bytes) -> DeadLetter:
    reason = f"record is {size:,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit"
    if len(payload) < size:
        reason += f"; payload keeps the first {len(payload):,} bytes"
    return _dead(source, "oversized", reason, payload)


def _decoded(line: RawLine, source: str, documents: bool = False) -> str | DeadLetter:
    """The line's text; a dead letter when it is too long or not UTF-8. With `documents`, a line that
    opens an OTLP document (many records) may be longer than one record."""
    if line.size > MAX_RECORD_BYTES and not (documents and line.size <= MAX_DOCUMENT_LINE_BYTES
                                             and _DOCUMENT_LINE.match(line.data)):
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
    # An event is held back until the next record, since the lines after it may be its stack trace.
    pending: Folding | None = None
    rejected_at: int | None = None   # the line of the last record, when it was dead-lettered
    indented = False                 # the last line was an indented continuation
    for line, source, text in _decoded_lines(path, tally):
        result = text if isinstance(text, DeadLetter) else _validated(
            parse_plain_text, text, f"{identity}:{line.number}", default_service, reference)
        if isinstance(result, EventValidationError) and _lacks_timestamp(result) \
                and is_continuation(text, after_indented=indented):
            indented = text[:1].isspace()
            if pending is not None:
                pending.add(text)
                tally.folded += 1
            else:
                yield _orphan(result, source, line.data, rejected_at)
            continue
        indented = False
        if pending is not None:
            yield pending.event()
            pending = None
        if isinstance(result, WideEvent):
            pending, rejected_at = Folding(result), None
        else:
            rejected_at = line.number
            yield result if isinstance(result, DeadLetter) else _rejected(result, source, line.data)
    if pending is not None:
        yield pending.event()


def _decoded_lines(path: Path, tally: FileTally, documents: bool = False):
    """(line, "path:n", text or DeadLetter) for every non-blank line, counted in the tally."""
    with _open(path) as fh:
        for line in read_lines(fh):
            if not line.data.strip():
                continue
            tally.lines += 1
            source = f"{path}:{line.number}"
            yield line, source, _decoded(line, source, documents)


def _lacks_timestamp(error: EventValidationError) -> bool:
    # Only a line with no timestamp at all may continue another; one with a bad timestamp is its own record.
    return error.field == "timestamp" and error.reason.startswith("no leading timestamp")


def _orphan(error: EventValidationError, source: str, payload: bytes, rejected_at: int | None) -> DeadLetter:
    where = "in the file" if rejected_at is None else f"(line {rejected_at} was dead-lettered)"
    return _dead(source, error.cause, f"{error}; it looks like a continuation line (e.g. of a stack trace) "
                                      f"with no event before it {where}", payload)


def _read_json_lines(path: Path, tally: FileTally, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    for line, source, text in _decoded_lines(path, tally, documents=True):
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
        yield from adapt_value(value, line.data, source, default_service, tally)


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


def adapt_value(value: Any, payload: bytes, source: str, default_service: str,
                tally: FileTally | None = None) -> Iterator[WideEvent | DeadLetter]:
    """One decoded JSON value: an OTLP document (many records or spans), a bare OTLP record, or a wide event."""
    if is_trace_document(value):
        # A span folded into its request's event, or held for a later document's, makes no event of its own.
        batch = parse_trace_document(value, default_service=default_service,
                                     pending=tally.pending if tally is not None else None)
        if tally is not None:
            tally.spans_folded += batch.folded + batch.joined_earlier
            tally.spans_released += batch.released + batch.unjoined
        for item in batch.items():
            yield item if isinstance(item, WideEvent) else _rejected(item, source, payload)
        return
    if is_metrics_document(value):
        metrics = parse_metrics_document(value, default_service=default_service)
        if tally is not None:
            tally.metric_points += metrics.points
            tally.metric_points_empty += metrics.empty
        yield from metrics.events
        for error in metrics.rejected:
            yield _rejected(error, source, payload)
        return
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
        return _dead(source, error.dead_letter_cause, f"{error.location}: {error}", payload)
    return _dead(source, error.dead_letter_cause, str(error), payload)


def _json_problem(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _read_json_document(path: Path, tally: FileTally, default_service: str) -> Iterator[WideEvent | DeadLetter]:
    with _open(path) as fh:
        values = JsonValues(fh, MAX_DOCUMENT_BYTES)
        line = 1
        try:
            for line, text, value in values:
                tally.values += 1
                source = f"{path}:{line}"
                payload = text.encode("utf-8", "surrogatepass")
                if not (is_otlp_document(value) or is_trace_document(value) or is_metrics_document(value)) \
                        and len(payload) > MAX_RECORD_BYTES:
                    yield _oversized(source, len(payload), payload[:MAX_DEAD_LETTER_PAYLOAD])
                    continue
                yield from adapt_value(value, payload, source, default_service, tally)
        except BrokenDocument as broken:
            tally.values += 1
            payload, cut = values.rest(MAX_DEAD_LETTER_PAYLOAD)
            reason = broken.reason + (f"; payload keeps the first {len(payload):,} bytes" if cut else "")
            yield _dead(f"{path}:{values.line_number()}", broken.cause, reason, payload)


@dataclass
class IngestReport:
    """What one ingest did: totals, and per file format, lines, values, accepted, folded, dead_lettered, by_cause.

    Accounting: each non-blank line of a text file is accepted as an event, folded into the event
    before it (a stack-trace line), or dead-lettered, so `lines == accepted + folded + dead_lettered`.
    JSON lines obey the same with `folded == 0`, as long as each line holds one record (one OTLP
    document line can hold many); whole JSON documents obey `values == accepted + dead_lettered` likewise.
    """
    accepted: int = 0
    dead_lettered: int = 0
    landed: int = 0
    folded: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    per_file: dict[str, dict] = field(default_factory=dict)
    # Spans of trace documents that made no event of their own: summarised onto their unit of work's event (in
    # their document or, held, in a later one of the run), or unjoined (their unit of work came earlier, never,
    # or past the hold window: `adapters.pending_spans`), which land as late spans for the spans table.
    spans_folded: int = 0
    spans_unjoined: int = 0
    # Data points of OTLP metrics documents: landed on carriers for the metric_points table, or empty (no value).
    metric_points: int = 0
    metric_points_empty: int = 0

    def summary(self) -> str:
        causes = ", ".join(f"{cause} {count:,}" for cause, count in
                           sorted(self.by_cause.items(), key=lambda item: (-item[1], item[0])))
        text = (f"{len(self.per_file)} file(s): {self.accepted:,} accepted, {self.dead_lettered:,} "
                f"dead-lettered")
        if causes:
            text += f" ({causes})"
        if self.folded:
            text += f"; {self.folded:,} stack-trace line(s) folded into the event before them"
        if self.landed != self.accepted:
            text += f"; {self.landed:,} written to the landing zone"
        if self.spans_folded or self.spans_unjoined:
            text += (f"; {self.spans_folded:,} span(s) summarised onto their request's event, "
                     f"{self.spans_unjoined:,} unjoined (their request's span never came within the hold window: "
                     f"kept as late spans, for the call graph)")
        if self.metric_points or self.metric_points_empty:
            text += (f"; {self.metric_points:,} metric data point(s) landed for the metric_points table"
                     + (f", {self.metric_points_empty:,} with no recorded value" if self.metric_points_empty else ""))
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
    pending = PendingSpans()  # spans whose request's span is in a later file of this run
    causes: Counter[str] = Counter()
    events: list[WideEvent] = []
    letters: list[DeadLetter] = []
    for path in files:
        tally = FileTally(pending=pending)
        file_causes: Counter[str] = Counter()
        accepted = 0
        for item in read_input(path, fmt, default_service=default_service, tally=tally):
            if isinstance(item, WideEvent):
                events.append(item)
                # a carrier of late spans or of metric points is landed, not an event read
                accepted += item.route not in (LATE_SPANS_ROUTE, METRICS_ROUTE)
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
        report.folded += tally.folded
        report.spans_folded += tally.spans_folded
        report.spans_unjoined += tally.spans_released
        report.metric_points += tally.metric_points
        report.metric_points_empty += tally.metric_points_empty
        causes.update(file_causes)
        report.per_file[str(path)] = {
            "format": tally.format, "lines": tally.lines, "values": tally.values,
            "accepted": accepted, "folded": tally.folded, "dead_lettered": dead, "by_cause": dict(file_causes),
        }
    drained = pending.drain()  # still waiting when the run ends: kept as late spans
    report.spans_unjoined += len(drained)
    events.extend(late_span_events(drained, default_service=default_service))
    if events:
        report.landed += landing.write(events)
    if letters:
        dead_letters.write(letters)
    report.by_cause = dict(causes)
    return report


class NotARegularFile(ValueError):
    """An input path that exists but is no file to read to its end (a FIFO, a socket, a device)."""


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Inside a folder only regular files are read: a FIFO there would block the whole ingest.
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and stat.S_ISREG(p.stat().st_mode)
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file() and stat.S_ISREG(path.stat().st_mode):
            files.append(path)
        elif path.exists():
            raise NotARegularFile(f"{path} is not a regular file (a FIFO, socket or device): "
                                  "give a file or a folder")
        else:
            raise FileNotFoundError(f"no such input file or directory: {path}")
    return files
