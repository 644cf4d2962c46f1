"""Unit tests of the emitter SDK: accounting, dead letters, fallback and recovery, logging adapter, config."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logintel.store.dead_letters import DeadLetterStore
from logintel.events import MAX_RECORD_BYTES, WideEvent, parse_json_line
from logintel.ingest import Emitter, EmitterConfig, LogHandler
from logintel.ingest.emitter import build_transports
from logintel.ingest.transports.base import Transport
from logintel.store.landing import LandingUnavailable
from tests.support.factories import event
from tests.support.landing import landed_lines


def config(tmp_path: Path, **overrides) -> EmitterConfig:
    values = {"dump_dir": str(tmp_path / "dumps"), "dead_letter_dir": str(tmp_path / "dl"),
              "transports": [{"type": "files", "dir": str(tmp_path / "landing")}],
              "batch_size": 50, "flush_interval_s": 0.05, "backoff_base_s": 0.01, "backoff_cap_s": 0.05}
    values.update(overrides)
    return EmitterConfig.from_dict(values)


def dumped_lines(root: Path) -> list[str]:
    return [line for path in sorted(root.glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def emit_all(emitter: Emitter, n: int, at: datetime) -> list[str]:
    """Emit `n` fresh events timestamped `at`; their ids, in order."""
    events = [event(at) for _ in range(n)]
    for e in events:
        emitter.emit(e)
    return [e.event_id for e in events]


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class Switchable(Transport):
    """A transport that is down until told otherwise, then records what it got."""

    def __init__(self, name: str = "primary", up: bool = False, gate: threading.Event | None = None):
        self.name = name
        self.up = up
        self.gate = gate
        self.lines: list[str] = []

    def send(self, items) -> None:
        if self.gate is not None:
            self.gate.wait(20)
        if not self.up:
            raise LandingUnavailable(f"{self.name} is down")
        self.lines.extend(item.line for item in items)


def test_invariant_holds_after_flush_and_close(tmp_path, now):
    with Emitter(config(tmp_path)) as emitter:
        for i in range(120):
            emitter.emit(event(now))
        assert emitter.flush(20)
        stats = emitter.stats()
        assert stats["balanced"] and stats["pending"] == 0
        assert stats["emitted"] == 120 and stats["delivered"] == {"files": 120}
    final = emitter.stats()
    assert final["balanced"] and final["pending"] == 0 and final["emitted"] == 120
    assert len(landed_lines(tmp_path / "landing")) == 120


def test_invalid_dicts_are_dead_lettered_with_their_field(tmp_path, now):
    good = event(now).to_record()
    bad = [
        {**good, "level": "loud"},
        {**good, "status": 999},
        {k: v for k, v in good.items() if k != "service"},
        {**good, "duration_ms": -1},
        "not an object",
    ]
    with Emitter(config(tmp_path)) as emitter:
        emitter.emit(good)
        for record in bad:
            emitter.emit(record)
    stats = emitter.stats()
    expected = {"validation:level": 1, "validation:status": 1, "validation:service": 1,
                "validation:duration_ms": 1, "validation:<record>": 1}
    assert stats["dead_lettered"] == expected
    assert stats["delivered"] == {"files": 1} and stats["balanced"] and stats["emitted"] == 6
    store = DeadLetterStore(tmp_path / "dl")
    assert dict(store.counts_by_cause()) == expected
    payloads = [r["payload"] for r in store.records()]
    assert any('"loud"' in p for p in payloads)  # the original record is kept


def test_an_oversized_event_is_dead_lettered_whole_and_the_rest_flows(tmp_path, now):
    huge = WideEvent(event_id="e-huge", timestamp=now, service="s", route="/r", duration_ms=1.0,
                     level="info", attributes={"blob": "x" * (MAX_RECORD_BYTES + 10)})
    with Emitter(config(tmp_path)) as emitter:
        emitter.emit(event(now))
        emitter.emit(huge)
        emitter.emit(event(now))
    stats = emitter.stats()
    assert stats["dead_lettered"] == {"oversized": 1}
    assert stats["delivered"] == {"files": 2} and stats["emitted"] == 3 and stats["balanced"]
    (record,) = DeadLetterStore(tmp_path / "dl").records()
    assert record["cause"] == "oversized" and "-byte limit" in record["reason"]
    assert json.loads(record["payload"])["event_id"] == "e-huge"
    assert len(record["payload"]) > MAX_RECORD_BYTES  # the original payload, not a truncation


def test_a_dict_may_leave_out_id_time_and_the_configured_service(tmp_path):
    before = datetime.now(timezone.utc)
    with Emitter(config(tmp_path, service="checkout")) as emitter:
        emitter.emit({"route": "/cart", "duration_ms": 3.5, "level": "info"})
        emitter.emit({"route": "/cart", "duration_ms": 3.5, "level": "info", "service": "cart",
                      "event_id": "mine", "timestamp": "2026-11-26T01:00:00Z"})
    events = [parse_json_line(line) for line in landed_lines(tmp_path / "landing")]
    (second,) = [e for e in events if e.event_id == "mine"]
    (first,) = [e for e in events if e.event_id != "mine"]
    assert first.service == "checkout" and len(first.event_id) == 32 and before <= first.timestamp
    assert (second.service, second.event_id) == ("cart", "mine")  # given values are kept
    assert emitter.stats()["delivered"] == {"files": 2}


def test_without_transports_everything_is_dumped_and_says_why(tmp_path, now):
    with Emitter(config(tmp_path, transports=[])) as emitter:
        for _ in range(7):
            emitter.emit(event(now))
    stats = emitter.stats()
    assert stats["dumped_by_reason"] == {"no_transport_configured": 7} and stats["balanced"]
    assert len(dumped_lines(tmp_path / "dumps")) == 7


def test_emit_never_raises(tmp_path, now):
    emitter = Emitter(config(tmp_path))
    unserializable = WideEvent(event_id="e-1", timestamp=now, service="s", route="/r", duration_ms=1.0,
                               level="info", attributes={"obj": object()})
    emitter.emit(unserializable)
    emitter.emit(None)
    emitter.emit(12)
    assert emitter.close(20)
    emitter.emit(event(now))  # after close: counted, not raised
    stats = emitter.stats()
    assert stats["dead_lettered"] == {"serialization": 1, "validation:<record>": 2}
    assert stats["dropped"] == {"closed": 1}
    assert stats["emitted"] == 4 and stats["balanced"]


def test_falls_through_to_next_transport_and_recovers(tmp_path, now):
    primary = Switchable(up=False)
    cfg = config(tmp_path)
    emitter = Emitter(cfg, transports=[primary, *build_transports(cfg)])
    try:
        for _ in range(30):
            emitter.emit(event(now))
        assert emitter.flush(20)
        stats = emitter.stats()
        assert stats["delivered"] == {"files": 30}
        assert stats["transports"]["primary"]["healthy"] is False
        assert "primary is down" in stats["transports"]["primary"]["last_error"]

        primary.up = True

        def resumed() -> bool:
            emitter.emit(event(now))
            emitter.flush(20)
            return emitter.stats()["delivered"].get("primary", 0) > 0
        assert wait_for(resumed)
        on_files = emitter.stats()["delivered"]["files"]
        for _ in range(20):  # once recovered, later events stay on the primary
            emitter.emit(event(now))
        assert emitter.flush(20)
        stats = emitter.stats()
        assert stats["transports"]["primary"]["healthy"] is True
        assert stats["delivered"]["primary"] >= 21
        assert stats["delivered"]["files"] == on_files
    finally:
        emitter.close(20)
    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0 and stats["dumped"] == 0
    assert len(primary.lines) + len(landed_lines(tmp_path / "landing")) == stats["emitted"]


def test_a_short_outage_is_held_in_memory_and_resent_nothing_dumped(tmp_path, now):
    primary = Switchable(up=False)
    emitter = Emitter(config(tmp_path, retry_hold_s=30), transports=[primary])
    try:
        for _ in range(30):
            emitter.emit(event(now))
        assert wait_for(lambda: emitter.stats()["transports"]["primary"]["failures"] >= 2)
        stats = emitter.stats()
        assert stats["dumped"] == 0 and stats["pending"] == 30 and stats["balanced"]
        primary.up = True  # the next probe finds it back and takes what waited
        assert wait_for(lambda: emitter.stats()["delivered"].get("primary") == 30)
    finally:
        assert emitter.close(20)
    stats = emitter.stats()
    assert stats["dumped"] == 0 and stats["pending"] == 0 and stats["balanced"]
    assert len(primary.lines) == 30 and dumped_lines(tmp_path / "dumps") == []


def test_what_waited_longer_than_the_hold_goes_to_the_dump(tmp_path, now):
    emitter = Emitter(config(tmp_path, retry_hold_s=0.2), transports=[Switchable(up=False)])
    try:
        for _ in range(30):
            emitter.emit(event(now))
        assert wait_for(lambda: emitter.stats()["dumped"] == 30)  # no flush() asked for it
        assert emitter.stats()["dumped_by_reason"] == {"no_transport_available": 30}
    finally:
        emitter.close(20)
    assert len(dumped_lines(tmp_path / "dumps")) == 30


def test_held_events_that_overflow_the_buffer_are_dumped_oldest_first(tmp_path, now):
    primary = Switchable(up=False)
    emitter = Emitter(config(tmp_path, retry_hold_s=30, buffer_max_events=10, batch_size=5), transports=[primary])
    try:
        ids = emit_all(emitter, 40, now)
        assert wait_for(lambda: emitter.stats()["transports"]["primary"]["failures"] >= 1)
        primary.up = True
        assert wait_for(lambda: emitter.stats()["pending"] == 0)  # no flush(): it would dump what waits
    finally:
        emitter.close(20)
    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0 and stats["dumped_by_reason"]["buffer_full"] > 0
    assert stats["delivered"]["primary"] > 0
    delivered = [parse_json_line(line).event_id for line in primary.lines]
    dumped = [parse_json_line(line).event_id for line in dumped_lines(tmp_path / "dumps")]
    assert sorted(delivered + dumped) == sorted(ids)  # each exactly once: none lost, none twice
    assert delivered == ids[-len(delivered):]  # what was kept in memory is the newest


def test_a_hung_transport_times_out_and_its_batch_goes_down_the_chain(tmp_path, now):
    gate = threading.Event()
    hung = Switchable(up=True, gate=gate)  # accepts the batch, then never answers until the gate opens
    cfg = config(tmp_path, send_timeout_s=0.3)
    emitter = Emitter(cfg, transports=[hung, *build_transports(cfg)])
    try:
        ids = emit_all(emitter, 30, now)
        assert emitter.flush(20)
        stats = emitter.stats()
        assert stats["delivered"] == {"files": 30} and stats["dumped"] == 0 and stats["balanced"]
        assert "no answer within 0.3s" in stats["transports"]["primary"]["last_error"]
        gate.set()  # the hung send returns; the primary is used again at its next probe
        assert wait_for(lambda: (emitter.emit(event(now)), emitter.flush(20),
                                 emitter.stats()["delivered"].get("primary", 0) > 0)[-1])
    finally:
        assert emitter.close(20)
    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0
    landed = {parse_json_line(line).event_id for line in landed_lines(tmp_path / "landing")}
    assert set(ids) <= landed  # the batch the hung send held reached files: nothing waited on it


def test_full_buffer_dumps_oldest_batch_instead_of_growing(tmp_path, now):
    gate = threading.Event()
    stuck = Switchable(up=True, gate=gate)
    emitter = Emitter(config(tmp_path, buffer_max_events=10, batch_size=5, flush_interval_s=0.01),
                      transports=[stuck])
    try:
        for _ in range(40):
            emitter.emit(event(now))
        # The flusher holds at most one batch of 5; the buffer at most 10: the rest was dumped.
        stats = emitter.stats()
        assert stats["buffer"]["events"] <= 10
        assert stats["dumped"] >= 40 - 10 - 5
        assert stats["dumped_by_reason"] == {"buffer_full": stats["dumped"]}
        assert stats["balanced"]
    finally:
        gate.set()
        assert emitter.close(20)
    stats = emitter.stats()
    assert stats["balanced"] and stats["pending"] == 0
    assert stats["dumped"] + stats["delivered"]["primary"] == 40
    assert len(dumped_lines(tmp_path / "dumps")) == stats["dumped"]


def test_log_handler_produces_valid_events(tmp_path):
    emitter = Emitter(config(tmp_path, service="checkout"))
    logger = logging.getLogger("checkout.api")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = LogHandler(emitter)
    logger.addHandler(handler)
    try:
        logger.info("charged %s", "u-1", extra={"route": "/charge", "status": 201, "cart": {"n": 2}})
        logger.debug("plain")
        try:
            1 / 0
        except ZeroDivisionError:
            logger.exception("failed to charge", extra={"error_code": "E42"})
    finally:
        logger.removeHandler(handler)
        emitter.close(20)
    assert emitter.stats()["delivered"] == {"files": 3}
    events = {e.level: e for e in map(parse_json_line, landed_lines(tmp_path / "landing"))}
    assert set(events) == {"info", "debug", "error"}
    info = events["info"]
    assert (info.service, info.route, info.status, info.error_message) == ("checkout", "/charge", 201, "charged u-1")
    assert info.attributes["cart"] == repr({"n": 2}) and info.attributes["logger"] == "checkout.api"
    assert events["debug"].route == "checkout.api"
    error = events["error"]
    assert error.error_type == "ZeroDivisionError" and error.error_code == "E42"
    assert error.error_message.startswith("failed to charge") and "ZeroDivisionError" in error.error_message


def test_config_from_dict_yaml_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGINTEL_HOME", str(tmp_path / "home"))
    default = EmitterConfig()
    assert default.dump_dir == tmp_path / "home" / "dumps" and default.fsync == "batch"
    yaml_file = tmp_path / "emit.yaml"
    yaml_file.write_text("transports:\n  - {type: postgres, url: 'postgresql://x@h/db'}\n"
                         "  - {type: files, dir: /tmp/land}\nbatch_size: 7\nfsync: always\n")
    from_yaml = EmitterConfig.from_yaml(yaml_file)
    assert [t.kind for t in from_yaml.transports] == ["postgres", "files"]
    assert from_yaml.batch_size == 7 and from_yaml.fsync == "always"
    from_env = EmitterConfig.from_env({
        "LOGINTEL_EMIT_TRANSPORTS": "files", "LOGINTEL_EMIT_FILES_DIR": "/tmp/land",
        "LOGINTEL_EMIT_DISK_LIMIT_BYTES": "1000", "LOGINTEL_EMIT_FLUSH_INTERVAL_S": "0.5"})
    assert from_env.transports[0].target == "/tmp/land"
    assert from_env.disk_limit_bytes == 1000 and from_env.flush_interval_s == 0.5
    with pytest.raises(ValueError, match="batch_sise"):
        EmitterConfig.from_dict({"batch_sise": 3})
    with pytest.raises(ValueError, match="fsync"):
        EmitterConfig.from_dict({"fsync": "sometimes"})
    with pytest.raises(ValueError, match="unknown kind"):
        EmitterConfig.from_dict({"transports": [{"type": "rabbitmq", "target": "x"}]})
