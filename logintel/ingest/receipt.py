"""A receipt for events handed to the emitter together: it settles once each of them is durable
(delivered to a transport, or written whole to the local dump) or lost (dropped, refused)."""
from __future__ import annotations

import threading
from typing import Callable


class Receipt:
    """Thread-safe. `durable` and `lost` count events; `done` once they add up to `expected`."""

    __slots__ = ("expected", "durable", "lost", "_lock", "_event", "_callbacks")

    def __init__(self, expected: int):
        self.expected = expected
        self.durable = 0
        self.lost = 0
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._callbacks: list[Callable[[Receipt], None]] = []
        if expected <= 0:
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    @property
    def all_durable(self) -> bool:
        return self.done and self.durable == self.expected

    def settle(self, count: int, durable: bool) -> None:
        with self._lock:
            if durable:
                self.durable += count
            else:
                self.lost += count
            finished = self.durable + self.lost >= self.expected and not self._event.is_set()
            if finished:
                self._event.set()
                callbacks, self._callbacks = self._callbacks, []
        if finished:
            for callback in callbacks:
                callback(self)

    def add_done_callback(self, callback: Callable[[Receipt], None]) -> None:
        """Call `callback(receipt)` once it is done (at once, on this thread, if it already is);
        otherwise on the emitter's thread that settles the last event."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback(self)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


def settle_items(items, durable: bool) -> None:
    """Tell each receipt among `items` (buffer Items) how many of its events just settled."""
    counts: dict[int, list] = {}
    for item in items:
        receipt = item.receipt
        if receipt is not None:
            entry = counts.get(id(receipt))
            if entry is None:
                counts[id(receipt)] = [receipt, 1]
            else:
                entry[1] += 1
    for receipt, count in counts.values():
        receipt.settle(count, durable)
