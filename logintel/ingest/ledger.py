"""The emitter's ledger: every emitted event ends up delivered, dumped, dropped or dead-lettered.

Invariant (at any instant, since all counters move under the emitter's lock):
emitted == sum(delivered) + dumped + sum(dropped) + sum(dead_lettered) + pending.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Accounting:
    emitted: int = 0
    delivered: Counter = field(default_factory=Counter)      # transport name -> events
    dumped: int = 0
    # Why events went to the dump: buffer_full (emit() outran the transports), no_transport_available
    # (every transport down or backing off), no_transport_configured (a dump-only emitter),
    # close_timeout (close() gave up on a hung transport).
    dumped_by_reason: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)        # reason -> events
    dead_lettered: Counter = field(default_factory=Counter)  # cause -> events

    def settled(self) -> int:
        return (sum(self.delivered.values()) + self.dumped + sum(self.dropped.values())
                + sum(self.dead_lettered.values()))

    def snapshot(self, pending: int) -> dict:
        return {
            "emitted": self.emitted,
            "delivered": dict(self.delivered),
            "dumped": self.dumped,
            "dumped_by_reason": dict(self.dumped_by_reason),
            "dropped": dict(self.dropped),
            "dead_lettered": dict(self.dead_lettered),
            "pending": pending,
            "balanced": self.emitted == self.settled() + pending,
        }
