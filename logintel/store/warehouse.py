"""The DuckDB warehouse: schema, and loading one hour of landed lines into `raw_events`.

Validation is set-based: DuckDB checks every line's JSON and types in one pass; only the lines it
flags go through the Python contract (`logintel.events`), which stays the single authority on
what is valid and why. Re-loading an hour replaces it; duplicates by `event_id` are counted.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from logintel.store.dead_letters import DeadLetter
from logintel.events import LEVELS, MAX_DURATION_MS, MAX_STRING_CHARS, EventValidationError, parse_json_line
from logintel.store.landing import HOUR, HourBatch, LandingZone, hour_key
from logintel.store.landing_files import COLUMNAR, LIST_ATTEMPTS, read_columnar_segment, read_segment
from logintel.store.schema import ensure_tables
from logintel.store.log_errors import mark_failed_by_logs
from logintel.store.segment_adoption import ADOPTED_FILES, accepts_files, candidates
from logintel.store.segment_reader import SEGMENT_ROWS, drop_segment_rows, segment_checks, stage_segments
from logintel.store.metric_rows import IS_METRICS_CARRIER, replace_metric_points
from logintel.store.span_rows import IS_CARRIER, SPAN_COUNT, STRIPPED_ATTRIBUTES, replace_spans


STRING_FIELDS = ("event_id", "service", "route", "method", "level", "error.code", "error.type",
                 "error.message", "trace_id", "request_id", "user_id", "client_ip", "user_agent")
_STRING_LIMITS = {"event_id": 128, "service": 128, "route": 512, "error.message": 64 * 1024}
_REQUIRED_STRINGS = ("event_id", "service", "route", "level")
_COLUMNS = ("event_id", "ts", "service", "route", "method", "status", "duration_ms", "level", "error_code",
            "error_type", "error_message", "trace_id", "request_id", "user_id", "client_ip", "user_agent",
            "sample_rate", "attributes", "partition_hour")


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    ensure_tables(con, "raw_events", "spans", "metric_points")


def latest_event_time(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest event in the warehouse: where the data ends (an incident reaching it is still open)."""
    return con.execute("SELECT max(ts) FROM raw_events").fetchone()[0]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """Replacing a partition is delete + insert: both land, or neither does."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@dataclass
class LoadReport:
    partition: str
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    spans: int = 0  # rows written to the spans table (span events carry them)
    failed_by_logs: int = 0  # requests marked failed by an error line written inside their spans (`log_errors`)
    fast_lines: int = 0  # lines read from canonical segments by DuckDB's reader (`segment_reader`)
    adopted_lines: int = 0  # rows of columnar segments the lake committed as they are (`segment_adoption`)
    late_span_carriers: int = 0  # carriers of late spans: their spans went to the spans table, no event stored
    metric_carriers: int = 0  # carriers of metrics' data points (`metric_rows`): no event stored
    metric_points: int = 0  # rows written to the metric_points table
    segment_files: int = 0  # canonical segments the hour was read from (fewer, bigger: sealed, `segment_sealing`)
    columnar_files: int = 0  # of which columnar
    dead_letters: list[DeadLetter] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def dead_lettered(self) -> int:
        return len(self.dead_letters)

    @property
    def by_cause(self) -> dict[str, int]:
        return dict(Counter(d.cause for d in self.dead_letters))

    def accounted(self) -> bool:
        """Every line read is loaded, a duplicate, a dead letter, or a carrier of late spans or of metrics."""
        return self.lines == (self.loaded + self.duplicates + self.dead_lettered + self.late_span_carriers
                              + self.metric_carriers)


# Every path is read in one JSON parse per line: json_type / json_extract_string take a list of paths.
_PATHS = ("$", "event_id", "timestamp", "service", "route", "method", "status", "duration_ms", "level",
          "error.code", "error.type", "error.message", "trace_id", "request_id", "user_id", "client_ip",
          "user_agent", "sample_rate", "attributes", "error")
_AT = {name: index + 1 for index, name in enumerate(_PATHS)}  # DuckDB lists are 1-based
_PATH_LIST = "[" + ", ".join("'$'" if p == "$" else "'$.\"" + p + "\"'" for p in _PATHS) + "]"


def _t(name: str) -> str:
    return f"coalesce(t[{_AT[name]}], 'NULL')"


def _v(name: str) -> str:
    return f"v[{_AT[name]}]"


def _type_pattern() -> str:
    """A regex over the comma-joined JSON types of _PATHS that clean canonical records match."""
    allowed = {"$": "OBJECT", "timestamp": "VARCHAR", "status": "BIGINT|UBIGINT|NULL",
               "duration_ms": "BIGINT|UBIGINT|DOUBLE", "sample_rate": "BIGINT|UBIGINT",
               "attributes": "OBJECT|NULL", "error": "NULL"}
    for name in STRING_FIELDS:
        allowed[name] = "VARCHAR" if name in _REQUIRED_STRINGS else "VARCHAR|NULL"
    return "^" + ",".join(f"({allowed[p]})" for p in _PATHS) + "$"


def _flag_sql() -> str:
    """A SQL expression that is NULL for lines that are clean canonical records, else a hint.

    Kept to a handful of cheap tests per line (one regex over the types, a few ranges): a CASE
    with one branch per field costs ten times more at a million lines.
    """
    signature = "array_to_string(list_transform(t, lambda x: coalesce(x, 'NULL')), ',')"
    short_limits = " OR ".join(f"length({_v(n)}) > {_STRING_LIMITS[n]}" for n in ("event_id", "service", "route"))
    long_fields = [n for n in STRING_FIELDS if n not in ("event_id", "service", "route")]
    long_limits = " OR ".join(f"length({_v(n)}) > {_STRING_LIMITS.get(n, 2048)}" for n in long_fields)
    checks = [
        f"WHEN NOT regexp_full_match({signature}, '{_type_pattern()}') THEN 'types'",
        f"WHEN {short_limits} THEN 'length'",
        f"WHEN length(line) > 2048 AND ({long_limits}) THEN 'length'",
        f"WHEN trim({_v('event_id')}) = '' OR trim({_v('service')}) = '' OR trim({_v('route')}) = '' THEN 'empty'",
        f"WHEN {_v('level')} NOT IN ({', '.join(repr(level) for level in LEVELS)}) THEN 'level'",
        f"WHEN NOT ({_v('duration_ms')}::DOUBLE BETWEEN 0 AND {MAX_DURATION_MS:.0f}) THEN 'duration_ms'",
        f"WHEN NOT coalesce(TRY_CAST({_v('status')} AS BIGINT) BETWEEN 100 AND 599, {_v('status')} IS NULL) THEN 'status'",
        f"WHEN NOT coalesce(TRY_CAST({_v('sample_rate')} AS BIGINT) BETWEEN 1 AND 2147483647, false) THEN 'sample_rate'",
        "WHEN ts IS NULL THEN 'timestamp'",
        "WHEN ts < $start OR ts >= $end THEN 'partition'",
    ]
    return "CASE " + " ".join(checks) + " ELSE NULL END"


# What raw_events stores of a staged row: its span records go to the spans table instead (`span_rows`).
_STORED_COLUMNS = ", ".join(STRIPPED_ATTRIBUTES if c == "attributes" else c for c in _COLUMNS[:-1])
_TS_SQL = f"try_strptime({_v('timestamp')}, '%Y-%m-%dT%H:%M:%S.%fZ')"
_TYPED_COLUMNS = ", ".join([
    f"{_v('event_id')} AS event_id", "ts", f"{_v('service')} AS service", f"{_v('route')} AS route",
    f"{_v('method')} AS method", f"TRY_CAST({_v('status')} AS INTEGER) AS status",
    f"TRY_CAST({_v('duration_ms')} AS DOUBLE) AS duration_ms", f"{_v('level')} AS level",
    f"{_v('error.code')} AS error_code", f"{_v('error.type')} AS error_type",
    f"{_v('error.message')} AS error_message", f"{_v('trace_id')} AS trace_id",
    f"{_v('request_id')} AS request_id", f"{_v('user_id')} AS user_id", f"{_v('client_ip')} AS client_ip",
    f"{_v('user_agent')} AS user_agent", f"coalesce(TRY_CAST({_v('sample_rate')} AS INTEGER), 1) AS sample_rate",
    f"coalesce({_v('attributes')}, '{{}}')::JSON AS attributes"])
_NULL_COLUMNS = ", ".join(["NULL::VARCHAR AS event_id", "NULL::TIMESTAMP AS ts"] + [
    f"NULL::{kind} AS {name}" for name, kind in (
        ("service", "VARCHAR"), ("route", "VARCHAR"), ("method", "VARCHAR"), ("status", "INTEGER"),
        ("duration_ms", "DOUBLE"), ("level", "VARCHAR"), ("error_code", "VARCHAR"), ("error_type", "VARCHAR"),
        ("error_message", "VARCHAR"), ("trace_id", "VARCHAR"), ("request_id", "VARCHAR"), ("user_id", "VARCHAR"),
        ("client_ip", "VARCHAR"), ("user_agent", "VARCHAR"), ("sample_rate", "INTEGER"), ("attributes", "JSON"))])
_PARSED_SQL = f"json_type(line, {_PATH_LIST}) AS t, json_extract_string(line, {_PATH_LIST}) AS v"


class _NotAdoptable(Exception):
    """The hour has a duplicate or a span event: no file is committed as it is (`segment_adoption`)."""


def load_landed(con: duckdb.DuckDBPyConnection, zone: LandingZone, hour: datetime,
                now: datetime | None = None) -> LoadReport:
    """Read `hour` from the landing zone and load it (`load_hour`), its canonical segments by DuckDB's own reader. A
    segment a writer sealed away between the listing and the read (`segment_sealing`: its rows are in the sealed
    segment by then) makes the hour listed and loaded again; any other failure is raised."""
    for attempt in range(1, LIST_ATTEMPTS + 1):
        batch = zone.read_hour(hour, canonical_as_files=True)
        try:
            return load_hour(con, batch, now)
        except (FileNotFoundError, duckdb.Error):
            if attempt == LIST_ATTEMPTS or all(os.path.exists(path) for path in batch.files):
                raise
    raise AssertionError("unreachable")


def load_hour(con: duckdb.DuckDBPyConnection, batch: HourBatch, now: datetime | None = None) -> LoadReport:
    """Replace partition `batch.hour` of raw_events with the valid, de-duplicated lines of `batch`. On a connection
    that commits whole data files (the lake's hour session), columnar segments that pass whole are left to it
    instead of being copied row by row (`segment_adoption`): the hour's rows are the same either way."""
    start = batch.hour.replace(tzinfo=None)
    if batch.files and accepts_files(con):
        adoptable = candidates(con, batch.files, segment_checks(_STRING_LIMITS, MAX_STRING_CHARS), start, start + HOUR)
        if adoptable:
            try:
                return _load_hour(con, batch, now, adoptable)
            except _NotAdoptable:
                pass
    return _load_hour(con, batch, now, {})


def _load_hour(con: duckdb.DuckDBPyConnection, batch: HourBatch, now: datetime | None,
               adopted: dict[str, int]) -> LoadReport:
    started = time.perf_counter()
    start = batch.hour.replace(tzinfo=None)
    end = start + HOUR
    partition = hour_key(batch.hour)
    report = LoadReport(partition=partition, segment_files=len(batch.files),
                        columnar_files=sum(path.endswith(COLUMNAR) for path in batch.files))
    ensure_schema(con)
    params = {"start": start, "end": end}
    files = [path for path in batch.files if path not in adopted]
    if files:  # canonical segments: DuckDB's reader, each file whole or not at all
        report.fast_lines, exact = stage_segments(con, files, start, end, _STRING_LIMITS)
        batch = _with_segments(batch, exact)
    report.adopted_lines = sum(adopted.values())
    report.lines = len(batch.lines) + len(batch.rejects) + report.fast_lines + report.adopted_lines
    report.dead_letters.extend(batch.rejects)

    staged_lines = pa.table({"line": pa.array(batch.lines, pa.string()),
                             "line_no": pa.array(range(len(batch.lines)), pa.int64())})
    con.register("landed_lines", staged_lines)
    # One JSON parse per line, into typed columns; the line text is kept only where flagged.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE staged AS
        SELECT line_no, 'invalid_json' AS flag, line AS bad_line, {_NULL_COLUMNS}
        FROM landed_lines WHERE NOT json_valid(line)
        UNION ALL
        SELECT line_no, flag, CASE WHEN flag IS NOT NULL THEN line END, {_TYPED_COLUMNS}
        FROM (SELECT line_no, line, t, v, ts, {_flag_sql()} AS flag
              FROM (SELECT line_no, line, t, v, {_TS_SQL} AS ts
                    FROM (SELECT line_no, line, {_PARSED_SQL} FROM landed_lines WHERE json_valid(line))))
    """, params)
    con.unregister("landed_lines")
    del staged_lines
    flagged = con.execute("SELECT line_no, bad_line FROM staged WHERE flag IS NOT NULL ORDER BY line_no").fetchall()

    # Lines the fast path flagged get the contract's precise verdict (and are rescued if valid).
    rescued = []
    for line_no, line in flagged:
        source = batch.sources[line_no]
        try:
            event = parse_json_line(line, now=now)
        except EventValidationError as exc:
            report.dead_letters.append(DeadLetter("raw_events", source, exc.dead_letter_cause, str(exc), line, partition))
            continue
        ts = event.timestamp.replace(tzinfo=None)
        if not start <= ts < end:
            report.dead_letters.append(DeadLetter(
                "raw_events", source, "validation:timestamp",
                f"timestamp: {event.timestamp.isoformat()} is outside partition {partition} "
                "(the event landed in the wrong hour)", line, partition))
            continue
        # Valid by the contract but not in canonical form (nested keys, offsets, aliases): rewrite it.
        rescued.append((line_no, event.to_json()))

    if rescued:
        con.execute("CREATE OR REPLACE TEMP TABLE rescued (line_no BIGINT, line VARCHAR)")
        con.executemany("INSERT INTO rescued VALUES (?, ?)", rescued)
        con.execute(f"""INSERT INTO staged SELECT line_no, NULL, NULL, {_TYPED_COLUMNS}
                        FROM (SELECT line_no, t, v, {_TS_SQL} AS ts
                              FROM (SELECT line_no, {_PARSED_SQL} FROM rescued))""")
        con.execute("DROP TABLE rescued")

    # The good lines: the exact path's, then the fast reader's (a duplicate keeps the copy read first).
    good = "SELECT * EXCLUDE (flag, bad_line) FROM staged WHERE flag IS NULL"
    if report.fast_lines:
        good += f" UNION ALL SELECT seq + {len(batch.lines)} AS line_no, * EXCLUDE (filename, seq, ok) FROM {SEGMENT_ROWS}"
    # Duplicates are rare (a replay, a retried batch); only pay for de-duplication when present.
    good_lines, distinct = con.execute(f"SELECT count(*), count(DISTINCT event_id) FROM ({good})").fetchall()[0]
    if adopted:
        distinct = _adoptable_distinct(con, good, list(adopted), good_lines + report.adopted_lines)
    # Copies of one event id are one event sent twice: the same line, except a unit of work's span event, which each
    # request that held some of its spans summarised from those. The copy with the most spans is the fullest account,
    # whichever order the copies landed in (a Collector's retry may batch them differently); then the first read.
    dedupe = (f"QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY {SPAN_COUNT} DESC, line_no) = 1"
              if good_lines > distinct else "")
    rows = f"(SELECT * FROM ({good}) {dedupe})"

    try:
        with transaction(con):
            con.execute("DELETE FROM raw_events WHERE partition_hour = $start", {"start": start})
            con.execute(f"""
                INSERT INTO raw_events ({', '.join(_COLUMNS)})
                SELECT {_STORED_COLUMNS}, $start FROM {rows} WHERE NOT {IS_CARRIER} AND NOT {IS_METRICS_CARRIER}
            """, {"start": start})
            report.spans = replace_spans(con, rows, start)
            report.metric_points, report.metric_carriers = replace_metric_points(con, rows, start)
            if report.spans:
                report.failed_by_logs = mark_failed_by_logs(con, start)
            report.loaded = con.execute("SELECT count(*) FROM raw_events WHERE partition_hour = $start",
                                        {"start": start}).fetchone()[0] + report.adopted_lines
            if adopted:
                con.executemany(f"INSERT INTO main.{ADOPTED_FILES} VALUES ('raw_events', ?, ?)", list(adopted.items()))
        # one row per event id was kept, and every kept row not a carrier was stored
        report.late_span_carriers = distinct - report.loaded - report.metric_carriers
    finally:
        con.execute("DROP TABLE IF EXISTS staged")
        drop_segment_rows(con)
    report.duplicates = (report.lines - report.loaded - report.dead_lettered - report.late_span_carriers
                         - report.metric_carriers)
    report.elapsed_s = time.perf_counter() - started
    return report


def _adoptable_distinct(con: duckdb.DuckDBPyConnection, good: str, adopted: list[str], rows: int) -> int:
    """The distinct event ids of the hour with the `adopted` files' rows; _NotAdoptable when any id repeats or a
    span event is among the other rows (see `segment_adoption`)."""
    distinct, spans = con.execute(f"""
        SELECT count(DISTINCT event_id), count(*) FILTER (WHERE span_event) FROM (
            SELECT event_id, starts_with(event_id, 'span-') AS span_event FROM ({good})
            UNION ALL SELECT event_id, false FROM read_parquet($adopted))""", {"adopted": adopted}).fetchone()
    if distinct < rows or spans:
        con.execute("DROP TABLE IF EXISTS staged")
        drop_segment_rows(con)
        raise _NotAdoptable
    return distinct


def _with_segments(batch: HourBatch, paths: list[str]) -> HourBatch:
    """`batch` with the lines of these segment files added (the files the fast reader left to the exact path)."""
    if not paths:
        return batch
    more = HourBatch(hour=batch.hour, lines=list(batch.lines), sources=list(batch.sources),
                     rejects=list(batch.rejects))
    for path in paths:
        (read_columnar_segment if path.endswith(COLUMNAR) else read_segment)(Path(path), more)
    return more


def partition_frame(con: duckdb.DuckDBPyConnection, hour: datetime):
    """One partition of raw_events as a DataFrame, without the wide text columns (attributes, message)."""
    return con.execute("SELECT * EXCLUDE (attributes, error_message) FROM raw_events WHERE partition_hour = $h",
                       {"h": hour.replace(tzinfo=None)}).df()


def covered_hours(con: duckdb.DuckDBPyConnection):
    """A test of whether the warehouse holds every hour of [start, end) in raw_events."""
    hours = {row[0] for row in con.execute("SELECT DISTINCT partition_hour FROM raw_events").fetchall()}

    def covered(start: datetime, end: datetime) -> bool:
        hour = start.replace(minute=0, second=0, microsecond=0)
        while hour < end:
            if hour not in hours:
                return False
            hour += HOUR
        return True
    return covered
