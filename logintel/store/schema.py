"""The warehouse's tables and the SQL fragments that several stages share: one place for each.

Every DDL is idempotent (`CREATE TABLE IF NOT EXISTS`); a stage calls `ensure_tables` for what it
writes or reads, so any stage runs on a fresh warehouse."""
from __future__ import annotations

import duckdb

# What counts as an error; mirrors WideEvent.is_error.
ERROR_SQL = "(level IN ('error', 'fatal') OR error_code IS NOT NULL OR coalesce(status, 0) >= 500)"
# A request, not a log line (events.LOG_ROUTE): what request rates, budgets and latency figures count.
REQUEST_SQL = "route <> '(log)'"
# A server-side error (5xx, level error/fatal), not the client's.
SERVER_ERROR_SQL = "(level IN ('error', 'fatal') OR coalesce(status, 0) >= 500)"
# Events of a set of (service, route, error_code) groups, passed as `$keys` from `group_keys`.
IN_GROUPS_SQL = "list_contains($keys, service || '|' || route || '|' || coalesce(error_code, ''))"


def group_keys(groups) -> list[str]:
    """(service, route, error_code) groups as the strings IN_GROUPS_SQL compares against."""
    return [f"{service}|{route}|{code or ''}" for service, route, code in groups]


TABLES = {
    "raw_events": """
CREATE TABLE IF NOT EXISTS raw_events (
    event_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, service VARCHAR NOT NULL, route VARCHAR NOT NULL,
    method VARCHAR, status INTEGER, duration_ms DOUBLE NOT NULL, level VARCHAR NOT NULL,
    error_code VARCHAR, error_type VARCHAR, error_message VARCHAR, trace_id VARCHAR, request_id VARCHAR,
    user_id VARCHAR, client_ip VARCHAR, user_agent VARCHAR, sample_rate INTEGER NOT NULL,
    attributes JSON, partition_hour TIMESTAMP NOT NULL
)""",
    "spans": """
CREATE TABLE IF NOT EXISTS spans (
    partition_hour TIMESTAMP NOT NULL, trace_id VARCHAR NOT NULL, span_id VARCHAR NOT NULL, parent_span_id VARCHAR,
    event_id VARCHAR NOT NULL, service VARCHAR NOT NULL, kind VARCHAR, name VARCHAR, start_ts TIMESTAMP NOT NULL,
    duration_ms DOUBLE NOT NULL, status VARCHAR, peer_service VARCHAR, db_system VARCHAR
)""",
    "metric_points": """
CREATE TABLE IF NOT EXISTS metric_points (
    partition_hour TIMESTAMP NOT NULL, ts TIMESTAMP NOT NULL, start_ts TIMESTAMP, service VARCHAR NOT NULL,
    instance VARCHAR, name VARCHAR NOT NULL, unit VARCHAR, kind VARCHAR NOT NULL, temporality VARCHAR,
    monotonic BOOLEAN, value DOUBLE, count BIGINT, attributes JSON, event_id VARCHAR NOT NULL
)""",
    "windowed_aggregates": """
CREATE TABLE IF NOT EXISTS windowed_aggregates (
    partition_hour TIMESTAMP NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL,
    service VARCHAR NOT NULL, route VARCHAR NOT NULL, error_code VARCHAR,
    requests BIGINT NOT NULL, errors BIGINT NOT NULL, error_rate DOUBLE NOT NULL,
    events_kept BIGINT NOT NULL,
    p50_ms DOUBLE, p95_ms DOUBLE, p99_ms DOUBLE, max_ms DOUBLE,
    distinct_users BIGINT, distinct_ips BIGINT, lookback_complete BOOLEAN NOT NULL
)""",
    "event_patterns": """
CREATE TABLE IF NOT EXISTS event_patterns (
    partition_hour TIMESTAMP NOT NULL, pattern_id VARCHAR NOT NULL, template_id VARCHAR NOT NULL,
    template VARCHAR NOT NULL, service VARCHAR NOT NULL, route VARCHAR NOT NULL, error_code VARCHAR,
    events BIGINT NOT NULL, errors BIGINT NOT NULL, users BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL, last_seen TIMESTAMP NOT NULL, summary VARCHAR NOT NULL
)""",
    "pattern_activity": """
CREATE TABLE IF NOT EXISTS pattern_activity (
    partition_hour TIMESTAMP NOT NULL, pattern_id VARCHAR NOT NULL, minute INTEGER NOT NULL, events BIGINT NOT NULL
)""",
    "embeddings_cache": """
CREATE TABLE IF NOT EXISTS embeddings_cache (
    key VARCHAR PRIMARY KEY, embedder VARCHAR, dim INTEGER, vector FLOAT[]
)""",
    "pattern_clusters": """
CREATE TABLE IF NOT EXISTS pattern_clusters (
    partition_hour TIMESTAMP NOT NULL, pattern_id VARCHAR NOT NULL, cluster INTEGER NOT NULL,
    x DOUBLE NOT NULL, y DOUBLE NOT NULL, embedder VARCHAR NOT NULL, method VARCHAR NOT NULL
)""",
    "window_changes": """
CREATE TABLE IF NOT EXISTS window_changes (
    partition_hour TIMESTAMP NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL, investigation JSON
)""",
    "incidents": """
CREATE TABLE IF NOT EXISTS incidents (
    incident_id VARCHAR NOT NULL, partition_hour TIMESTAMP NOT NULL, kind VARCHAR NOT NULL,
    service VARCHAR NOT NULL, route VARCHAR NOT NULL, error_code VARCHAR,
    start_time TIMESTAMP NOT NULL, end_time TIMESTAMP NOT NULL, first_seen TIMESTAMP NOT NULL,
    breached_windows INTEGER NOT NULL, threshold DOUBLE NOT NULL, peak_errors BIGINT NOT NULL,
    errors BIGINT NOT NULL, requests BIGINT NOT NULL, error_rate DOUBLE NOT NULL,
    users_affected BIGINT NOT NULL, p99_ms DOUBLE, severity VARCHAR NOT NULL, status VARCHAR NOT NULL,
    summary VARCHAR NOT NULL, writer VARCHAR NOT NULL,
    related_traces VARCHAR[] NOT NULL, related_traces_total BIGINT NOT NULL, evidence JSON, grounding JSON,
    services VARCHAR[], routes VARCHAR[], error_codes VARCHAR[], root_cause_analysis VARCHAR, merged_into VARCHAR,
    root_cause JSON
)""",
    # The analysts' runs: each run's findings for its scope (a day, or an hour for the hourly security pass) as JSON
    # documents, replaced whole on a re-run (`store.findings`); partition_hour: the scope's (`scope_partition`).
    "findings": """
CREATE TABLE IF NOT EXISTS findings (
    finding_id VARCHAR NOT NULL, agent VARCHAR NOT NULL, scope VARCHAR NOT NULL, day DATE NOT NULL,
    kind VARCHAR NOT NULL, severity VARCHAR NOT NULL, confidence DOUBLE NOT NULL, title VARCHAR NOT NULL,
    text VARCHAR NOT NULL, grounded BOOLEAN, document JSON NOT NULL, created_at TIMESTAMP NOT NULL,
    partition_hour TIMESTAMP
)""",
    "analyst_runs": """
CREATE TABLE IF NOT EXISTS analyst_runs (
    agent VARCHAR NOT NULL, scope VARCHAR NOT NULL, day DATE NOT NULL, findings INTEGER NOT NULL,
    summary VARCHAR NOT NULL, report JSON NOT NULL, created_at TIMESTAMP NOT NULL, partition_hour TIMESTAMP
)""",
}


def ensure_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        con.execute(TABLES[name])


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall: a result left unfinished would block the next register() on this connection
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])
