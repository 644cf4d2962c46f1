"""The small mutable state that many runs write at once — the LLM call log (`llm_calls`), the digest history
(`daily_digests`), the embedding cache (`embeddings`: each distinct pattern summary's vector, by the hash of its
embedder and text) and named documents (`documents`: the template miner's state) — outside the DuckDB warehouse, whose
file allows one writer, and outside any one machine's files when PostgreSQL is configured.

- PostgreSQL when `LOGINTEL_POSTGRES_URL` is set (the database the landing zone uses): every machine's runs write
  it, each statement in its own transaction.
- Otherwise SQLite at `<LOGINTEL_HOME>/state/state.db`, in WAL mode with a busy timeout: any number of processes
  on the machine write it, each waiting its turn for the file's write lock (a transaction holds it for
  milliseconds), and readers never wait.

A call is inserted once by its id (a retried run adds nothing); a digest replaces its day's row; a vector replaces the
one held under its key (two runs embedding the same text write the same row); a document replaces the one held under
its name (its writers take turns: the template miner's step runs one hour at a time). Times are naive
UTC, as in the warehouse. `import_from_warehouse` moves a DuckDB warehouse's tables here (`logintel migrate`).
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

SQLITE_TIMEOUT_S = 60.0

CALL_COLUMNS = ("call_id", "started_at", "prompt_name", "prompt_version", "writer", "model", "latency_ms",
                "prompt_tokens", "completion_tokens", "cached_tokens", "cost_usd", "attempts", "outcome",
                "fallback_reason", "asset", "partition")
DIGEST_COLUMNS = ("day", "created_at", "writer", "claims", "grounded", "grounded_ratio", "invented", "issues",
                  "trends", "recommendations", "tokens", "cost_usd", "latency_ms", "hours_covered", "hours_missing")

_DDL = ("""CREATE TABLE IF NOT EXISTS llm_calls (
    call_id VARCHAR(64) PRIMARY KEY, started_at TIMESTAMP NOT NULL, prompt_name TEXT NOT NULL,
    prompt_version TEXT NOT NULL, writer TEXT NOT NULL, model TEXT, latency_ms DOUBLE PRECISION NOT NULL,
    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL, attempts INTEGER NOT NULL, outcome TEXT NOT NULL, fallback_reason TEXT,
    asset TEXT, partition TEXT)""",
        "CREATE INDEX IF NOT EXISTS llm_calls_partition ON llm_calls (partition)",
        """CREATE TABLE IF NOT EXISTS daily_digests (
    day DATE PRIMARY KEY, created_at TIMESTAMP NOT NULL, writer TEXT NOT NULL, claims INTEGER NOT NULL,
    grounded INTEGER NOT NULL, grounded_ratio DOUBLE PRECISION, invented INTEGER NOT NULL, issues INTEGER NOT NULL,
    trends INTEGER NOT NULL, recommendations INTEGER NOT NULL, tokens INTEGER NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, hours_covered INTEGER NOT NULL,
    hours_missing INTEGER NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS embeddings (
    key VARCHAR(64) PRIMARY KEY, embedder TEXT NOT NULL, dim INTEGER NOT NULL, vector BYTEA NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS documents (
    name VARCHAR(200) PRIMARY KEY, body TEXT NOT NULL, updated_at TIMESTAMP NOT NULL)""")


def naive_utc(at: datetime) -> datetime:
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


class StateStore:
    """One database of small mutable state: SQLite at `path`, or PostgreSQL at `postgres_url`."""

    def __init__(self, path: Path | None = None, postgres_url: str | None = None):
        if (path is None) == (postgres_url is None):
            raise ValueError("a state store is a SQLite file or a PostgreSQL URL, one of the two")
        self.path, self.postgres_url = (Path(path) if path else None), postgres_url
        self._ready = False

    @property
    def where(self) -> str:
        """Where it is, for messages (a URL's password left out)."""
        if self.path is not None:
            return str(self.path)
        from logintel.store.landing_postgres import redact_url
        return redact_url(self.postgres_url)

    # -- connections ---------------------------------------------------------------------------------------------

    def _connect(self):
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT_S, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            return con
        import psycopg
        from logintel.store.landing_postgres import libpq_url
        return psycopg.connect(libpq_url(self.postgres_url), autocommit=True)

    def _sql(self, statement: str) -> str:
        return statement if self.path is not None else statement.replace("?", "%s")

    @staticmethod
    def _value(value):
        """A time or day as SQLite keeps it (ISO text sorts as time does); PostgreSQL takes them as they are."""
        if isinstance(value, datetime):
            return naive_utc(value).isoformat(sep=" ", timespec="microseconds")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def _execute(self, statement: str, rows: list[tuple] | None = None, params: tuple = ()) -> list[tuple]:
        self.ensure()
        with closing(self._connect()) as con:
            if self.path is not None:
                if rows is not None:
                    con.execute("BEGIN IMMEDIATE")
                    try:
                        con.executemany(statement, [tuple(self._value(v) for v in row) for row in rows])
                        con.execute("COMMIT")
                    except BaseException:
                        con.execute("ROLLBACK")
                        raise
                    return []
                return con.execute(statement, tuple(self._value(v) for v in params)).fetchall()
            with con.cursor() as cur:
                if rows is not None:
                    with con.transaction():
                        cur.executemany(self._sql(statement), [tuple(naive_value(v) for v in row) for row in rows])
                    return []
                cur.execute(self._sql(statement), tuple(naive_value(v) for v in params))
                return cur.fetchall() if cur.description else []

    def ensure(self) -> None:
        """Create the tables where missing (once per store object); raises when the database cannot be reached."""
        if self._ready:
            return
        with closing(self._connect()) as con:
            if self.path is not None:
                for statement in _DDL:
                    con.execute(statement.replace("DOUBLE PRECISION", "REAL").replace("BYTEA", "BLOB"))
            else:
                # Two sessions running CREATE TABLE IF NOT EXISTS at once can both try to create it (PostgreSQL
                # checks for the name, then inserts it): the first runs alone.
                with con.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(hashtext('logintel.state_store'))")
                    for statement in _DDL:
                        con.execute(statement)
        self._ready = True

    # -- the LLM call log ----------------------------------------------------------------------------------------

    def add_calls(self, rows: list[tuple]) -> int:
        """Insert calls (tuples in CALL_COLUMNS order) not already held, by call_id; returns how many were new."""
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        held = self.call_ids(ids)
        fresh = [row for row in rows if row[0] not in held]
        placeholders = ", ".join("?" for _ in CALL_COLUMNS)
        self._execute(f"INSERT INTO llm_calls ({', '.join(CALL_COLUMNS)}) VALUES ({placeholders}) "
                      "ON CONFLICT (call_id) DO NOTHING", rows=fresh)
        return len(fresh)

    def call_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found |= {r[0] for r in self._execute(
                f"SELECT call_id FROM llm_calls WHERE call_id IN ({', '.join('?' for _ in chunk)})", params=tuple(chunk))}
        return found

    def call_usage(self, partitions: list[str], since: datetime | None = None, until: datetime | None = None,
                   asset: str | None = None) -> tuple[int, int, float, int, list[float]]:
        """(calls, tokens, cost, calls not ok, their latencies, sorted) of the calls made for `partitions` (by
        `asset` only, when given), and of the calls tied to no partition that started in [since, until) when
        given."""
        where = f"partition IN ({', '.join('?' for _ in partitions)})" if partitions else "1 = 0"
        params: tuple = tuple(partitions)
        if since is not None and until is not None:
            where += " OR (partition IS NULL AND started_at >= ? AND started_at < ?)"
            params += (since, until)
        if asset is not None:
            where = f"asset = ? AND ({where})"
            params = (asset,) + params
        rows = self._execute(f"SELECT prompt_tokens + completion_tokens, cost_usd, outcome, latency_ms FROM llm_calls "
                             f"WHERE {where}", params=params)
        return (len(rows), sum(int(r[0]) for r in rows), float(sum(r[1] for r in rows)),
                sum(r[2] != "ok" for r in rows), sorted(float(r[3]) for r in rows))

    def calls(self) -> list[dict]:
        """Every call held, oldest first (for tests and exports)."""
        rows = self._execute(f"SELECT {', '.join(CALL_COLUMNS)} FROM llm_calls ORDER BY started_at, call_id")
        calls = [dict(zip(CALL_COLUMNS, row)) for row in rows]
        for call in calls:
            if isinstance(call["started_at"], str):
                call["started_at"] = datetime.fromisoformat(call["started_at"])
        return calls

    # -- the digest history --------------------------------------------------------------------------------------

    def record_digests(self, rows: list[tuple], replace: bool = True) -> None:
        """Each day's row (tuples in DIGEST_COLUMNS order) replaces the day's row held, or (`replace` False) is
        kept only where the day has none."""
        placeholders = ", ".join("?" for _ in DIGEST_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in DIGEST_COLUMNS[1:])
        action = f"DO UPDATE SET {updates}" if replace else "DO NOTHING"
        self._execute(f"INSERT INTO daily_digests ({', '.join(DIGEST_COLUMNS)}) VALUES ({placeholders}) "
                      f"ON CONFLICT (day) {action}", rows=rows)

    def digest_rows(self, days: int) -> list[tuple]:
        """(day, grounded ratio or None, cost) of the last `days` digests, oldest first."""
        rows = self._execute("SELECT day, grounded_ratio, cost_usd FROM daily_digests ORDER BY day DESC LIMIT ?",
                             params=(days,))
        return [(r[0] if isinstance(r[0], date) else date.fromisoformat(r[0]), r[1], float(r[2]))
                for r in reversed(rows)]


    # -- the embedding cache ------------------------------------------------------------------------------------

    def embeddings_held(self, keys: list[str], dim: int) -> dict[str, np.ndarray]:
        """The vectors held under `keys` (float32), of width `dim` when dim > 0: a row of another width under the same
        key is stale (its embedder changed) and left out."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            for key, width, vector in self._execute(
                    f"SELECT key, dim, vector FROM embeddings WHERE key IN ({', '.join('?' for _ in chunk)})",
                    params=tuple(chunk)):
                if dim <= 0 or width == dim:
                    found[key] = np.frombuffer(bytes(vector), dtype="<f4").astype(np.float32)
        return found

    def keep_embeddings(self, embedder: str, keys: list[str], vectors: np.ndarray) -> None:
        """Hold each row of `vectors` under its key, replacing what was held there."""
        width = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        rows = [(key, embedder, width, np.ascontiguousarray(row, dtype="<f4").tobytes())
                for key, row in zip(keys, vectors)]
        self._execute("INSERT INTO embeddings (key, embedder, dim, vector) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (key) DO UPDATE SET embedder = excluded.embedder, dim = excluded.dim, "
                      "vector = excluded.vector", rows=rows)


    # -- documents ----------------------------------------------------------------------------------------------

    def document(self, name: str) -> str | None:
        """The document held under `name`, or None."""
        rows = self._execute("SELECT body FROM documents WHERE name = ?", params=(name,))
        return rows[0][0] if rows else None

    def keep_document(self, name: str, body: str) -> None:
        """Hold `body` under `name`, replacing what was held there (one statement: a reader sees one or the other)."""
        self._execute("INSERT INTO documents (name, body, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                      "SET body = excluded.body, updated_at = excluded.updated_at",
                      params=(name, body, datetime.now(timezone.utc).replace(tzinfo=None)))


def naive_value(value):
    """A value as PostgreSQL is given it: times naive UTC."""
    return naive_utc(value) if isinstance(value, datetime) else value


def open_state_store(settings) -> StateStore:
    """The state store a deployment configured (`Settings`): PostgreSQL when its URL is set, else SQLite."""
    if settings.postgres_url:
        return StateStore(postgres_url=settings.postgres_url)
    return StateStore(path=settings.state_db_path)


def import_from_warehouse(con, store: StateStore) -> tuple[int, int]:
    """A DuckDB warehouse's `llm_calls` and `daily_digests` (kept there before the state store) copied into
    `store`: calls it lacks, and digests of days it has none of. Returns (calls added, digest days found)."""
    from logintel.store.schema import has_table
    store.ensure()
    calls = digests = 0
    if has_table(con, "llm_calls"):
        calls = store.add_calls(con.execute(f"SELECT {', '.join(CALL_COLUMNS)} FROM llm_calls").fetchall())
    if has_table(con, "daily_digests"):
        rows = con.execute(f"SELECT {', '.join(DIGEST_COLUMNS)} FROM daily_digests").fetchall()
        store.record_digests([tuple(naive_value(v) for v in row) for row in rows], replace=False)
        digests = len(rows)
    return calls, digests


def import_embeddings(con, store: StateStore, batch: int = 5000) -> int:
    """A DuckDB warehouse's embedding cache (`embeddings_cache`, kept there before the state store) copied into
    `store`, replacing rows of the same key; returns how many rows."""
    from logintel.store.schema import has_table
    if not has_table(con, "embeddings_cache"):
        return 0
    copied = 0
    cursor = con.execute("SELECT key, embedder, vector FROM embeddings_cache ORDER BY key")
    while rows := cursor.fetchmany(batch):
        by_embedder: dict[str, list[tuple]] = {}
        for key, embedder, vector in rows:
            by_embedder.setdefault(embedder, []).append((key, vector))
        for embedder, held in by_embedder.items():
            for width in {len(vector) for _, vector in held}:
                same = [(key, vector) for key, vector in held if len(vector) == width]
                store.keep_embeddings(embedder, [key for key, _ in same],
                                      np.asarray([vector for _, vector in same], dtype=np.float32).reshape(-1, width))
        copied += len(rows)
    return copied
