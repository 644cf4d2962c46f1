"""The DuckDB warehouse: schema, and loading one hour of landed lines into `raw_events`.

Validation is set-based: DuckDB checks every line's JSON and types in one pass; only the lines it
flags go through the Python contract (`logintel.events`), which stays the single authority on
what is valid and why. Re-loading an hour replaces it; duplicates by `event_id` are counted.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from logintel.deadletters import DeadLetter
from logintel.events import EventValidationError, parse_json_line
from logintel.store.landing import HOUR, HourBatch, hour_key

RAW_EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS raw_events (
    event_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, service VARCHAR NOT NULL, route VARCHAR NOT NULL,
    method VARCHAR, status INTEGER, duration_ms DOUBLE NOT NULL, level VARCHAR NOT NULL,
    error_code VARCHAR, error_type VARCHAR, error_message VARCHAR, trace_id VARCHAR, request_id VARCHAR,
    user_id VARCHAR, client_ip VARCHAR, user_agent VARCHAR, sample_rate INTEGER NOT NULL,
    attributes JSON, partition_hour TIMESTAMP NOT NULL
)"""

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
    con.execute(RAW_EVENTS_DDL)


@dataclass
class LoadReport:
    partition: str
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def dead_lettered(self) -> int:
        return len(self.dead_letters)

    @property
    def by_cause(self) -> dict[str, int]:
        return dict(Counter(d.cause for d in self.dead_letters))

    def accounted(self) -> bool:
        """Every line read is loaded, a duplicate, or a dead letter."""
        return self.lines == self.loaded + self.duplicates + self.dead_lettered


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


def _flag_sql() -> str:
    """A SQL expression that is NULL for lines that are clean canonical records, else a hint."""
    checks = [f"WHEN {_t('$')} <> 'OBJECT' THEN 'not_object'"]
    for name in STRING_FIELDS:
        if name in _REQUIRED_STRINGS:
            checks.append(f"WHEN {_t(name)} <> 'VARCHAR' OR trim({_v(name)}) = '' THEN '{name}'")
        else:
            checks.append(f"WHEN {_t(name)} NOT IN ('VARCHAR', 'NULL') THEN '{name}'")
        checks.append(f"WHEN length({_v(name)}) > {_STRING_LIMITS.get(name, 2048)} THEN '{name}'")
    checks += [
        f"WHEN {_v('level')} NOT IN ('debug','info','warn','error','fatal') THEN 'level'",
        f"WHEN {_t('duration_ms')} NOT IN ('BIGINT','UBIGINT','DOUBLE') THEN 'duration_ms'",
        f"WHEN NOT ({_v('duration_ms')}::DOUBLE BETWEEN 0 AND 86400000) THEN 'duration_ms'",
        f"WHEN {_t('status')} NOT IN ('BIGINT','UBIGINT','NULL') THEN 'status'",
        f"WHEN NOT coalesce({_v('status')}::BIGINT BETWEEN 100 AND 599, true) THEN 'status'",
        f"WHEN {_t('sample_rate')} NOT IN ('BIGINT','UBIGINT') THEN 'sample_rate'",
        f"WHEN {_v('sample_rate')}::BIGINT < 1 THEN 'sample_rate'",
        f"WHEN {_t('attributes')} NOT IN ('OBJECT','NULL') THEN 'attributes'",
        f"WHEN {_t('error')} <> 'NULL' THEN 'nested'",
        "WHEN ts IS NULL THEN 'timestamp'",
        "WHEN ts < $start OR ts >= $end THEN 'partition'",
    ]
    return "CASE " + " ".join(checks) + " ELSE NULL END"


_TS_SQL = f"try_strptime({_v('timestamp')}, '%Y-%m-%dT%H:%M:%S.%fZ')"
_PARSED_SQL = f"json_type(line, {_PATH_LIST}) AS t, json_extract_string(line, {_PATH_LIST}) AS v"


