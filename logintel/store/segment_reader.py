"""The fast path into raw_events: canonical landing segments read by DuckDB's own JSON reader.

A segment logintel wrote itself (`landing_files.CANONICAL`: every line an event it validated and wrote in the
contract's canonical form) is read straight from disk by `read_json` with the contract's columns and types given
explicitly, and checked in the same pass: no line passes through Python, and DuckDB reads the files on all its
threads. A million-event hour loads 2.3-2.6 times faster than line by line (`benchmarks/landing_load.py`).

Exactness is kept per file. A file is used only when every one of its rows passes the contract's checks as
typed columns (required fields present and not blank, lengths, level, duration, status and sample-rate ranges,
timestamp in canonical form and inside the partition, attributes an object); a file that fails one of them,
or that the reader cannot read at all (a torn last line, a value of the wrong type, a line over the reader's
size limit), goes to the exact path whole, so each of its bad lines still becomes a dead letter naming its file
and line. A file not named canonical (placed by hand, written by another tool or an older logintel) always
takes the exact path: the reader ignores keys it was not asked for, so only a canonical writer's lines are
safe to read this way.

A columnar segment (`parquet_segments`: raw_events' own columns) is read by `read_parquet` instead, with the same
checks; a file whose columns are not those (or that cannot be read) goes to the exact path, which reads its rows
back as canonical lines.
"""
from __future__ import annotations

import duckdb

from logintel.events import COLUMNS, LEVELS, MAX_DURATION_MS, MAX_STRING_CHARS
from logintel.store.parquet_segments import SCHEMA as COLUMNAR_SCHEMA, SUFFIX as COLUMNAR

SEGMENT_ROWS = "segment_rows"

_TYPES = {"event_id": "VARCHAR", "timestamp": "VARCHAR", "service": "VARCHAR", "route": "VARCHAR",
          "method": "VARCHAR", "status": "BIGINT", "duration_ms": "DOUBLE", "level": "VARCHAR",
          "error.code": "VARCHAR", "error.type": "VARCHAR", "error.message": "VARCHAR", "trace_id": "VARCHAR",
          "request_id": "VARCHAR", "user_id": "VARCHAR", "client_ip": "VARCHAR", "user_agent": "VARCHAR",
          "sample_rate": "BIGINT", "attributes": "JSON"}
_SPEC = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in _TYPES.items()) + "}"
MAX_LINE_BYTES = 256 * 1024 * 1024  # the reader's limit per line; a longer one sends its file to the exact path

# The columns staged for raw_events, in the order of `warehouse._TYPED_COLUMNS`.
_STAGED = """event_id, try_strptime("timestamp", '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, service, route, method,
    TRY_CAST(status AS INTEGER) AS status, duration_ms, level, "error.code" AS error_code,
    "error.type" AS error_type, "error.message" AS error_message, trace_id, request_id, user_id, client_ip,
    user_agent, TRY_CAST(sample_rate AS INTEGER) AS sample_rate, coalesce(attributes, '{}')::JSON AS attributes"""
# The same from a columnar segment, whose columns are already raw_events' (a missing one fails the read).
_STAGED_COLUMNAR = ", ".join(f"coalesce({name}, '{{}}')::JSON AS {name}" if name == "attributes" else name
                             for name in COLUMNAR_SCHEMA.names if name != "partition_hour")


def segment_checks(string_limits: dict[str, int], default_limit: int) -> str:
    """True for a row the contract accepts as it stands (the exact path's checks, on typed columns)."""
    longest = " AND ".join(f"coalesce(length({COLUMNS[name]}), 0) <= {string_limits.get(name, default_limit)}"
                           for name, kind in _TYPES.items() if kind == "VARCHAR" and name != "timestamp")
    levels = ", ".join(f"'{level}'" for level in LEVELS)
    return f"""coalesce(
        event_id IS NOT NULL AND service IS NOT NULL AND route IS NOT NULL
        AND trim(event_id) <> '' AND trim(service) <> '' AND trim(route) <> ''
        AND level IN ({levels})
        AND ts IS NOT NULL AND ts >= $start AND ts < $end
        AND duration_ms BETWEEN 0 AND {MAX_DURATION_MS:.0f}
        AND (status IS NULL OR status BETWEEN 100 AND 599)
        AND sample_rate BETWEEN 1 AND 2147483647
        AND json_type(attributes) = 'OBJECT'
        AND {longest}, false)"""


def _read(con: duckdb.DuckDBPyConnection, files: list[str], table: str, checks: str = "true", start=None,
          end=None) -> None:
    """Read `files` into `table` in one pass: `filename`, `seq`, the staged columns, and `ok` (the checks). JSON
    segments are read first, then columnar ones (`seq` runs on across both)."""
    lines = [path for path in files if not path.endswith(COLUMNAR)]
    columnar = [path for path in files if path.endswith(COLUMNAR)]
    sources = []
    if lines:
        sources.append(f"""SELECT filename, {_STAGED} FROM read_json($lines, format = 'newline_delimited',
            columns = {_SPEC}, filename = true, maximum_object_size = {MAX_LINE_BYTES})""")
    if columnar:
        sources.append(f"SELECT filename, {_STAGED_COLUMNAR} FROM read_parquet($columnar, filename = true)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT *, {checks} AS ok FROM (
            SELECT filename, row_number() OVER () AS seq, * EXCLUDE (filename)
            FROM ({" UNION ALL ".join(sources) or "SELECT 1 WHERE false"}))""",
                ({"lines": lines} if lines else {}) | ({"columnar": columnar} if columnar else {})
                | ({"start": start, "end": end} if checks != "true" else {}))


def stage_segments(con: duckdb.DuckDBPyConnection, files: list[str], start, end,
                   string_limits: dict[str, int], default_limit: int = MAX_STRING_CHARS) -> tuple[int, list[str]]:
    """Stage the rows of every file in `files` that passes whole into temp table SEGMENT_ROWS (`filename`, `seq`,
    the typed columns, `ok`); returns how many rows were staged (0: no table) and the files left to the exact
    path, in order."""
    readable, checks = list(files), segment_checks(string_limits, default_limit)
    try:
        _read(con, readable, SEGMENT_ROWS, checks, start, end)
    except duckdb.Error:  # which file: each alone, then the readable ones together
        readable = [path for path in files if _readable(con, path)]
        if not readable:
            return 0, list(files)
        _read(con, readable, SEGMENT_ROWS, checks, start, end)
    rejected = [row[0] for row in con.execute(f"SELECT DISTINCT filename FROM {SEGMENT_ROWS} WHERE NOT ok").fetchall()]
    if rejected:
        con.execute(f"DELETE FROM {SEGMENT_ROWS} WHERE list_contains($files, filename)", {"files": rejected})
    staged = con.execute(f"SELECT count(*) FROM {SEGMENT_ROWS}").fetchall()[0][0]
    return staged, [path for path in files if path not in readable or path in rejected]


def _readable(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    try:
        _read(con, [path], "segment_probe")
        return True
    except duckdb.Error:
        return False
    finally:
        con.execute("DROP TABLE IF EXISTS segment_probe")


def drop_segment_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {SEGMENT_ROWS}")
