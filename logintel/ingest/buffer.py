"""LogBuffer: a FIFO of serialized events bounded in count and bytes; overflow evicts the oldest batch."""
from __future__ import annotations

import time
from collections import deque
from datetime import datetime
from typing import Any, NamedTuple

from logintel.events import WideEvent


class Item(NamedTuple):
    """One serialized event: what transports need, without keeping the WideEvent alive.
    (A tuple: built on every emit(), and about half the cost of a frozen dataclass.)"""
    event_id: str
    timestamp: datetime
    level: str
    line: str
    size: int  # bytes of `line` plus its newline
    queued_at: float = 0.0  # time.monotonic() when it was emitted: how long it may still wait in memory
    receipt: Any = None     # a Receipt told when this event is durable or lost (the receiver's requests)

    @classmethod
    def of(cls, event: WideEvent, receipt: Any = None) -> Item:
        """Serialize `event` (TypeError/ValueError when its attributes are not JSON)."""
        line = event.to_json()
        size = len(line) + 1 if line.isascii() else len(line.encode("utf-8", "surrogatepass")) + 1
        return cls(event.event_id, event.timestamp, event.level, line, size, time.monotonic(), receipt)


class LogBuffer:
    """Not thread-safe by itself: the emitter guards it with its lock."""

    def __init__(self, max_events: int, max_bytes: int, evict_batch: int):
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.evict_batch = max(1, evict_batch)
        self._items: deque[Item] = deque()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> list[Item]:
        """Append; if a bound is now exceeded, remove and return the oldest batch (to be dumped).

        Evicting a whole batch rather than one event means the next overflows are cheap appends,
        so the caller pays for one dump write per batch, not per event.
        """
        self._items.append(item)
        self.bytes += item.size
        return self._evict_over_bounds()

    def requeue(self, items: list[Item]) -> list[Item]:
        """Put a batch that no transport took back at the head, oldest first, to be sent again;
        if that breaks a bound, the oldest batch is returned for the dump instead."""
        self._items.extendleft(reversed(items))
        self.bytes += sum(item.size for item in items)
        return self._evict_over_bounds()

    def oldest_queued_at(self) -> float | None:
        return self._items[0].queued_at if self._items else None

    def _evict_over_bounds(self) -> list[Item]:
        if len(self._items) <= self.max_events and self.bytes <= self.max_bytes:
            return []
        evicted = self.take(self.evict_batch)
        while self.bytes > self.max_bytes and self._items:  # one huge event can exceed a batch's worth
            evicted.extend(self.take(self.evict_batch))
        return evicted

    def take(self, count: int) -> list[Item]:
        taken = []
        items = self._items
        while items and len(taken) < count:
            item = items.popleft()
            self.bytes -= item.size
            taken.append(item)
        return taken
