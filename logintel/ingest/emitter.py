"""Emitter: services hand it wide events; a background flusher delivers them down a fallback chain.

Guarantees, stated plainly:
- `emit()` never raises and never waits on I/O of a transport: it validates, serializes and
  appends to a bounded LogBuffer. An invalid event, one that cannot be serialized, or one whose
  line exceeds MAX_RECORD_BYTES (2 MiB) is dead-lettered whole, with its cause. Only when the
  buffer is full does the caller itself write the oldest batch to the local dump (one file
  write), so memory stays bounded instead of growing.
- Every emitted event is accounted for: emitted = delivered (per transport) + dumped (with why:
  dumped_by_reason) + dropped (per reason) + dead_lettered (per cause) + pending; see `stats()`.
  Nothing is lost silently.
- Batches go to the first healthy transport in the configured order. A failed transport is
  retried after exponential backoff with jitter; the retry is the next batch itself (the probe),
  and once it succeeds sending resumes there. When no transport takes a batch, it goes back to
  the head of the buffer and waits in memory for the next probe, for up to `retry_hold_s` (10 s
  by default): a short outage is absorbed and resent, with nothing dumped. Past that hold, when
  flush() or close() asks for everything to be settled, or when the buffer fills, it goes to the
  local dump, the last resort; past the dump's disk limit, events are dropped by level (debug,
  info, warn, then error/fatal) and counted.
- A send that has not returned within send_timeout_s (a server that holds the connection and never
  answers) counts as failed: the batch goes on down the chain and the transport is skipped until
  that send returns.
- Delivery is at least once: a batch whose send failed half-way (or was abandoned) goes whole to
  the next transport, so an event can exist in two places; event_id makes the copies idempotent
  downstream.
- Events already dumped stay in the dumps: the emitter never re-sends them after a recovery.
  Replaying dumps into the landing zone is `logintel replay`'s job.
- `close()` drains within its timeout; what a hung transport still holds then stays pending
  (visible in stats), and the rest of the buffer is dumped.
- With a sampler (or `sampling_policy` in the config), normal events may be sampled out before
  they are enqueued: counted as dropped["sampled_out"]; kept ones carry their sample_rate.
"""
from __future__ import annotations

import atexit
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any, Mapping

from logintel.store.dead_letters import DeadLetter, DeadLetterStore
from logintel.events import MAX_RECORD_BYTES, EventValidationError, WideEvent, parse_event
from logintel.ingest.ledger import Accounting
from logintel.ingest.buffer import Item, LogBuffer
from logintel.ingest.receipt import Receipt, settle_items
from logintel.ingest.emitter_config import EmitterConfig
from logintel.ingest.sampling import DynamicSampler
from logintel.ingest.transports.base import Health, Transport
from logintel.ingest.transports.disk import DumpWriter


def _sampling(config: EmitterConfig, sampler: DynamicSampler | None):
    """The sampler to use and, when the config names a policy source, the client that feeds it."""
    if sampler is not None or not config.sampling_policy:
        return sampler, None
    from logintel.ingest.policy_client import PolicyClient
    sampler = DynamicSampler()  # keeps everything (policy version 0) until a policy arrives
    client = PolicyClient(config.sampling_policy, config.policy_poll_s, sampler.set_policy)
    if not client.is_url:
        client.poll()  # a local file is cheap to read: apply it before the first event
    return sampler, client


def build_transports(config: EmitterConfig) -> list[Transport]:
    transports: list[Transport] = []
    for spec in config.transports:
        if spec.kind == "kafka":
            from logintel.ingest.transports.kafka import KafkaTransport  # confluent-kafka only if used
            options = dict(spec.options)
            transports.append(KafkaTransport(spec.target, options["topic"], dict(options.get("producer_config", ())),
                                             options.get("delivery_timeout_s", 10)))
        elif spec.kind == "postgres":
            from logintel.ingest.transports.postgres import PostgresTransport  # psycopg only if used
            transports.append(PostgresTransport(spec.target, config.postgres_connect_timeout_s))
        else:
            from logintel.ingest.transports.disk import FileTransport
            options = dict(spec.options)
            transports.append(FileTransport(spec.target, options.get("segments", "auto"), options.get("seal", False)))
    return transports


