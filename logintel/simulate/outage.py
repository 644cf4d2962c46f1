"""A landing-zone outage, injected: the simulated services emit through the real emitter SDK while
their landing zone is down for a stretch of simulated time, so the day also exercises the fallback
to local dumps, the accounting, and replay.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from logintel.events import WideEvent
from logintel.ingest.buffer import Item
from logintel.ingest.emitter import Emitter, build_transports
from logintel.ingest.emitter_config import EmitterConfig
from logintel.ingest.transports.base import Transport
from logintel.store.landing import LandingUnavailable


class SwitchableTransport(Transport):
    """Passes batches to `inner` unless `down`, when it refuses them as the real outage would."""

    def __init__(self, inner: Transport):
        self.inner = inner
        self.name = inner.name
        self.down = False
        self.refused_batches = 0

    def send(self, items: Sequence[Item]) -> None:
        if self.down:
            self.refused_batches += 1
            raise LandingUnavailable(f"{self.name}: landing zone down (injected outage)")
        self.inner.send(items)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class OutageWindow:
    start: datetime
    end: datetime

    def covers(self, ts: datetime) -> bool:
        return self.start <= ts < self.end


def emit_with_outage(events: Iterable[WideEvent], config: EmitterConfig,
                     outage: OutageWindow | None = None, settle_timeout_s: float = 120.0) -> dict:
    """Emit `events` (in timestamp order) through an Emitter whose first transport is down while
    the events' own timestamps fall inside `outage`; returns the emitter's final stats().

    The emitter is flushed at each switch, so what was emitted before the landing zone went down
    (or came back) settles under the state it was emitted in, as it would in real time; and at
    each simulated hour, so a day emitted in seconds does not overflow a buffer sized for real
    time (what still overflows is dumped and counted as buffer_full).
    """
    transports = build_transports(config)
    if not transports:
        raise ValueError("emit_with_outage needs at least one transport in the config")
    switch = SwitchableTransport(transports[0])
    with Emitter(config, transports=[switch, *transports[1:]]) as emitter:
        hour = None
        for event in events:
            inside = outage is not None and outage.covers(event.timestamp)
            if event.timestamp.hour != hour:
                emitter.flush(settle_timeout_s)
                hour = event.timestamp.hour
            if inside != switch.down:
                emitter.flush(settle_timeout_s)
                switch.down = inside
                if not inside:
                    # A simulated day passes in seconds; give the emitter the real time its next
                    # probe of the recovered transport would wait, or the minutes after the outage
                    # would be dumped too, only because the probe was not due yet.
                    time.sleep(config.backoff_cap_s)
            emitter.emit(event)
        if not emitter.flush(settle_timeout_s):
            raise RuntimeError(f"the emitter did not settle within {settle_timeout_s:g}s: {emitter.stats()}")
    stats = emitter.stats()
    stats["outage_refused_batches"] = switch.refused_batches
    return stats