def load_hour(con: duckdb.DuckDBPyConnection, batch: HourBatch, now: datetime | None = None) -> LoadReport:
    """Replace partition `batch.hour` of raw_events with the valid, de-duplicated lines of `batch`."""
    started = time.perf_counter()
    start = batch.hour.replace(tzinfo=None)
    end = start + HOUR
    partition = hour_key(batch.hour)
    report = LoadReport(partition=partition, lines=len(batch.lines) + len(batch.rejects))
    report.dead_letters.extend(batch.rejects)
    ensure_schema(con)

    staged_lines = pa.table({"line": pa.array(batch.lines, pa.string()),
                             "line_no": pa.array(range(len(batch.lines)), pa.int64())})
    con.register("landed_lines", staged_lines)
    params = {"start": start, "end": end}
    # Two passes over the lines (cheaper than materialising the parsed form): first the flagged
    # ones, for the contract's verdict; then the clean ones, straight into the table.
    checked = f"""
        SELECT line_no, line, 'invalid_json' AS flag, NULL::VARCHAR[] AS v, NULL::TIMESTAMP AS ts
        FROM landed_lines WHERE NOT json_valid(line)
        UNION ALL
        SELECT line_no, line, {_flag_sql()} AS flag, v, ts
        FROM (SELECT line_no, line, t, v, {_TS_SQL} AS ts
              FROM (SELECT line_no, line, {_PARSED_SQL} FROM landed_lines WHERE json_valid(line)))"""
    flagged = con.execute(f"SELECT line_no, line FROM ({checked}) WHERE flag IS NOT NULL ORDER BY line_no",
                          params).fetchall()

    rescued = []
    for line_no, line in flagged:
        source = batch.sources[line_no]
        try:
            event = parse_json_line(line, now=now)
        except EventValidationError as exc:
            cause = "invalid_json" if exc.reason.startswith("invalid JSON") else (
                "oversized" if "larger than" in exc.reason else exc.cause)
            report.dead_letters.append(DeadLetter("raw_events", source, cause, str(exc), line, partition))
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

    con.execute("CREATE OR REPLACE TEMP TABLE rescued (line_no BIGINT, line VARCHAR)")
    if rescued:
        con.executemany("INSERT INTO rescued VALUES (?, ?)", rescued)
    clean = f"""
        SELECT line_no, v, ts FROM ({checked}) WHERE flag IS NULL
        UNION ALL
        SELECT line_no, v, {_TS_SQL} AS ts FROM (SELECT line_no, {_PARSED_SQL} FROM rescued)"""

    # Duplicates are rare (a replay, a retried batch); only pay for de-duplication when present.
    con.execute(f"CREATE OR REPLACE TEMP TABLE dup_ids AS SELECT {_v('event_id')} AS event_id "
                f"FROM ({clean}) GROUP BY ALL HAVING count(*) > 1", params)
    has_duplicates = con.execute("SELECT count(*) FROM dup_ids").fetchone()[0] > 0
    dedupe = (f"QUALIFY {_v('event_id')} NOT IN (SELECT event_id FROM dup_ids) OR row_number() OVER "
              f"(PARTITION BY {_v('event_id')} ORDER BY line_no) = 1") if has_duplicates else ""

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM raw_events WHERE partition_hour = $start", {"start": start})
        con.execute(f"""
            INSERT INTO raw_events ({', '.join(_COLUMNS)})
            SELECT {_v('event_id')}, ts, {_v('service')}, {_v('route')}, {_v('method')},
                   {_v('status')}::INTEGER, {_v('duration_ms')}::DOUBLE, {_v('level')}, {_v('error.code')},
                   {_v('error.type')}, {_v('error.message')}, {_v('trace_id')}, {_v('request_id')},
                   {_v('user_id')}, {_v('client_ip')}, {_v('user_agent')}, {_v('sample_rate')}::INTEGER,
                   coalesce({_v('attributes')}, '{{}}')::JSON, $start
            FROM ({clean})
            {dedupe}
        """, params)
        report.loaded = con.execute("SELECT count(*) FROM raw_events WHERE partition_hour = $start",
                                    {"start": start}).fetchone()[0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("landed_lines")
        con.execute("DROP TABLE IF EXISTS rescued")
        con.execute("DROP TABLE IF EXISTS dup_ids")
    report.duplicates = report.lines - report.loaded - report.dead_lettered
    report.elapsed_s = time.perf_counter() - started
    return report


def loaded_hours(con: duckdb.DuckDBPyConnection) -> set[datetime]:
    ensure_schema(con)
    return {row[0] for row in con.execute("SELECT DISTINCT partition_hour FROM raw_events").fetchall()}


def lookback_available(con: duckdb.DuckDBPyConnection, hour: datetime) -> bool:
    previous = hour.replace(tzinfo=None) - timedelta(hours=1)
    return previous in loaded_hours(con)
