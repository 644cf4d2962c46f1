"""The emitter against real failures: PostgreSQL stopped and restarted, a full dump disk, SIGKILL mid-write."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from logintel.events import EventValidationError, WideEvent, parse_json_line
from logintel.ingest import Emitter, EmitterConfig
from tests.support import REPO_ROOT
from tests.support.factories import event


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def dump_ids(root: Path) -> list[str]:
    return [parse_json_line(line).event_id for path in sorted(root.glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def postgres_emitter(tmp_path: Path, url: str, at: datetime, **overrides):
    """An emitter whose only transport is the PostgreSQL at `url`, with `emit(n)` recording ids
    (of events timestamped `at`)."""
    config = EmitterConfig.from_dict({
        "transports": [{"type": "postgres", "url": url}],
        "dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
        "batch_size": 25, "flush_interval_s": 0.05, "backoff_base_s": 0.05, "backoff_cap_s": 0.5, **overrides})
    emitter = Emitter(config)
    emitted: list[str] = []

    def emit(n: int) -> None:
        for _ in range(n):
            e = event(at)
            emitted.append(e.event_id)
            emitter.emit(e)
    return emitter, emit, emitted


def test_postgres_stopped_mid_stream_loses_nothing_and_recovers(tmp_path, postgres_cluster, fresh_postgres_url, now):
    emitter, emit, emitted = postgres_emitter(tmp_path, fresh_postgres_url, now)
    try:
        emit(50)
        assert emitter.flush(20)
        assert emitter.stats()["delivered"] == {"postgres": 50}

        with postgres_cluster.stopped():
            emit(60)  # nothing can reach the database: the dump takes them
            assert emitter.flush(20)
            stats = emitter.stats()
            assert stats["dumped"] == 60 and stats["delivered"] == {"postgres": 50}
            assert stats["dumped_by_reason"] == {"no_transport_available": 60}
            assert stats["transports"]["postgres"]["healthy"] is False and stats["balanced"]

        def back_on_postgres() -> bool:
            emit(5)
            emitter.flush(20)
            return emitter.stats()["delivered"]["postgres"] > 50
        assert wait_for(back_on_postgres), emitter.stats()
        dumped_before = emitter.stats()["dumped"]
        emit(40)  # recovered: later events go to PostgreSQL, not the dump
        assert emitter.flush(20)
        assert emitter.stats()["dumped"] == dumped_before
    finally:
        emitter.close(20)

    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0 and stats["emitted"] == len(emitted)
    assert stats["dropped"] == {} and stats["dead_lettered"] == {}
    with psycopg.connect(fresh_postgres_url) as conn:
        in_db = [row[0] for row in conn.execute("SELECT event_id FROM landing_events")]
    in_dumps = dump_ids(tmp_path / "dumps")
    assert len(in_db) == stats["delivered"]["postgres"] and len(in_dumps) == stats["dumped"]
    assert len(in_db) + len(in_dumps) == len(emitted)
    assert sorted(in_db + in_dumps) == sorted(emitted)  # none lost, none twice


def test_postgres_restarted_within_the_hold_gets_every_event_nothing_dumped(tmp_path, postgres_cluster,
                                                                           fresh_postgres_url, now):
    """The LogBuffer's promise: a batch no transport took waits in memory and is resent on recovery."""
    emitter, emit, ids = postgres_emitter(tmp_path, fresh_postgres_url, now, retry_hold_s=60)
    try:
        with postgres_cluster.stopped():
            emit(80)
            assert wait_for(lambda: emitter.stats()["transports"]["postgres"]["failures"] >= 2)
            assert emitter.stats()["dumped"] == 0 and emitter.stats()["pending"] == 80
        assert wait_for(lambda: emitter.stats()["delivered"].get("postgres") == 80, timeout=60), emitter.stats()
    finally:
        emitter.close(20)
    stats = emitter.stats()
    assert stats["dumped"] == 0 and stats["balanced"] and stats["transports"]["postgres"]["healthy"]
    with psycopg.connect(fresh_postgres_url) as conn:
        in_db = sorted(row[0] for row in conn.execute("SELECT event_id FROM landing_events"))
    assert in_db == sorted(ids) and dump_ids(tmp_path / "dumps") == []


