"""Columnar landing segments: an hour's validated events as one Parquet file whose columns are raw_events' own.

A writer that already holds canonical lines (`WideEvent.to_json`, every one validated) turns them into the
warehouse's columns once, at the edge: Arrow's JSON reader parses the flat fields with the contract's types given
explicitly, and each line's `attributes` object is kept as the exact text the line holds (canonical lines end
with it, so it is a slice, never a re-encoding). The file is what `raw_events` stores for the hour — the same
column names and types, `ts` a timestamp and `partition_hour` the hour — so the warehouse reads it without a
JSON parse, and the lake can commit a file that passes its checks whole as a data file of its own
(`segment_adoption`) instead of rewriting its rows.

Anything the columnar form cannot hold exactly (a line not in canonical form, a value Arrow's reader refuses)
makes `columns` raise SegmentFormatError; the writer then lands those lines as JSON, as before. `canonical_lines`
turns a file back into canonical lines, so every reader of lines (the exact path, replay) reads it as it reads
a JSON segment.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from logintel.events import COLUMNS as CONTRACT_COLUMNS, encode_record, format_timestamp

SUFFIX = ".canonical.parquet"
COMPRESSION = "zstd"  # an hour of the simulator's events: 78 MB against 733 MB of JSON lines (snappy: 134 MB)

# raw_events' columns (`schema.TABLES["raw_events"]`), in its order: each with the contract's name of it
# (`events.COLUMNS`, None for the hour it is stored under) and its Arrow type (text unless named here).
_NOT_TEXT = {"ts": pa.timestamp("us"), "status": pa.int32(), "duration_ms": pa.float64(), "sample_rate": pa.int32(),
             "partition_hour": pa.timestamp("us")}
COLUMNS: tuple[tuple[str, str | None, pa.DataType], ...] = tuple(
    (column, field, _NOT_TEXT.get(column, pa.string()))
    for field, column in (*CONTRACT_COLUMNS.items(), (None, "partition_hour")))
SCHEMA = pa.schema([(name, kind) for name, _, kind in COLUMNS])
_FLAT = pa.schema([(field, pa.timestamp("us", tz="UTC") if name == "ts" else kind)
                   for name, field, kind in COLUMNS if field not in (None, "attributes")])
_ATTRIBUTES_KEY = b',"attributes":'


class SegmentFormatError(ValueError):
    """Lines the columnar form cannot hold exactly: they land as JSON lines instead."""


def columns(lines: list[str], hour: datetime) -> pa.Table:
    """The canonical `lines` of hour `hour` as raw_events' columns (SCHEMA)."""
    try:
        data = ("\n".join(lines) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # Arrow would store the bytes, and no reader could read the file back
        raise SegmentFormatError("a line holds a lone surrogate (not UTF-8)") from None
    attributes = _attributes(data, len(lines))
    longest = max(map(len, lines), default=0) * 4 + 2  # a block must hold a whole line (in UTF-8 bytes)
    try:
        flat = pa_json.read_json(pa.py_buffer(data), parse_options=pa_json.ParseOptions(
            explicit_schema=_FLAT, unexpected_field_behavior="ignore", newlines_in_values=False),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, longest), use_threads=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SegmentFormatError(f"Arrow's JSON reader refused a line: {exc}") from None
    if flat.num_rows != len(lines):
        raise SegmentFormatError(f"{flat.num_rows} rows read from {len(lines)} lines")
    arrays = []
    for name, field, kind in COLUMNS:
        if field is None:
            arrays.append(pa.array(np.full(flat.num_rows, np.datetime64(hour.replace(tzinfo=None), "us")), kind))
        elif field == "attributes":
            arrays.append(attributes)
        else:
            arrays.append(flat.column(field).combine_chunks().cast(kind))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _attributes(data: bytes, count: int) -> pa.Array:
    """Each line's `attributes` object as the exact text it holds. A canonical line ends with it (`..."attributes":
    {...}}`), and the first `,"attributes":` of a line is that key: no string value holds `,"` unescaped, and the
    keys before it are the contract's, in order. Built from byte slices of `data`, never from Python strings."""
    starts, stops, begin = [], [], 0
    for _ in range(count):
        end = data.find(b"\n", begin)  # a canonical line holds no raw newline: JSON escapes it
        at = data.find(_ATTRIBUTES_KEY, begin, end)
        if end < 0 or at < 0 or data[end - 1] != 0x7D or end - 1 <= at + len(_ATTRIBUTES_KEY):
            raise SegmentFormatError("a line not in canonical form (one object a line, attributes last)")
        starts.append(at + len(_ATTRIBUTES_KEY))
        stops.append(end - 1)  # the line's closing brace
        begin = end + 1
    if begin != len(data):
        raise SegmentFormatError("a line not in canonical form (a newline inside a line)")
    pieces = [data[start:stop] for start, stop in zip(starts, stops)]
    for piece in pieces:  # the slice is one JSON value only if `attributes` was the line's last key
        try:
            orjson.loads(piece)
        except orjson.JSONDecodeError:
            raise SegmentFormatError("a line whose attributes are not one JSON value (not its last key)") from None
    values = b"".join(pieces)
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(np.subtract(stops, starts), out=offsets[1:])
    text = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(values))
    return text.cast(pa.string())


def write(path: Path, table: pa.Table) -> None:
    """Write `table` to `path` and make it durable (the caller renames it into view)."""
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression=COMPRESSION)
        fh.flush()
        os.fsync(fh.fileno())


def canonical_lines(path: Path | str) -> list[str]:
    """The rows of a columnar segment as canonical JSON lines (OSError or Arrow's error when it cannot be read)."""
    table = pq.read_table(path)
    missing = [name for name in SCHEMA.names if name not in table.column_names]
    if missing:
        raise SegmentFormatError(f"not a landing segment: no column {', '.join(missing)}")
    rows = table.select(SCHEMA.names).to_pylist()
    return [_line(row) for row in rows]


def _line(row: dict) -> str:
    ts = row["ts"]
    record = {field: row[name] for name, field, _ in COLUMNS if field is not None}
    record["timestamp"] = format_timestamp(ts.replace(tzinfo=timezone.utc)) if ts is not None else None
    text = row["attributes"]
    try:
        record["attributes"] = orjson.Fragment(text) if text is not None else {}
        return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        record["attributes"] = orjson.loads(text) if text is not None else {}
        return encode_record(record)
