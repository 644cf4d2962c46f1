"""A PostgreSQL table as the landing zone: one row per event, idempotent by `event_id`.

Rows keep the canonical JSON line byte-for-byte in `payload`; batches go in through COPY into a
temp staging table and one `INSERT ... ON CONFLICT DO NOTHING`, so replays insert nothing twice.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from itertools import chain, islice
from typing import Callable, Iterable, Iterator, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from logintel.events import NUL, REPLACEMENT, WideEvent
from logintel.store.landing import HourBatch, LandingChanges, LandingUnavailable, hour_floor

# Rows per transaction: large enough that COPY dominates, small enough to hold in memory and
# to retry whole after a dropped connection (the insert is idempotent, so a retry is safe).
BATCH_ROWS = 20_000
DEFAULT_TABLE = "landing_events"
STAGING_TABLE = "logintel_landing_staging"
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$")
_DRIVER_SUFFIX = re.compile(r"^(postgres(?:ql)?)\+[A-Za-z0-9_]+://", re.IGNORECASE)
_CANONICAL_HEAD = re.compile(r'\{"event_id":"([^"\\]+)","timestamp":"([^"\\]+)"')
_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)

T = TypeVar("T")
Row = tuple[str, datetime, str]  # event_id, event_time, payload




def libpq_url(url: str) -> str:
    """SQLAlchemy-style `postgresql+psycopg2://` -> the `postgresql://` that libpq understands."""
    return _DRIVER_SUFFIX.sub(r"\1://", url.strip())


def redact_url(url: str) -> str:
    """The URL (or key=value conninfo) with any password replaced by ***."""
    if "://" not in url:
        return _CONNINFO_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    query = parts.query
    if query and "password" in query.lower():
        query = urlencode([(k, "***" if k.lower() == "password" else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class PostgresLandingZone:
    """The landing zone in table `table` of the database at `url`.

    Watermarks from `changes_since` are PostgreSQL snapshots ("xmin:xmax:xip,..."): opaque strings
    meaningful only against the cluster that issued them. See `changes_since` for the guarantee.
    """

    def __init__(self, url: str, table: str = DEFAULT_TABLE, connect_timeout: int = 10):
        if not _TABLE_NAME.match(table):
            raise ValueError(f"table must be [schema.]name of letters, digits and _; got {table!r}")
        self.url = libpq_url(url)
        self.table_name = table
        self.connect_timeout = connect_timeout
        self._table = sql.Identifier(*table.split("."))
        base = table.split(".")[-1]
        self._hour_index = sql.Identifier(f"{base}_event_hour_seq_idx")
        self._xid_index = sql.Identifier(f"{base}_writer_xid_idx")
        self._staging = sql.Identifier(STAGING_TABLE)
        self._source_prefix = f"{base}:"
        self._conn: psycopg.Connection | None = None
        # One connection, used by one caller at a time: psycopg connections are not for sharing mid-transaction.
        self._lock = threading.Lock()

    def describe(self) -> str:
        return redact_url(self.url)

    def close(self) -> None:
        with self._lock:
            self._discard()

    def __enter__(self) -> PostgresLandingZone:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def write(self, events: Iterable[WideEvent]) -> int:
        """Insert events not already present (by event_id); returns how many rows were new."""
        return self._write_rows((_event_row(event) for event in events), hour=None)

    def write_lines(self, hour: datetime, lines: Iterable[str]) -> int:
        """Store already-canonical JSON lines under `hour`, like `FileLandingZone.write_lines`.

        A line that is not a JSON object with an `event_id` is still stored (keyed by its hash), so
        the warehouse turns it into a dead letter on read exactly as it would from a file.
        """
        hour = hour_floor(hour)
        return self._write_rows((_line_row(hour, line) for line in lines), hour=hour)

    def write_rows(self, rows: Iterable[Row]) -> int:
        """Insert (event_id, event_time, canonical line) rows not already present; each row's
        hour is cut from its event_time (UTC; a naive time means UTC). For writers that already hold
        those three, like the emitter's PostgreSQL transport: nothing is parsed. Returns how many
        rows were new."""
        return self._write_rows(((event_id, _aware(ts), line) for event_id, ts, line in rows), hour=None)

    def _write_rows(self, rows: Iterator[Row], hour: datetime | None) -> int:
        chunks = iter(lambda: list(islice(rows, BATCH_ROWS)), [])
        first = next(chunks, None)
        if first is None:
            return 0
        second = next(chunks, None)
        if second is None:  # the common small batch: no thread needed
            return self._call(lambda conn: self._insert(conn, first, hour))
        # Serializing events is Python work and the INSERT is server work: overlap them by
        # inserting chunk k on a worker while this thread builds chunk k+1.
        inserted = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing-insert") as worker:
            pending = worker.submit(self._call, lambda conn: self._insert(conn, first, hour))
            for chunk in chain([second], chunks):
                inserted += pending.result()
                pending = worker.submit(self._call, lambda conn, chunk=chunk: self._insert(conn, chunk, hour))
            inserted += pending.result()
        return inserted

    def _insert(self, conn: psycopg.Connection, rows: list[Row], hour: datetime | None) -> int:
        with conn.cursor() as cur:
            copy_sql = sql.SQL("COPY {} (event_id, event_time, payload) FROM STDIN (FORMAT BINARY)")
            with cur.copy(copy_sql.format(self._staging)) as copy:
                copy.set_types(["text", "timestamptz", "text"])
                for row in rows:
                    copy.write_row(row if NUL not in row[0] and NUL not in row[2] else _without_nul(row))
            # Hours are cut in UTC on the server, the same cut as `hour_floor`, to spare Python the
            # work. Inserting in key order makes concurrent writers of overlapping batches take
            # their row locks in the same order, so they wait for each other instead of deadlocking.
            cur.execute(sql.SQL(
                "INSERT INTO {t} (event_id, event_time, event_hour, payload)"
                " SELECT event_id, event_time,"
                "        coalesce(%s::timestamptz, date_trunc('hour', event_time, 'UTC')), payload"
                " FROM {s} ORDER BY event_id COLLATE \"C\""
                " ON CONFLICT (event_id) DO NOTHING").format(t=self._table, s=self._staging),
                (hour,))
            return max(cur.rowcount, 0)

    # -- reading -------------------------------------------------------------------------------

    def hours(self) -> list[datetime]:
        rows = self._call(lambda conn: conn.execute(self._distinct_hours()).fetchall())
        return [_utc(row[0]) for row in rows]

    def _distinct_hours(self) -> sql.Composed:
        # A loose index scan: one index probe per distinct hour instead of reading every row.
        return sql.SQL(
            "WITH RECURSIVE h AS ("
            " (SELECT event_hour FROM {t} ORDER BY event_hour LIMIT 1)"
            " UNION ALL"
            " SELECT (SELECT event_hour FROM {t} WHERE event_hour > h.event_hour ORDER BY event_hour LIMIT 1)"
            " FROM h WHERE h.event_hour IS NOT NULL"
            ") SELECT event_hour FROM h WHERE event_hour IS NOT NULL").format(t=self._table)

    def read_hour(self, hour: datetime, canonical_as_files: bool = False) -> HourBatch:
        """Every line of the hour (rows, not files: `canonical_as_files` changes nothing here)."""
        batch = HourBatch(hour=hour_floor(hour))
        query = sql.SQL("SELECT seq, payload FROM {} WHERE event_hour = %s ORDER BY seq").format(self._table)
        rows = self._call(lambda conn: conn.execute(query, (batch.hour,)).fetchall())
        prefix = self._source_prefix
        batch.lines = [payload for _, payload in rows]
        batch.sources = [f"{prefix}{seq}" for seq, _ in rows]
        return batch

    def changes_since(self, watermark: str | None) -> LandingChanges:
        """Hours of every row committed after the snapshot in `watermark` (None: every hour).

        Why a snapshot and not max(seq): identity values are drawn at insert time but become
        visible at commit, so a transaction holding seq 10 can commit after one holding seq 11
        was already seen; "seq > last max" would then skip seq 10 forever. Each row instead
        records its writer's transaction id, and the watermark is the snapshot this call read
        under. A row is reported iff its writer was not visible in the previous snapshot and is
        visible in this one. Snapshot visibility only grows, so every committed row is reported
        by exactly one call in a chain of watermarks: none skipped, none repeated. The scan is
        bounded below by the old snapshot's xmin (indexed), so an idle table costs one probe.
        """
        if watermark is None:
            return self._call(self._all_changes)
        previous = watermark.strip()
        changes = self._call(lambda conn: self._changes_after(conn, previous))
        return changes if changes is not None else self._call(self._all_changes)

    def _all_changes(self, conn: psycopg.Connection) -> LandingChanges:
        # One statement, one snapshot: the hours and the watermark describe the same instant.
        row = conn.execute(sql.SQL("SELECT pg_current_snapshot()::text, ARRAY({})").format(
            self._distinct_hours())).fetchone()
        return LandingChanges(watermark=row[0], hours={_utc(h) for h in row[1]})

    def _changes_after(self, conn: psycopg.Connection, previous: str) -> LandingChanges | None:
        try:
            row = conn.execute(sql.SQL(
                "SELECT pg_current_snapshot()::text,"
                " pg_snapshot_xmax(pg_current_snapshot()) < pg_snapshot_xmax(%(w)s::pg_snapshot),"
                " ARRAY(SELECT DISTINCT event_hour FROM {t}"
                "       WHERE writer_xid >= pg_snapshot_xmin(%(w)s::pg_snapshot)"
                "         AND NOT pg_visible_in_snapshot(writer_xid, %(w)s::pg_snapshot))"
            ).format(t=self._table), {"w": previous}).fetchone()
        except (psycopg.errors.InvalidTextRepresentation, psycopg.errors.InvalidParameterValue) as exc:
            raise ValueError(f"not a watermark from PostgresLandingZone: {previous!r} ({exc})") from None
        snapshot, from_the_future, hours = row
        if from_the_future:
            # The watermark came from another cluster (a restore, a failover to a fresh one):
            # its transaction ids mean nothing here, so start over rather than skip rows.
            return None
        return LandingChanges(watermark=snapshot, hours={_utc(h) for h in hours})

    # -- connection ----------------------------------------------------------------------------

    def _call(self, work: Callable[[psycopg.Connection], T]) -> T:
        """Run `work` in one transaction; retry once on a fresh connection if it failed.

        A server restart kills idle connections and concurrent ON CONFLICT inserts can deadlock;
        neither is an outage. Every `work` here is a read or an idempotent insert, so a retry is
        safe (if a commit's reply was lost, the retry inserts 0 and the count comes out low).
        """
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    with conn.transaction():
                        return work(conn)
                except psycopg.OperationalError as exc:
                    self._discard()
                    if attempt == 1:
                        continue
                    raise self._unavailable(exc) from exc
        raise AssertionError("unreachable")

    def _connection(self) -> psycopg.Connection:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conn = psycopg.connect(self.url, connect_timeout=self.connect_timeout,
                                   application_name="logintel-landing")
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            with conn.transaction():
                self._prepare(conn)
        except psycopg.OperationalError as exc:
            conn.close()
            raise self._unavailable(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _prepare(self, conn: psycopg.Connection) -> None:
        """Create the table on first use, and this session's staging table."""
        # Concurrent CREATE ... IF NOT EXISTS can still collide in the catalog; serialize it.
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                     (f"logintel.landing:{self.table_name}",))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {t} ("
            " seq bigint GENERATED ALWAYS AS IDENTITY,"
            " event_id text PRIMARY KEY,"
            " event_time timestamptz NOT NULL,"
            " event_hour timestamptz NOT NULL,"
            " payload text NOT NULL,"
            " received_at timestamptz NOT NULL DEFAULT now(),"
            # The writing transaction, for changes_since; see its docstring.
            " writer_xid xid8 NOT NULL DEFAULT pg_current_xact_id())").format(t=self._table))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (event_hour, seq)").format(
            i=self._hour_index, t=self._table))
        conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (writer_xid)").format(
            i=self._xid_index, t=self._table))
        conn.execute(sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {s} (event_id text, event_time timestamptz, payload text)"
            " ON COMMIT DELETE ROWS").format(s=self._staging))

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _unavailable(self, exc: BaseException) -> LandingUnavailable:
        cause = " ".join(str(exc).split()) or type(exc).__name__
        password = urlsplit(self.url).password if "://" in self.url else None
        if password:
            cause = cause.replace(password, "***")
        return LandingUnavailable(f"PostgreSQL landing zone {self.describe()} is unavailable: {cause}")


def _without_nul(row: Row) -> Row:
    # PostgreSQL text cannot hold U+0000 and COPY refuses the whole batch for one: the key and the
    # payload keep U+FFFD in its place, as the event parser does (a JSON payload escapes it anyway).
    event_id, ts, line = row
    return event_id.replace(NUL, REPLACEMENT), ts, line.replace(NUL, REPLACEMENT)


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)


def _event_row(event: WideEvent) -> Row:
    return event.event_id, _aware(event.timestamp), event.to_json()


def _line_row(hour: datetime, line: str) -> Row:
    # Canonical lines open with event_id then timestamp (WideEvent.to_record's order): read
    # those two without decoding the whole object; anything else takes the general path.
    head = _CANONICAL_HEAD.match(line)
    if head:
        return head[1], _event_time(head[2], hour), line
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        record = {}
    event_id = record.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        event_id = "sha256:" + hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()
    return event_id, _event_time(record.get("timestamp"), hour), line


def _event_time(value: object, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value))
        except ValueError:
            pass
    return fallback