def test_a_postgres_that_stops_answering_is_abandoned_after_the_send_timeout(tmp_path, postgres_cluster,
                                                                           fresh_postgres_url, now):
    """A server that keeps the connection open but never replies (its backend frozen with SIGSTOP):
    the send times out, the batch is dumped, and once the server answers again PostgreSQL is used again."""
    emitter, emit, emitted = postgres_emitter(tmp_path, fresh_postgres_url, now, backoff_cap_s=0.3,
                                              send_timeout_s=1.0, retry_hold_s=0)
    try:
        emit(10)
        assert emitter.flush(20) and emitter.stats()["delivered"] == {"postgres": 10}
        with psycopg.connect(fresh_postgres_url) as conn:
            [pid] = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'logintel-landing'"
                " AND datname = current_database()")]
        try:
            os.kill(pid, signal.SIGSTOP)
        except PermissionError:
            pytest.skip("cannot signal the server's backend as this user")
        try:
            emit(20)
            assert emitter.flush(20)
            stats = emitter.stats()
            assert stats["dumped"] == 20 and stats["delivered"] == {"postgres": 10} and stats["balanced"]
            assert "no answer within 1s" in stats["transports"]["postgres"]["last_error"]
        finally:
            os.kill(pid, signal.SIGCONT)

        def back_on_postgres() -> bool:
            emit(5)
            emitter.flush(20)
            return emitter.stats()["delivered"]["postgres"] > 10
        assert wait_for(back_on_postgres), emitter.stats()
    finally:
        emitter.close(20)
    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0 and stats["emitted"] == len(emitted)
    with psycopg.connect(fresh_postgres_url) as conn:
        in_db = {row[0] for row in conn.execute("SELECT event_id FROM landing_events")}
    # At least once: the abandoned batch may also have landed when the backend woke up.
    assert in_db | set(dump_ids(tmp_path / "dumps")) == set(emitted)


def sized_event(level: str, index: int, size: int, at: datetime) -> WideEvent:
    """An event at `at` whose canonical line is exactly `size` bytes, so disk-limit arithmetic is exact."""
    def build(pad: int) -> WideEvent:
        return WideEvent(event_id=f"e-{level}-{index:06d}", timestamp=at, service="s",
                         route="/r" + "x" * pad, duration_ms=1.0, level=level)
    base = len(build(0).to_json())
    assert base <= size, "size too small for an event"
    return build(size - base)


def test_disk_limit_drops_by_priority_with_exact_counts(tmp_path, now):
    line = 499  # + newline = 500 bytes on disk per event
    config = EmitterConfig.from_dict({
        "transports": [], "dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
        "disk_limit_bytes": 100 * (line + 1), "batch_size": 1000, "flush_interval_s": 0.05})
    # Thresholds: debug up to 60% of the limit, info 80%, warn 90%, error/fatal 100%.
    phases = [("debug", 70), ("info", 30), ("warn", 20), ("debug", 5), ("info", 5), ("error", 8), ("fatal", 4)]
    with Emitter(config) as emitter:
        for level, count in phases:
            for i in range(count):
                emitter.emit(sized_event(level, i + 1000 * len(level), line, now))
            assert emitter.flush(20)
    stats = emitter.stats()
    assert stats["dropped"] == {"disk_full:debug": 10 + 5, "disk_full:info": 10 + 5,
                                "disk_full:warn": 10, "disk_full:fatal": 2}
    assert stats["dumped"] == 60 + 20 + 10 + 8 + 2
    assert stats["balanced"] and stats["pending"] == 0 and stats["emitted"] == 142
    kept = [parse_json_line(l).level for p in (tmp_path / "dumps").glob("*/*.jsonl") for l in p.read_text().splitlines()]
    assert kept.count("error") == 8 and kept.count("fatal") == 2
    assert sum(p.stat().st_size for p in (tmp_path / "dumps").glob("*/*")) == 100 * (line + 1)


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_write_leaves_readable_dumps(tmp_path):
    dumps = tmp_path / "dumps"
    child = subprocess.Popen([sys.executable, "-m", "tests.support.emitter_child", str(dumps)], cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(list(dumps.glob("*/*.jsonl"))) >= 5 or child.poll() is not None), \
            "the child wrote no segments"
        assert child.poll() is None, child.stderr.read().decode()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(20)
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL

    whole, torn = 0, []
    files = [p for p in dumps.glob("*/*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        for raw in lines:
            parse_json_line(raw)  # every newline-terminated line is a whole event
            whole += 1
        if tail:
            assert path.name.endswith(".partial"), f"a completed segment has a torn line: {path}"
            torn.append(tail)
    assert whole >= 5 * 200
    for tail in torn:  # the only unreadable thing allowed: an unterminated last line of a .partial
        try:
            parse_json_line(tail)
        except EventValidationError:
            pass
    assert len(torn) <= 1