class Emitter:
    def __init__(self, config: EmitterConfig | Mapping[str, Any] | None = None,
                 transports: list[Transport] | None = None, sampler: DynamicSampler | None = None):
        if config is None:
            config = EmitterConfig.from_env()
        elif not isinstance(config, EmitterConfig):
            config = EmitterConfig.from_dict(config)
        self.config = config
        self._transports = build_transports(config) if transports is None else list(transports)
        self._health = [Health(config.backoff_base_s, config.backoff_cap_s) for _ in self._transports]
        self._dump = DumpWriter(config.dump_dir, config.fsync, config.disk_limit_bytes)
        self._dead_letters = DeadLetterStore(config.dead_letter_dir)
        self._buffer = LogBuffer(config.buffer_max_events, config.buffer_max_bytes, config.batch_size)
        self._acct = Accounting()
        self.sampler, self.policy_client = _sampling(config, sampler)
        if self.sampler is not None and self.sampler.buffer_fill is None:
            self.sampler.buffer_fill = self._buffer_fill
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._hung: set[str] = set()  # transports whose abandoned send has not returned yet
        self._hung_lock = threading.Lock()
        self._in_flight = 0       # taken from the buffer, not yet settled
        self._flush_waiters = 0
        self._nudged = False      # a caller waits on a receipt: send what is queued now, not at the interval
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="logintel-emitter", daemon=True)
        self._thread.start()
        atexit.register(self.close)  # a process that forgets close() still drains its buffer
        if self.policy_client is not None:
            self.policy_client.start()

    # -- the caller's side ---------------------------------------------------------------------

    def emit(self, event: WideEvent | Mapping[str, Any]) -> None:
        """Enqueue one event: a WideEvent, or a dict in the contract's shape (flat or nested keys).
        A dict may leave out event_id (a random one is made), timestamp (now) and, when the
        config names one, service."""
        item = self._item(event)
        if item is None:
            return
        with self._lock:
            self._acct.emitted += 1
            if self._closing:
                self._acct.dropped["closed"] += 1
                return
            evicted = self._buffer.put(item)
            if evicted:
                self._in_flight += len(evicted)
            elif len(self._buffer) == self.config.batch_size:
                self._wake.notify_all()
        if evicted:
            self._settle_dump(evicted, "buffer_full")

    def emit_batch(self, events: list[WideEvent], receipt: Receipt | None = None) -> None:
        """Enqueue validated events under one lock; `receipt` (made for len(events)) settles when each
        one is durable — delivered to a transport or written to the dump — or lost. The flusher sends
        them at once instead of waiting for a full batch or the flush interval."""
        items = [item for item in (self._item(event, receipt) for event in events) if item is not None]
        if not items:
            return
        evicted: list[Item] = []
        with self._lock:
            self._acct.emitted += len(items)
            if self._closing:
                self._acct.dropped["closed"] += len(items)
                closed = True
            else:
                closed = False
                for item in items:
                    evicted.extend(self._buffer.put(item))
                self._in_flight += len(evicted)
                self._nudged = True
                self._wake.notify_all()
        if closed:
            settle_items(items, durable=False)
        elif evicted:
            self._settle_dump(evicted, "buffer_full")

    def _item(self, event: WideEvent | Mapping[str, Any], receipt: Receipt | None = None) -> Item | None:
        """One event validated (a dict), sampled and serialized for the buffer; None when it was sampled
        out or dead-lettered instead (counted, and its receipt told: sampled out is kept out by policy,
        not lost to a fault)."""
        try:
            parsed = event if isinstance(event, WideEvent) else parse_event(self._with_defaults(event))
            if self.sampler is not None:
                parsed = self.sampler.apply(parsed)
                if parsed is None:
                    self._count_drop("sampled_out")
                    if receipt is not None:
                        receipt.settle(1, durable=True)
                    return None
            item = Item.of(parsed, receipt)
        except EventValidationError as exc:
            return self._refuse(event, exc.cause, str(exc), receipt)
        except Exception as exc:  # to_json on attributes that are not JSON, for one
            return self._refuse(event, "serialization", f"{type(exc).__name__}: {exc}", receipt)
        if item.size > MAX_RECORD_BYTES:  # no landing zone or reader would take it
            return self._refuse(item.line, "oversized",
                                f"record is {item.size:,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit", receipt)
        return item

    def _refuse(self, payload: Any, cause: str, reason: str, receipt: Receipt | None) -> None:
        self._dead_letter(payload, cause, reason)
        if receipt is not None:
            receipt.settle(1, durable=False)
        return None

    def accepting(self) -> tuple[bool, str]:
        """Whether events handed over now can become durable soon: (True, "") or (False, why). No when
        closing, or when no transport is usable and the buffer is nearly full or the dump has no room."""
        with self._lock:
            if self._closing:
                return False, "the emitter is closing"
            now = time.monotonic()
            usable = any(self._usable(t, h, now) for t, h in zip(self._transports, self._health))
            fill = self._buffer_fill()
        if usable:
            return True, ""
        down = "every transport is down" if self._transports else "no transport is configured"
        if fill >= 0.9:
            return False, f"{down} and the buffer is {fill:.0%} full"
        if not self._dump.has_room("error"):
            return False, f"{down} and the local dump is at its disk limit"
        return True, ""

    def ready(self) -> tuple[bool, str]:
        """Readiness of the landing path: a transport whose last send succeeded, or room in the dump
        (events are durable there until replay). (False, why) otherwise, or while closing."""
        with self._lock:
            if self._closing:
                return False, "the emitter is closing"
            healthy = any(h.healthy for h in self._health)
        if healthy:
            return True, ""
        if self._dump.has_room("error"):
            return True, "every transport is down: events go to the local dump until they recover"
        return False, "every transport is down and the local dump is at its disk limit"

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything emitted so far is settled; False if `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._flush_waiters += 1
            self._wake.notify_all()
            try:
                while len(self._buffer) or self._in_flight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        return False
                    self._wake.wait(remaining)
                return True
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float = 10.0) -> bool:
        """Drain and stop; True if everything was settled within `timeout`."""
        with self._lock:
            if self._closed:
                return not (len(self._buffer) or self._in_flight)
            self._closing = True
            self._closed = True
            self._wake.notify_all()
        atexit.unregister(self.close)
        if self.policy_client is not None:
            self.policy_client.stop(timeout=1.0)
        self._thread.join(timeout)
        if self._thread.is_alive():
            # A transport is hanging on the last batch: dump what is still queued and leave that
            # batch pending rather than close the transport under it.
            with self._lock:
                rest = self._buffer.take(len(self._buffer))
                self._in_flight += len(rest)
            if rest:
                self._settle_dump(rest, "close_timeout")
            return False
        for transport in self._transports:
            if transport.name in self._hung:
                continue  # closing it would wait on the send that hangs
            try:
                transport.close()
            except Exception:
                pass
        return True

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def stats(self) -> dict:
        with self._lock:
            snapshot = self._acct.snapshot(pending=len(self._buffer) + self._in_flight)
            snapshot["buffer"] = {"events": len(self._buffer), "bytes": self._buffer.bytes}
            snapshot["transports"] = {t.name: h.describe() for t, h in zip(self._transports, self._health)}
        snapshot["dump"] = {"dir": str(self._dump.root), "usage_bytes": self._dump.usage}
        sealers = [t.sealer for t in self._transports if getattr(t, "sealer", None) is not None]
        snapshot["sealing"] = sealers[0].describe() if sealers else None  # the files transport's (`sealer`)
        snapshot["policy"] = None if self.sampler is None else self.sampler.describe()
        if self.policy_client is not None:
            snapshot["policy"]["client"] = self.policy_client.describe()
        return snapshot

    def _with_defaults(self, record: Any) -> Any:
        if not isinstance(record, Mapping):
            return record  # parse_event names what is wrong with it
        service = self.config.service
        if (record.get("event_id") is not None and record.get("timestamp") is not None
                and (service is None or record.get("service") is not None)):
            return record
        record = dict(record)
        if record.get("event_id") is None:
            record["event_id"] = uuid.uuid4().hex  # made here, once: a resent batch keeps its ids
        if record.get("timestamp") is None:
            record["timestamp"] = time.time()
        if service is not None and record.get("service") is None:
            record["service"] = service
        return record

    def _buffer_fill(self) -> float:
        # Read without the lock: an estimate is enough for the sampler, and emit() must not wait.
        buffer = self._buffer
        return max(len(buffer) / buffer.max_events, buffer.bytes / buffer.max_bytes)

    def _count_drop(self, reason: str) -> None:
        with self._lock:
            self._acct.emitted += 1
            self._acct.dropped[reason] += 1

    def _dead_letter(self, payload: Any, cause: str, reason: str) -> None:
        if isinstance(payload, WideEvent):
            payload = payload.to_record()  # its record, which replay can read, rather than a repr
        try:
            text = payload if isinstance(payload, str) else json.dumps(payload, default=repr, ensure_ascii=False)
        except Exception:
            text = repr(payload)
        try:
            self._dead_letters.write([DeadLetter(stage="emit", source="emitter", cause=cause,
                                                 reason=reason, payload=text)])
            outcome = ("dead", cause)
        except OSError as exc:
            outcome = ("drop", f"dead_letter_error:{type(exc).__name__}")
        with self._lock:
            self._acct.emitted += 1
            if outcome[0] == "dead":
                self._acct.dead_lettered[cause] += 1
            else:
                self._acct.dropped[outcome[1]] += 1

    # -- the flusher's side --------------------------------------------------------------------

    def _run(self) -> None:
        interval = self.config.flush_interval_s
        size = self.config.batch_size
        while True:
            with self._lock:
                deadline = time.monotonic() + interval
                while True:
                    queued = len(self._buffer)
                    if queued and (queued >= size or self._closing or self._flush_waiters or self._nudged
                                   or time.monotonic() >= deadline):
                        held = self._hold_for(time.monotonic())
                        if held <= 0:
                            break
                        self._wake.wait(held)  # every transport is backing off: wait for a probe
                        continue
                    if not queued and self._closing:
                        return
                    if not queued:
                        deadline = time.monotonic() + interval  # the clock starts at the first event
                    self._wake.wait(max(0.0, deadline - time.monotonic()))
                batch = self._buffer.take(size)
                self._in_flight += len(batch)
                if not len(self._buffer):
                    self._nudged = False
            try:
                self._deliver(batch)
            except Exception as exc:
                # Never let the flusher die holding a batch: count it, with why, and go on.
                self._settle(len(batch), drops=Counter({f"flusher_error:{type(exc).__name__}": len(batch)}))
                settle_items(batch, durable=False)

    def _deliver(self, batch: list[Item]) -> None:
        for transport, health in zip(self._transports, self._health):
            if not self._usable(transport, health, time.monotonic()):
                continue
            try:
                self._send(transport, batch)
            except Exception as exc:
                health.failed(time.monotonic(), exc)
                continue
            health.succeeded()
            self._settle(len(batch), delivered_to=transport.name)
            settle_items(batch, durable=True)
            return
        if self._may_hold(batch):
            self._requeue(batch)
        else:
            self._settle_dump(batch, "no_transport_available" if self._transports else "no_transport_configured")

    def _usable(self, transport: Transport, health: Health, now: float) -> bool:
        """Not backing off after a failure, and not still held by an abandoned send."""
        return health.ready(now) and transport.name not in self._hung

    def _send(self, transport: Transport, batch: list[Item]) -> None:
        """transport.send(batch), given send_timeout_s to return. A send that hangs (a database that
        accepts the connection and never answers) is abandoned: the batch goes down the chain, and
        the transport is skipped until that send returns (its late success only makes a duplicate,
        which event_id removes). The send runs on a daemon thread so a hang never blocks exit."""
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                transport.send(batch)
            except BaseException as exc:  # handed to the flusher, which counts it as a failure
                outcome["error"] = exc
            finally:
                with self._hung_lock:
                    done.set()
                    was_hung = transport.name in self._hung
                    self._hung.discard(transport.name)
                if was_hung:
                    with self._lock:
                        self._wake.notify_all()  # a flusher waiting for a usable transport may go on

        threading.Thread(target=run, name=f"logintel-send-{transport.name}", daemon=True).start()
        if not done.wait(self.config.send_timeout_s):
            with self._hung_lock:
                if not done.is_set():
                    self._hung.add(transport.name)
                    raise TimeoutError(f"{transport.name}: no answer within {self.config.send_timeout_s:g}s")
        if "error" in outcome:
            raise outcome["error"]

    def _may_hold(self, batch: list[Item]) -> bool:
        """Whether a batch no transport took may wait in memory for a recovery instead of the dump:
        not when nothing could ever take it, nor once its oldest event has waited retry_hold_s, nor
        while flush() or close() asks for everything to be settled now."""
        hold = self.config.retry_hold_s
        return (bool(self._transports) and hold > 0 and not self._closing and not self._flush_waiters
                and time.monotonic() - batch[0].queued_at < hold)

    def _hold_for(self, now: float) -> float:
        """Under the lock: seconds the flusher should wait before taking a batch, because every
        transport is backing off and the oldest event may still wait; 0 to go ahead."""
        if self._closing or self._flush_waiters or not self._transports or self.config.retry_hold_s <= 0:
            return 0.0
        if any(self._usable(t, health, now) for t, health in zip(self._transports, self._health)):
            return 0.0
        oldest = self._buffer.oldest_queued_at()
        spill_at = (now if oldest is None else oldest) + self.config.retry_hold_s
        # A transport whose abandoned send still hangs is due when that send returns (it wakes us).
        probe_at = min(now + 3600.0 if t.name in self._hung else health.retry_at
                       for t, health in zip(self._transports, self._health))
        return max(0.0, min(probe_at, spill_at) - now)

    def _requeue(self, batch: list[Item]) -> None:
        with self._lock:
            evicted = self._buffer.requeue(batch)
            self._in_flight -= len(batch) - len(evicted)  # evicted ones stay in flight until dumped
            self._wake.notify_all()
        if evicted:
            self._settle_dump(evicted, "buffer_full")

    def _settle_dump(self, batch: list[Item], reason: str) -> None:
        written, drops = self._dump.write_kept(batch)
        self._settle(len(batch), dumped=len(written), dump_reason=reason, drops=drops)
        settle_items(written, durable=True)
        if len(written) < len(batch):
            kept = set(map(id, written))
            settle_items([item for item in batch if id(item) not in kept], durable=False)

    def _settle(self, count: int, delivered_to: str | None = None, dumped: int = 0,
                dump_reason: str | None = None, drops: Counter | None = None) -> None:
        with self._lock:
            if delivered_to is not None:
                self._acct.delivered[delivered_to] += count
            if dumped:
                self._acct.dumped += dumped
                self._acct.dumped_by_reason[dump_reason or "unknown"] += dumped
            if drops:
                self._acct.dropped.update(drops)
            self._in_flight -= count
            self._wake.notify_all()
